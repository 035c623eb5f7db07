// GET /routes and POST /routes/check, for full_access keys: the route health the
// dashboard's overview shows (admin/route-health.ts, one service for both) and
// the check `smarthost routes` and the dashboard's "Check now" run.
import type { FastifyInstance } from 'fastify';
import { checkAllRoutes, routingHealth, type Routing } from '../../../admin/route-health.ts';
import { authenticateRequest } from '../auth.ts';
import type { HttpDeps } from '../server.ts';

const iso = (ms: number) => new Date(ms).toISOString();

export function routingRoutes(app: FastifyInstance, deps: HttpDeps & { routing: Routing }): void {
  const { store, routing } = deps;
  app.addHook('preHandler', async (req) => {
    await authenticateRequest(req, store);
  });

  app.get('/routes', async () => {
    const h = await routingHealth(store, routing);
    return {
      object: 'routing',
      default: h.default,
      rules: h.rules.map((r) => ({ recipient_domain: r.recipientDomain ?? null, sender_domain: r.senderDomain ?? null, routes: r.routes })),
      auto_probes: h.autoCandidates ?? null,
      auto: h.auto ?? null,
      routes: h.routes.map((r) => ({
        name: r.name,
        description: r.describe,
        last_delivered: r.lastDelivered ? { at: iso(r.lastDelivered.at), relay: r.lastDelivered.relay, reply: r.lastDelivered.reply } : null,
        last_failure: r.lastFailure
          ? { at: iso(r.lastFailure.at), type: r.lastFailure.type, reply: r.lastFailure.reply, category: r.lastFailure.category, meaning: r.lastFailure.meaning, remedy: r.lastFailure.remedy }
          : null,
      })),
    };
  });

  // Opens a connection per route (each bounded by SMARTHOST_ROUTE_PROBE_TIMEOUT); sends no mail.
  app.post('/routes/check', async () => ({
    object: 'list',
    data: (await checkAllRoutes(routing)).map(({ name, check }) => ({ name, ok: check.ok, detail: check.detail })),
  }));
}
