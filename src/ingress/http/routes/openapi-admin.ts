// The admin API's part of /openapi.json (routes/account-routes.ts, queue-routes.ts, routing-routes.ts, webhook-routes.ts),
// generated from the same zod schemas that validate the requests.
import { z } from 'zod';
import { accountChange, apiKeyInput, credentialInput, deliveriesQuery, statsQuery, suppressionsCsvQuery } from '../schemas.ts';

const body = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema: z.toJSONSchema(schema, { io: 'input' }) } } });
const query = (schema: z.ZodObject) =>
  Object.entries((z.toJSONSchema(schema, { io: 'input' }) as { properties: Record<string, object> }).properties).map(([name, s]) => ({ name, in: 'query', schema: s }));
const path = (...names: string[]) => names.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
const full = [{ bearer: [] }];
// Every admin route needs a full_access key; a sending_access key gets this.
const errors = {
  401: { description: 'missing_api_key or invalid_api_key' },
  403: { description: 'restricted_api_key: a sending_access key may only send' },
  404: { description: 'not_found' },
  422: { description: 'validation_error' },
};
const answers = (ok: Record<string, { description: string }>, also: Record<string, { description: string }> = {}) => ({ ...ok, ...errors, ...also });
const conflict = { 409: { description: 'conflict: the state forbids it (already revoked, nothing pending, exists)' } };

type Paths = Record<string, Record<string, object>>;

export function adminPaths(): Paths {
  return {
    '/emails/{id}': {
      delete: { summary: 'Cancel the pending (queued, deferred) recipients; the email and its history stay', security: full, parameters: path('id'), responses: answers({ 200: { description: '{object, id, cancelled: n}' } }, conflict) },
    },
    '/emails/{id}/retry': {
      post: { summary: 'Make every pending recipient due now', security: full, parameters: path('id'), responses: answers({ 200: { description: '{object, id, retried: n}' } }, conflict) },
    },
    '/suppressions.csv': {
      get: { summary: 'The suppression list as CSV (RFC 4180), streamed', security: full, parameters: query(suppressionsCsvQuery), responses: answers({ 200: { description: 'text/csv' } }) },
    },
    '/api-keys': {
      get: { summary: 'API keys: prefix, permission, allowed senders, limits, usage, last used, state; never the secret', security: full, responses: answers({ 200: { description: 'a list of keys' } }) },
      post: { summary: 'Create a key; the answer carries its secret (token) once', security: full, requestBody: body(apiKeyInput), responses: answers({ 201: { description: 'the key with token' } }) },
    },
    '/api-keys/{id}': {
      get: { summary: 'One key', security: full, parameters: path('id'), responses: answers({ 200: { description: 'the key' } }) },
      patch: { summary: 'Change allowed senders, limits (null removes one), sandbox, or disable/enable', security: full, parameters: path('id'), requestBody: body(accountChange), responses: answers({ 200: { description: 'the key' } }, conflict) },
      delete: { summary: 'Revoke at once: the next request with it gets 401', security: full, parameters: path('id'), responses: answers({ 204: { description: 'revoked' } }, conflict) },
    },
    '/credentials': {
      get: { summary: 'SMTP credentials: allowed senders, limits, usage, last used, state; never the password', security: full, responses: answers({ 200: { description: 'a list of credentials' } }) },
      post: { summary: 'Create a credential; a generated password is returned once', security: full, requestBody: body(credentialInput), responses: answers({ 201: { description: 'the credential (with password when generated)' } }, conflict) },
    },
    '/credentials/{username}': {
      get: { summary: 'One credential', security: full, parameters: path('username'), responses: answers({ 200: { description: 'the credential' } }) },
      patch: { summary: 'Change allowed senders, limits (null removes one), sandbox, or disable/enable', security: full, parameters: path('username'), requestBody: body(accountChange), responses: answers({ 200: { description: 'the credential' } }) },
      delete: { summary: 'Remove the credential', security: full, parameters: path('username'), responses: answers({ 204: { description: 'removed' } }) },
    },
    '/webhooks/{id}/deliveries': {
      get: { summary: 'Events sent to the endpoint, newest first: status, attempts, last response code and error', security: full, parameters: [...path('id'), ...query(deliveriesQuery)], responses: answers({ 200: { description: 'a page of deliveries' } }) },
    },
    '/webhooks/{id}/deliveries/{deliveryId}/replay': {
      post: { summary: 'Send one delivery again now', security: full, parameters: path('id', 'deliveryId'), responses: answers({ 202: { description: '{id, status: pending}' } }) },
    },
    '/webhooks/{id}/rotate-secret': {
      post: { summary: 'A new signing secret, returned once; deliveries from now on are signed with it', security: full, parameters: path('id'), responses: answers({ 200: { description: '{id, secret}' } }) },
    },
    '/routes': {
      get: { summary: 'The routing table (default list, rules, what auto probes), auto\'s choice, and per route its last delivery and last failure explained', security: full, responses: answers({ 200: { description: 'the route health' } }) },
    },
    '/routes/check': {
      post: { summary: 'Run each route\'s check (a connection, no mail sent; as `smarthost routes`)', security: full, responses: answers({ 200: { description: 'a list of {name, ok, detail}' } }) },
    },
    '/stats': {
      get: { summary: 'Accepted, delivered, deferred and bounced per bucket, queue depth, latency p50/p95, top failure reasons explained', security: full, parameters: query(statsQuery), responses: answers({ 200: { description: 'the overview' } }) },
    },
  };
}

/** Adds the admin operations to the document's paths, next to any operations a path already has. */
export function withAdminPaths(paths: Paths): Paths {
  const merged: Paths = { ...paths };
  for (const [p, ops] of Object.entries(adminPaths())) merged[p] = { ...merged[p], ...ops };
  return merged;
}
