// Wires configuration → store → TLS → SMTP ingress → scheduler. No logic of its own.
import type { Logger } from 'pino';
import { createAccept } from './accept/accept.ts';
import { createDiskGuard } from './accept/disk-space.ts';
import { networkMatcher } from './config/cidr.ts';
import type { Config } from './config/schema.ts';
import { ensureFirstCredential, seedUsers } from './credentials/seed.ts';
import { ensureAdminPassword } from './dashboard/admin-password.ts';
import { createSecretBox } from './dkim/secret.ts';
import { checkDomainKeys, createDkimSigners } from './dkim/sign.ts';
import { createRouter } from './delivery/router.ts';
import { createAutoRoute } from './delivery/routing/auto-route.ts';
import { builtinRoutes, type TransportRegistry } from './delivery/routing/registry.ts';
import { buildRouteTable, checkRoutes } from './delivery/routing/route-table.ts';
import { reportPolicyLookups } from './delivery/transports/mx/mta-sts.ts';
import { IDEMPOTENCY_TTL_MS } from './ingress/http/idempotency.ts';
import { createHttpIngress, type HttpIngress } from './ingress/http/server.ts';
import { createSmtpIngress, type SmtpIngress } from './ingress/smtp/server.ts';
import { createMetrics, type Metrics } from './metrics/metrics.ts';
import { createProviderWebhooks } from './provider-webhooks/provider-webhooks.ts';
import { Scheduler } from './queue/scheduler.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/store.ts';
import { loadOrCreateCertificate } from './tls/self-signed.ts';
import { createAddressGuard } from './webhooks/address-guard.ts';
import { WebhookDispatcher } from './webhooks/dispatcher.ts';

export interface Smarthost {
  store: Store;
  smtp: SmtpIngress;
  http?: HttpIngress;
  metrics: Metrics;
  scheduler: Scheduler;
  close(): Promise<void>;
}

export interface StartOptions {
  /** The routes lists may name (tests add their own transports). */
  routes?: TransportRegistry;
}

