// The HTTPS ingress: a Fastify server for the sending API (a second entry into
// the same accept step as SMTP), the query API, health and metrics.
import Fastify, { LogController, type FastifyError, type FastifyInstance, type RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Accept } from '../../accept/accept.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import type { Store } from '../../store/store.ts';
import { AdminError } from '../../admin/admin-error.ts';
import { ApiError, fromAdminError, postmarkBody, resendBody } from './errors.ts';
import { accountRoutes } from './routes/account-routes.ts';
import { queueRoutes } from './routes/queue-routes.ts';
import { routingRoutes } from './routes/routing-routes.ts';
import { healthRoutes } from './routes/health-routes.ts';
import { openApiRoutes } from './routes/openapi-routes.ts';
import { providerWebhookRoutes } from './routes/provider-webhook-routes.ts';
import { queryRoutes } from './routes/query-routes.ts';
import { sendRoutes } from './routes/send-routes.ts';
import { webhookRoutes } from './routes/webhook-routes.ts';
import { domainRoutes } from './routes/domain-routes.ts';
import type { DomainsConfig } from '../../domains/manage.ts';
import type { createAddressGuard } from '../../webhooks/address-guard.ts';
import type { ProviderWebhooks } from '../../provider-webhooks/provider-webhooks.ts';
import { dashboardRoutes, type DashboardOptions } from '../../dashboard/dashboard.ts';
import type { Routing } from '../../admin/route-health.ts';

export interface HttpDeps {
  store: Store;
  accept: Accept;
  logger: Logger;
  metrics: Metrics;
  maxMessageSize: number;
  /** Checks webhook destinations against SMARTHOST_WEBHOOK_ALLOWED_NETWORKS. */
  webhookGuard: ReturnType<typeof createAddressGuard>;
  /** /providers/<name>/webhook endpoints (bounces, complaints, deliveries from providers). */
  providerWebhooks: ProviderWebhooks;
  /** What /domains needs: the route (SPF), the secret (sealing new keys) and the resolver (verify). */
  domains: DomainsConfig;
  /** What keeps this node from being ready (empty: ready). */
  readiness: () => Promise<string[]>;
  /** How mail leaves now, in plain words (the route SMARTHOST_ROUTE=auto picked and why). */
  routeStatus?: () => string;
  /** The web dashboard at / (under /ui). */
  dashboard?: DashboardOptions;
  /** The routing table, for the dashboard's route health and GET /routes. */
  routing?: Routing;
}

export interface HttpIngressOptions {
  listen: string;
  port: number;
  tls?: { key: string; cert: string };
}

export interface HttpIngress {
  app: FastifyInstance;
  /** Every route as registered (its options, config included), so tests can walk them all. */
  routes: readonly RouteOptions[];
  port: number;
  listen(): Promise<void>;
  close(): Promise<void>;
}

const isPostmarkRoute = (url: string) => /^\/email(\/batch)?(\?|$)/.test(url);

export function createHttpIngress(opts: HttpIngressOptions, deps: HttpDeps): HttpIngress {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }),
    // One log line per request is noise next to the accept/delivery lines; errors are logged by the handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Base64 grows a message by 4/3; leave room for the JSON around it.
    bodyLimit: Math.ceil(deps.maxMessageSize * 1.4) + 1024 * 1024,
    ...(opts.tls && { https: { key: opts.tls.key, cert: opts.tls.cert } }),
  }) as unknown as FastifyInstance;
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => void routes.push(route));

  app.setErrorHandler((err: FastifyError, req, reply) => {
    let e: ApiError;
    if (err instanceof ApiError) e = err;
    else if (err instanceof AdminError) e = fromAdminError(err);
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') e = new ApiError(413, 'validation_error', 'request body too large');
    else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') e = new ApiError(415, 'validation_error', 'send Content-Type: application/json');
    else if (err.statusCode === 400) e = new ApiError(400, 'validation_error', `invalid JSON body: ${err.message}`);
    else {
      req.log.error({ err, url: req.url }, 'unexpected error in the HTTP API');
      e = new ApiError(500, 'internal_server_error', 'Internal server error; the request may be retried');
    }
    deps.metrics.httpRequests.inc({ route: req.routeOptions.url ?? 'unknown', status: String(e.statusCode) });
    return reply.code(e.statusCode).headers(e.headers).send(isPostmarkRoute(req.url) ? postmarkBody(e) : resendBody(e));
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(resendBody(new ApiError(404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`))));
  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode < 400) deps.metrics.httpRequests.inc({ route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
  });

  healthRoutes(app, deps);
  openApiRoutes(app);
  sendRoutes(app, deps);
  // The query API authenticates every route in its own encapsulated context.
  app.register(async (scope) => queryRoutes(scope, deps));
  app.register(async (scope) => webhookRoutes(scope, deps));
  // Raw bodies and the providers' own authentication, in a context of their own.
  app.register(async (scope) => providerWebhookRoutes(scope, deps));
  app.register(async (scope) => domainRoutes(scope, deps));
  app.register(async (scope) => accountRoutes(scope, deps));
  app.register(async (scope) => queueRoutes(scope, deps));
  const { routing } = deps;
  if (routing) app.register(async (scope) => routingRoutes(scope, { ...deps, routing }));
  if (deps.dashboard) dashboardRoutes(app, { ...deps, dashboard: deps.dashboard });

  const ingress: HttpIngress = {
    app,
    routes,
    port: 0,
    async listen() {
      await app.listen({ port: opts.port, host: opts.listen });
      ingress.port = (app.server.address() as { port: number }).port;
      deps.logger.info({ listener: 'http', address: opts.listen, port: ingress.port, tls: !!opts.tls }, 'http listening');
    },
    async close() {
      await app.close();
    },
  };
  return ingress;
}
