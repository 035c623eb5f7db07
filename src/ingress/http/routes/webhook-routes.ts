// /webhooks: the same operations as `smarthost webhooks`, over the API.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createWebhook, WebhookInputError } from '../../../webhooks/webhooks.ts';
import { authenticateRequest } from '../auth.ts';
import { notFound, validation } from '../errors.ts';
import { describeIssue } from '../schemas.ts';
import type { HttpDeps } from '../server.ts';

export const webhookInput = z.strictObject({ url: z.string(), events: z.array(z.string()).optional() });
const replayInput = z.strictObject({ since: z.iso.datetime({ offset: true }).optional() });

const iso = (ms: number | null) => (ms ? new Date(ms).toISOString() : null);

export function webhookRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { store } = deps;
  app.addHook('preHandler', async (req) => {
    await authenticateRequest(req, store);
  });

  app.get('/webhooks', async () => ({
    object: 'list',
    data: (await store.listWebhooks()).map((w) => ({
      id: w.id, url: w.url, events: w.events, created_at: iso(w.createdAt), pending: w.pending, delivered: w.delivered,
      failed: w.failed, last_error: w.lastError, last_attempt_at: iso(w.lastAttemptAt),
    })),
  }));

  app.post('/webhooks', async (req, reply) => {
    const body = webhookInput.safeParse(req.body);
    if (!body.success) throw validation(describeIssue(body.error));
    try {
      const w = await createWebhook(store, deps.webhookGuard, body.data.url, body.data.events);
      // The secret is shown here once, as `smarthost webhooks add` does.
      return reply.code(201).send({ id: w.id, url: w.url, events: w.events, secret: w.secret, created_at: iso(w.createdAt) });
    } catch (err) {
      if (err instanceof WebhookInputError) throw validation(err.message);
      throw err;
    }
  });

  app.post<{ Params: { id: string } }>('/webhooks/:id/replay', async (req) => {
    const body = replayInput.safeParse(req.body ?? {});
    if (!body.success) throw validation(describeIssue(body.error));
    if (!(await store.listWebhooks()).some((w) => w.id === req.params.id)) throw notFound('webhook');
    return { replayed: await store.replayWebhook(req.params.id, Date.now(), body.data.since ? Date.parse(body.data.since) : undefined) };
  });

  app.delete<{ Params: { id: string } }>('/webhooks/:id', async (req, reply) => {
    if (!(await store.removeWebhook(req.params.id))) throw notFound('webhook');
    return reply.code(204).send();
  });
}