export async function startSmarthost(
  config: Config, logger: Logger, print: (line: string) => void = console.log, opts: StartOptions = {},
): Promise<Smarthost> {
  // First, so a route that is named but not configured stops the start before anything is opened.
  const registry = opts.routes ?? builtinRoutes;
  checkRoutes(config, registry);
  const store = await openStore(config);
  const secretBox = createSecretBox(config.secretKey);
  await checkDomainKeys(store, secretBox, logger).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  await seedUsers(store, config.users, logger);
  await ensureFirstCredential(store, print);
  if (config.httpPort !== 0)
    await ensureAdminPassword(store, config.adminPassword, `http${config.tlsCert ? 's' : ''}://${config.hostname}:${config.httpPort}/`, print);

  const tls = await loadOrCreateCertificate({
    dataDir: config.dataDir, hostname: config.hostname, certPath: config.tlsCert || undefined, keyPath: config.tlsKey || undefined,
  });
  if (tls.selfSigned)
    logger.warn({ cert: tls.certPath }, 'no SMARTHOST_TLS_CERT/SMARTHOST_TLS_KEY: using a self-signed certificate; clients must not verify it');
  if (config.allowInsecureAuth) logger.warn('SMARTHOST_ALLOW_INSECURE_AUTH is on: passwords may cross the network in clear text');

  const metrics = createMetrics(store);
  const mtaSts = config.mtaSts ? { store, timeoutMs: config.mtaStsTimeout, observe: reportPolicyLookups(metrics, logger) } : undefined;
  const routeTable = buildRouteTable(config, registry, { mtaSts });
  const autoRoute = routeTable.autoCandidates && createAutoRoute({
    candidates: routeTable.autoCandidates.map((name) => ({ name, transport: routeTable.transports.get(name)!, describe: routeTable.describe(name) })),
    intervalMs: config.routeProbeInterval, timeoutMs: config.routeProbeTimeout, logger,
  });
  const router = createRouter(routeTable, autoRoute);
  const scheduler = new Scheduler(
    store, router,
    { store, hostname: config.hostname, logger, metrics, lifetimeMs: config.maxQueueLifetime, retryInitialMs: config.retryInitial, retryMaxMs: config.retryMax },
    logger,
    { concurrency: config.deliveryConcurrency, leaseMs: config.leaseTime },
  );
  const enoughSpace = createDiskGuard(config.dataDir, config.minFreeDisk);
  const accept = createAccept({ store, hostname: config.hostname, logger, metrics, enoughSpace, queue: scheduler,
    dkim: { ...createDkimSigners(store, secretBox, config.dkimCanonicalization), required: config.requireDkim },
  });
  const smtp = createSmtpIngress(
    {
      hostname: config.hostname, listen: config.listen, tls, allowInsecureAuth: config.allowInsecureAuth,
      ports: [
        { name: 'submission', port: config.submissionPort, secure: false },
        { name: 'smtps', port: config.smtpsPort, secure: true },
        { name: 'alt', port: config.altPort, secure: false },
      ],
      isTrusted: networkMatcher(config.trustedNetworks), maxMessageSize: config.maxMessageSize, maxRecipients: config.maxRecipients,
      maxConnections: config.maxConnections, maxConnectionsPerIp: config.maxConnectionsPerIp, sessionTimeout: config.sessionTimeout,
      idleTimeout: config.idleTimeout, shutdownGrace: config.shutdownGrace, authFailuresPerConnection: config.authFailuresPerConnection,
      authFailuresPerIp: config.authFailuresPerIp, authFailureWindow: config.authFailureWindow, enoughSpace,
    },
    { store, accept, logger, metrics },
  );
  try {
    await smtp.listen();
  } catch (err) {
    // A port in use must not leave the store and the other listeners open behind a failed start.
    await smtp.close();
    await store.close();
    throw err;
  }
  const webhookGuard = createAddressGuard(config.webhookAllowedNetworks);
  const webhooks = new WebhookDispatcher(store, logger, metrics, { guard: webhookGuard, timeoutMs: config.webhookTimeout });
  const http = config.httpPort === 0 ? undefined : createHttpIngress(
    { listen: config.listen, port: config.httpPort, tls: config.tlsCert ? tls : undefined },
    {
      store, accept, logger, metrics, webhookGuard, maxMessageSize: config.maxMessageSize, domains: config,
      providerWebhooks: createProviderWebhooks(config, store),
      dashboard: {
        sessions: { idleMs: config.adminSessionIdle, lifetimeMs: config.adminSessionLifetime },
        loginFailures: { limit: config.authFailuresPerIp, windowMs: config.authFailureWindow },
        secure: !!config.tlsCert,
        connect: {
          hostname: config.hostname, httpTls: !!config.tlsCert,
          ports: { submission: config.submissionPort, smtps: config.smtpsPort, alt: config.altPort, http: config.httpPort },
        },
      },
      readiness: async () => {
        const problems: string[] = [];
        await store.ready().catch((err: Error) => problems.push(err.message));
        if (!smtp.listening()) problems.push('SMTP listeners are not up');
        return problems;
      },
      routeStatus: () => router.status(),
      routing: { table: routeTable, probeTimeoutMs: config.routeProbeTimeout, ...(autoRoute && { autoStatus: () => autoRoute.status() }) },
    },
  );
  try {
    await http?.listen();
  } catch (err) {
    await Promise.all([http?.close(), smtp.close()]);
    await store.close();
    throw err;
  }
  // Until the first probe answers, auto tries every candidate in order: nothing waits for it.
  autoRoute?.start();
  scheduler.start();
  webhooks.start();
  // Idempotency keys answer retries for a day; counter windows are at most a day long (a week is safe).
  const purge = setInterval(() => {
    const now = Date.now();
    // Provider webhook keys outlive the longest provider retry schedule (Resend's Svix: about 28 hours).
    store.purgeExpired({ idempotencyBefore: now - IDEMPOTENCY_TTL_MS, countersBefore: now - 7 * 86_400_000, providerEventsBefore: now - 7 * 86_400_000 })
      .catch((err: Error) => logger.warn({ err }, 'purging expired keys and counters failed'));
  }, 3_600_000);
  purge.unref();
  logger.info({ route: routeTable.default.join(','), rules: routeTable.rules.length, store: store.kind, data_dir: config.dataDir, hostname: config.hostname }, 'smarthost started');

  let closing: Promise<void> | undefined;
  return {
    store, smtp, http, metrics, scheduler,
    close: () =>
      (closing ??= (async () => {
        await http?.close();
        await smtp.close(); // stop accepting; sessions in DATA finish first
        await scheduler.stop(config.shutdownGrace); // finish or release in-flight deliveries
        await webhooks.stop();
        clearInterval(purge);
        await router.close();
        await store.close();
        logger.info('smarthost stopped');
      })()),
  };
}
