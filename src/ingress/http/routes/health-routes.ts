// Liveness, readiness and Prometheus metrics: unauthenticated, for load balancers and scrapers.
import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../server.ts';

export function healthRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const problems = await deps.readiness();
    // The route is information, not a readiness condition: mail is still accepted and queued while no route works.
    return reply.code(problems.length ? 503 : 200).send({
      status: problems.length ? 'unavailable' : 'ready', problems, ...(deps.routeStatus && { route: deps.routeStatus() }),
    });
  });

  app.get('/metrics', async (_req, reply) =>
    reply.header('content-type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));
}
