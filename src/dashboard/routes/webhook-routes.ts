// Webhooks: endpoints with their health and recent deliveries, add (the
// secret shown once), replay one delivery, rotate the signing secret, delete —
// the same functions as /webhooks and `smarthost webhooks`.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiError } from '../../ingress/http/errors.ts';
import type { AdminSession } from '../../store/store.ts';
import { listWebhookHealth, removeWebhook, replayDelivery, rotateSecret, webhookDeliveries } from '../../webhooks/manage.ts';
import { createWebhook, WebhookInputError } from '../../webhooks/webhooks.ts';
import type { DashboardDeps } from '../dashboard.ts';
import { page } from '../layout.ts';
import { noticeOf, refusedAs, secretOnce, sentence } from '../views/screen-parts.ts';
import { webhooksPage, type WebhooksPage } from '../views/webhooks.ts';

/** Recent deliveries shown per endpoint. */
const RECENT = 10;
const NO_WEBHOOK = 'There is no webhook endpoint with this id. It may have been deleted; see them all under Webhooks.';
const NO_DELIVERY = 'This endpoint has no such delivery. See its recent deliveries under Webhooks.';

const NOTICES: Record<string, string> = {
  replayed: 'The delivery is queued again and is sent within moments.',
  deleted: 'The endpoint was deleted: nothing more is sent to it.',
};

const listOf = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);

export function webhookRoutes(app: FastifyInstance, { store, webhookGuard }: DashboardDeps): void {
  async function listPage(reply: FastifyReply, session: AdminSession | undefined, extra: Omit<WebhooksPage, 'endpoints' | 'session'>, status = 200) {
    const endpoints = await Promise.all((await listWebhookHealth(store)).map(async (health) =>
      ({ health, deliveries: await webhookDeliveries(store, health.id, { limit: RECENT }) })));
    // A page holding a secret must not be kept by any cache.
    return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store')
      .send(page({ title: 'Webhooks', section: 'webhooks', session, body: webhooksPage({ endpoints, session, ...extra }) }));
  }

  app.get<{ Querystring: { notice?: string } }>('/webhooks', { config: { access: 'page' } }, async (req, reply) =>
    listPage(reply, req.adminSession, { notice: noticeOf(NOTICES, req.query.notice) }));

  app.post<{ Body: { url?: string; events?: string | string[] } }>('/webhooks', { config: { access: 'data' } }, async (req, reply) => {
    const url = String(req.body?.url ?? '').trim().slice(0, 2000);
    const events = listOf(req.body?.events).slice(0, 20);
    try {
      const w = await createWebhook(store, webhookGuard, url, events);
      const secret = secretOnce('Endpoint added', `Verify the signature of each delivery to ${w.url} with this signing secret.`, w.secret, '/ui/webhooks');
      return await listPage(reply, req.adminSession, { secret });
    } catch (err) {
      if (!(err instanceof WebhookInputError)) throw err;
      return listPage(reply, req.adminSession, { form: { url, events, error: `${sentence(err.message)} Correct the URL and add it again.` } }, 422);
    }
  });

  app.post<{ Params: { id: string } }>('/webhooks/:id/rotate-secret', { config: { access: 'data' } }, async (req, reply) => {
    const secret = await rotateSecret(store, req.params.id).catch(refusedAs(NO_WEBHOOK));
    const shown = secretOnce('Signing secret rotated', 'Deliveries from now on are signed with this secret: give it to the receiver.', secret, '/ui/webhooks');
    return listPage(reply, req.adminSession, { secret: shown });
  });

  app.post<{ Params: { id: string } }>('/webhooks/:id/delete', { config: { access: 'data' } }, async (req, reply) => {
    await removeWebhook(store, req.params.id).catch(refusedAs(NO_WEBHOOK));
    return reply.redirect('/ui/webhooks?notice=deleted', 303);
  });

  app.post<{ Params: { id: string; deliveryId: string } }>('/webhooks/:id/deliveries/:deliveryId/replay', { config: { access: 'data' } }, async (req, reply) => {
    const deliveryId = Number(req.params.deliveryId);
    if (!Number.isSafeInteger(deliveryId) || deliveryId < 1) throw new ApiError(404, 'not_found', NO_DELIVERY);
    await replayDelivery(store, req.params.id, deliveryId).catch((err: unknown) =>
      // Which of the two is unknown decides the page: the endpoint, or only the delivery.
      refusedAs(/^no webhook /.test((err as Error).message) ? NO_WEBHOOK : NO_DELIVERY)(err));
    return reply.redirect('/ui/webhooks?notice=replayed', 303);
  });
}
