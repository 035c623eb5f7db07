// /webhooks: the same operations as `smarthost webhooks`, over the API, plus
// each endpoint's deliveries, replaying one of them, and rotating its secret.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { listWebhookHealth, removeWebhook, replayDelivery, replayFailed, rotateSecret, webhookDeliveries } from '../../../webhooks/manage.ts';
import { createWebhook, WebhookInputError } from '../../../webhooks/webhooks.ts';
import { authenticateRequest } from '../auth.ts';
import { validation } from '../errors.ts';
import { deliveriesQuery, describeIssue, parseInput } from '../schemas.ts';
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
    data: (await listWebhookHealth(store)).map((w) => ({
      id: w.id, url: w.url, events: w.events, created_at: iso(w.createdAt), pending: w.pending, delivered: w.delivered,
      failed: w.failed, last_error: w.lastError, last_attempt_at: iso(w.lastAttemptAt),
      // Failing: FAILING_AFTER or more attempts in a row failed (the dashboard highlights it).
      failing: w.failing, consecutive_failures: w.consecutiveFailures, last_success_at: iso(w.lastSuccessAt),
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
    return { replayed: await replayFailed(store, req.params.id, body.data.since ? Date.parse(body.data.since) : undefined) };
  });

  app.delete<{ Params: { id: string } }>('/webhooks/:id', async (req, reply) => {
    await removeWebhook(store, req.params.id);
    return reply.code(204).send();
  });

  app.get<{ Params: { id: string } }>('/webhooks/:id/deliveries', async (req) => {
    const q = parseInput(deliveriesQuery, req.query);
    const page = await webhookDeliveries(store, req.params.id, { limit: q.limit + 1, before: q.cursor });
    const data = page.slice(0, q.limit);
    return {
      object: 'list', has_more: page.length > q.limit, next_cursor: page.length > q.limit ? data[data.length - 1]!.id : null,
      data: data.map((d) => ({
        id: d.id, event_id: d.eventId, type: `email.${d.eventType}`, email_id: d.messageId, recipient: d.recipient, status: d.status,
        attempts: d.attempts, response_status: d.lastStatus ?? null, error: d.lastError, last_attempt_at: iso(d.lastAttemptAt),
        next_attempt_at: d.status === 'pending' ? iso(d.nextAttemptAt) : null, created_at: iso(d.createdAt),
      })),
    };
  });

  app.post<{ Params: { id: string; deliveryId: string } }>('/webhooks/:id/deliveries/:deliveryId/replay', async (req, reply) => {
    const deliveryId = Number(req.params.deliveryId);
    if (!Number.isSafeInteger(deliveryId) || deliveryId < 1) throw validation('deliveryId: a delivery id is a whole number');
    await replayDelivery(store, req.params.id, deliveryId);
    return reply.code(202).send({ id: deliveryId, status: 'pending' });
  });

  app.post<{ Params: { id: string } }>('/webhooks/:id/rotate-secret', async (req) => {
    // Shown once, like the secret at creation; deliveries claimed from now on are signed with it.
    return { id: req.params.id, secret: await rotateSecret(store, req.params.id) };
  });
}
