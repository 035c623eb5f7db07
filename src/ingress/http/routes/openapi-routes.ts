// /openapi.json generated from the zod schemas that validate requests, and a
// browsable /docs page built from it with no outside assets.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { domainInput, verifyInput } from './domain-routes.ts';
import { webhookInput } from './webhook-routes.ts';
import { eventsQuery, listQuery, postmarkBatch, postmarkEmail, resendBatch, resendEmail, suppressionInput, suppressionsQuery } from '../schemas.ts';
import { withAdminPaths } from './openapi-admin.ts';

const body = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema: z.toJSONSchema(schema, { io: 'input' }) } } });
const query = (schema: z.ZodObject) =>
  Object.entries((z.toJSONSchema(schema, { io: 'input' }) as { properties: Record<string, object> }).properties).map(([name, s]) => ({ name, in: 'query', schema: s }));
const ok = (description: string) => ({ 200: { description } });
const bearer = [{ bearer: [] }];
const name = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };

export function openApiDocument(): object {
  return {
    openapi: '3.1.0',
    info: { title: 'smarthost', version: '1', description: 'Resend- and Postmark-compatible sending API of a self-hosted relay. Every error is JSON.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API key; full_access for everything, sending_access for the send endpoints only' }, postmark: { type: 'apiKey', in: 'header', name: 'X-Postmark-Server-Token' } } },
    paths: withAdminPaths({
      '/emails': {
        post: { summary: 'Send an email (Resend shape); answers {id} after the durable commit', security: bearer, requestBody: body(resendEmail), responses: ok('queued') },
        get: { summary: 'List emails, newest first, with cursor pagination', security: bearer, parameters: query(listQuery), responses: ok('a page of emails') },
      },
      '/emails/batch': { post: { summary: 'Send up to 100 emails (Resend shape)', security: bearer, requestBody: body(resendBatch), responses: ok('{data: [{id}]}') } },
      '/emails/{id}': { get: { summary: 'One email: envelope, per-recipient status and events', security: bearer, parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: ok('the email') } },
      '/email': { post: { summary: 'Send an email (Postmark shape)', security: [{ postmark: [] }], requestBody: body(postmarkEmail), responses: ok('Postmark response') } },
      '/email/batch': { post: { summary: 'Send up to 500 emails (Postmark shape)', security: [{ postmark: [] }], requestBody: body(postmarkBatch), responses: ok('Postmark responses') } },
      '/events': { get: { summary: 'Delivery events, oldest first', security: bearer, parameters: query(eventsQuery), responses: ok('a page of events') } },
      '/suppressions': {
        get: { summary: 'Suppressed addresses, with search', security: bearer, parameters: query(suppressionsQuery), responses: ok('a page of suppressions') },
        post: { summary: 'Suppress an address', security: bearer, requestBody: body(suppressionInput), responses: { 201: { description: 'suppressed' } } },
      },
      '/suppressions/{email}': { delete: { summary: 'Remove a suppression', security: bearer, parameters: [{ name: 'email', in: 'path', required: true, schema: { type: 'string' } }], responses: { 204: { description: 'removed' } } } },
      '/webhooks': {
        get: { summary: 'Webhook endpoints with pending, delivered and failed counts and the last error', security: bearer, responses: ok('endpoints') },
        post: { summary: 'Add an endpoint; the answer carries its whsec_ signing secret once', security: bearer, requestBody: body(webhookInput), responses: { 201: { description: 'created' } } },
      },
      '/webhooks/{id}': { delete: { summary: 'Remove an endpoint', security: bearer, parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 204: { description: 'removed' } } } },
      '/webhooks/{id}/replay': { post: { summary: 'Send failed events again (with since: also those delivered since then)', security: bearer, parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: ok('{replayed: n}') } },
      '/providers/{name}/webhook': { post: {
        summary: 'Bounces, complaints and deliveries from a provider (resend, postmark, sendgrid, mailgun, ses), verified by its own signature scheme',
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string', enum: ['resend', 'postmark', 'sendgrid', 'mailgun', 'ses'] } }],
        responses: { 200: { description: '{status: applied | duplicate | ignored | confirmed, events}' }, 400: { description: 'unreadable body' }, 401: { description: 'bad signature or credentials' }, 404: { description: 'not configured' } },
      } },
      '/domains': {
        get: { summary: 'Sending domains: selectors, verification state, last check, and mail sent unsigned (also From: domains without a key)', security: bearer, responses: ok('domains') },
        post: { summary: 'Add a domain: a DKIM key (RSA 2048, optionally Ed25519) and the DNS records to publish; private keys are never returned', security: bearer, requestBody: body(domainInput), responses: { 201: { description: 'created, with its records' } } },
      },
      '/domains/{name}': {
        get: { summary: 'A domain: its selectors, the records to publish and the last verification', security: bearer, parameters: [name, { name: 'mta_sts', in: 'query', schema: { type: 'string', enum: ['true', 'false'] } }], responses: ok('the domain') },
        delete: { summary: 'Remove the domain and its keys: its mail goes out unsigned from then on', security: bearer, parameters: [name], responses: { 204: { description: 'removed' } } },
      },
      '/domains/{name}/verify': { post: { summary: 'Look the published records up and compare them, record by record, with a hint per mismatch; stored', security: bearer, parameters: [name], requestBody: body(verifyInput), responses: ok('the verdict') } },
      '/domains/{name}/rotate': { post: { summary: 'New keys under a new selector sign from now on; the old ones stay published until retired', security: bearer, parameters: [name], responses: ok('the new selectors and their records') } },
      '/domains/{name}/selectors/{selector}': { delete: { summary: 'Retire a rotated-out selector: its key is deleted', security: bearer, parameters: [name, { name: 'selector', in: 'path', required: true, schema: { type: 'string' } }], responses: { 204: { description: 'retired' } } } },
      '/healthz': { get: { summary: 'Process is up', responses: ok('ok') } },
      '/readyz': { get: { summary: 'Store can take mail and listeners up', responses: { 200: { description: 'ready' }, 503: { description: 'not ready' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: ok('text exposition format') } },
    }),
  };
}

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function openApiRoutes(app: FastifyInstance): void {
  const doc = openApiDocument() as { paths: Record<string, Record<string, { summary: string; requestBody?: unknown; parameters?: unknown }>> };
  app.get('/openapi.json', async () => doc);
  app.get('/docs', async (_req, reply) => {
    const sections = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => `<section><h2><code>${method.toUpperCase()} ${escape(path)}</code></h2><p>${escape(op.summary)}</p>` +
        (op.requestBody ? `<details><summary>request body</summary><pre>${escape(JSON.stringify(op.requestBody, null, 2))}</pre></details>` : '') +
        (op.parameters ? `<details><summary>parameters</summary><pre>${escape(JSON.stringify(op.parameters, null, 2))}</pre></details>` : '') + '</section>'));
    return reply.type('text/html; charset=utf-8').send(
      `<!doctype html><html><head><meta charset="utf-8"><title>smarthost API</title><style>body{font:15px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}code{font-size:1rem}</style></head>` +
        `<body><h1>smarthost API</h1><p>Machine-readable: <a href="/openapi.json">/openapi.json</a></p>${sections.join('')}</body></html>`,
    );
  });
}
