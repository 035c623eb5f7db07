// Acting on the queue and lists over the API, for full_access keys:
// POST /emails/{id}/retry, DELETE /emails/{id} (cancel what is still queued),
// GET /suppressions.csv, and GET /stats for the overview.
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { cancelPending, retryNow } from '../../../admin/queue-actions.ts';
import { overview } from '../../../admin/stats.ts';
import { suppressionsCsv } from '../../../admin/suppressions-csv.ts';
import { authenticateRequest } from '../auth.ts';
import { parseInput, statsQuery, suppressionsCsvQuery } from '../schemas.ts';
import type { HttpDeps } from '../server.ts';

type ById = { Params: { id: string } };
const iso = (ms: number) => new Date(ms).toISOString();

export function queueRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { store } = deps;
  app.addHook('preHandler', async (req) => {
    await authenticateRequest(req, store);
  });

  app.post<ById>('/emails/:id/retry', async (req) => ({ object: 'email', id: req.params.id, retried: await retryNow(store, req.params.id) }));

  app.delete<ById>('/emails/:id', async (req) => ({ object: 'email', id: req.params.id, cancelled: await cancelPending(store, req.params.id) }));

  app.get('/suppressions.csv', async (req, reply) => {
    const q = parseInput(suppressionsCsvQuery, req.query);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="suppressions.csv"')
      .send(Readable.from(suppressionsCsv(store, q.search)));
  });

  app.get('/stats', async (req) => {
    const q = parseInput(statsQuery, req.query);
    const o = await overview(store, q.window);
    return {
      object: 'stats', window: o.window, from: iso(o.from), to: iso(o.to), bucket_seconds: o.bucketMs / 1000,
      buckets: o.buckets.map((b) => ({ start: iso(b.start), accepted: b.accepted, delivered: b.delivered, deferred: b.deferred, bounced: b.bounced })),
      queue: o.queue,
      latency: { p50_ms: o.latency.p50Ms, p95_ms: o.latency.p95Ms, sample: o.latency.sample },
      top_reasons: o.reasons,
    };
  });
}
