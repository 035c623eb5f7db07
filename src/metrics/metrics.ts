// Every Prometheus metric smarthost exports, in one place. One registry per
// instance, so two instances in one process (tests) do not share counters.
// Labels never carry addresses: cardinality stays bounded.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from '../store/store.ts';

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(store: Store) {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    accepted: new Counter({ name: 'smarthost_messages_accepted_total', help: 'Messages committed to the queue, by ingress', labelNames: ['ingress'], registers }),
    refused: new Counter({ name: 'smarthost_messages_refused_total', help: 'Submissions refused, by ingress and reply code', labelNames: ['ingress', 'code'], registers }),
    deliveries: new Counter({ name: 'smarthost_deliveries_total', help: 'Per-recipient delivery outcomes, by route and result', labelNames: ['transport', 'outcome'], registers }),
    deliveryLatency: new Histogram({
      name: 'smarthost_delivery_latency_seconds', help: 'Time from acceptance to final delivery, per recipient', labelNames: ['transport'],
      buckets: [0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 21600, 86400], registers,
    }),
    routeFailovers: new Counter({ name: 'smarthost_route_failovers_total', help: 'Recipients handed to the next route of their failover list, by route', labelNames: ['from', 'to'], registers }),
    smtpSessions: new Counter({ name: 'smarthost_smtp_sessions_total', help: 'SMTP sessions opened, by listener', labelNames: ['listener'], registers }),
    authFailures: new Counter({ name: 'smarthost_smtp_auth_failures_total', help: 'Failed AUTH attempts', registers }),
    httpRequests: new Counter({ name: 'smarthost_http_requests_total', help: 'HTTP API requests, by route and status', labelNames: ['route', 'status'], registers }),
    mtaStsPolicies: new Counter({
      name: 'smarthost_mta_sts_policy_total', help: 'MTA-STS policy lookups on the mx route, by the mode applied and how the policy was found',
      labelNames: ['mode', 'result'], registers,
    }),
    providerWebhooks: new Counter({
      name: 'smarthost_provider_webhooks_total', labelNames: ['provider', 'result'], registers,
      help: 'Provider webhooks received: per event applied, duplicate or ignored; per request unauthorized, malformed, not_configured, confirmed or error',
    }),
    webhookDeliveries: new Counter({ name: 'smarthost_webhook_deliveries_total', help: 'Webhook POST attempts, by result', labelNames: ['result'], registers }),
    // Only a store that counts its statements (PostgreSQL) has this metric; SQLite does not report a fake 0.
    storeQueries: store.statementCount
      ? new Counter({
        name: 'smarthost_store_queries_total', help: 'Statements sent to the database server by this process (BEGIN/COMMIT included)', registers,
        collect() {
          this.reset();
          this.inc(store.statementCount!());
        },
      })
      : undefined,
    queueDepth: new Gauge({
      name: 'smarthost_queue_recipients', help: 'Recipients in the store, by status', labelNames: ['status'], registers,
      // Read at scrape time: one grouped COUNT, not a counter that drifts across restarts.
      async collect() {
        this.reset();
        for (const [status, n] of Object.entries(await store.countByStatus())) this.set({ status }, n);
      },
    }),
  };
}
