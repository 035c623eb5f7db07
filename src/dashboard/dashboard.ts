// The web dashboard: server-rendered pages under /ui on the API's HTTP server,
// reading the same store through the same functions as the API and the CLI.
// `/` redirects to it; the API's own paths (/emails, /events, …) are untouched.
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Accept } from '../accept/accept.ts';
import type { Routing } from '../admin/route-health.ts';
import type { DomainsConfig } from '../domains/manage.ts';
import type { Store } from '../store/store.ts';
import type { AddressGuard } from '../webhooks/webhooks.ts';
import { ApiError } from '../ingress/http/errors.ts';
import { accessCheck } from './access.ts';
import { assetRoutes } from './assets.ts';
import { refuse } from './refuse.ts';
import { liveRoutes } from './live.ts';
import { connectRoutes } from './routes/connect-routes.ts';
import { domainRoutes } from './routes/domain-routes.ts';
import { keyRoutes } from './routes/key-routes.ts';
import { loginRoutes } from './routes/login-routes.ts';
import { messageRoutes } from './routes/message-routes.ts';
import { overviewRoutes } from './routes/overview-routes.ts';
import { suppressionRoutes } from './routes/suppression-routes.ts';
import { webhookRoutes } from './routes/webhook-routes.ts';
import type { SessionTimes } from './sessions.ts';

export interface DashboardOptions {
  sessions: SessionTimes;
  /** Failed logins per client address within the window before the login is refused (the SMTP AUTH settings). */
  loginFailures: { limit: number; windowMs: number };
  /** Served over TLS: the session cookie gets Secure. */
  secure: boolean;
  /** What "Connect an app" tells applications. */
  connect: { hostname: string; ports: { submission: number; smtps: number; alt: number; http: number }; httpTls: boolean };
}

export interface DashboardDeps {
  store: Store;
  accept: Accept;
  logger: Logger;
  dashboard: DashboardOptions;
  /** What the Webhooks and Domains screens need, the same as /webhooks and /domains. */
  webhookGuard: AddressGuard;
  domains: DomainsConfig;
  /** The routing table and auto's status, for the overview's route health; absent, the panel is not shown. */
  routing?: Routing;
}

// Defence in depth behind the escaping in html.ts: no inline script or style runs, nothing loads from elsewhere.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
};

export function dashboardRoutes(app: FastifyInstance, deps: DashboardDeps): void {
  app.get('/', { config: { access: 'public' } }, (_req, reply) => reply.redirect('/ui/', 302));
  app.register(async (ui) => {
    await ui.register(fastifyCookie);
    await ui.register(fastifyFormbody, { bodyLimit: 1024 * 1024 });
    ui.addHook('onRequest', async (_req, reply) => {
      reply.headers(SECURITY_HEADERS);
    });
    ui.addHook('preHandler', accessCheck(deps.store, deps.dashboard.sessions, refuse));
    ui.setErrorHandler((err: FastifyError, req, reply) => {
      if (err instanceof ApiError) return refuse(reply, err.statusCode, err.message);
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return refuse(reply, 413, 'What you sent is too large. Send less and try again.');
      if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
        return refuse(reply, err.statusCode, 'The request could not be understood. Reload the page and try again.');
      req.log.error({ err, url: req.url }, 'unexpected error in the dashboard');
      return refuse(reply, 500, "Something went wrong on the server; it was logged. Try again, and if it keeps happening, look at smarthost's log.");
    });
    ui.setNotFoundHandler((_req, reply) => refuse(reply, 404, 'There is no such page in the dashboard. Use the menu to find what you are looking for.'));

    await ui.register(assetRoutes);
    loginRoutes(ui, deps);
    overviewRoutes(ui, deps);
    messageRoutes(ui, deps);
    suppressionRoutes(ui, deps);
    keyRoutes(ui, deps);
    webhookRoutes(ui, deps);
    domainRoutes(ui, deps);
    connectRoutes(ui, deps);
    liveRoutes(ui, deps);
  }, { prefix: '/ui' });
}
