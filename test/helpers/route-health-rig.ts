// Two routes with a history to report: a fake MX on 127.0.0.2 that takes mail for
// example.org (the mx route), and a relay on a port that refuses connections;
// auto probes the relay, then mx, and mail to relayed.test is ruled onto the relay alone.
import type { TestContext } from 'node:test';
import { startDnsServer } from './dns-server.ts';
import { startFakeMx, type FakeMx } from './fake-mx.ts';
import { freePort } from './ports.ts';
import { startRoutedSmarthost } from './routed-smarthost.ts';
import type { TestSmarthost } from './smarthost.ts';
import { submit } from './submit.ts';
import { waitFor } from './wait.ts';

export interface RouteHealthRig {
  s: TestSmarthost;
  mx: FakeMx;
  /** The relay's port, where nothing listens. */
  refused: number;
  /** Submits one message to each route and waits until the mx one is delivered and the relay one deferred. */
  sendOneEach(): Promise<void>;
}

export async function startRouteHealthRig(t: TestContext, env: Record<string, string> = {}): Promise<RouteHealthRig> {
  const mx = await startFakeMx({ host: '127.0.0.2' }, t);
  const dns = await startDnsServer({
    'example.org': { mx: [{ exchange: 'mx.example.org', priority: 10 }] }, 'mx.example.org': { a: ['127.0.0.2'] },
  }, t);
  const refused = await freePort();
  const s = await startRoutedSmarthost(t, {
    route: ['auto'], rules: [{ recipientDomain: ['relayed.test'], routes: ['relay'] }],
    env: {
      SMARTHOST_DNS_SERVERS: dns.server, SMARTHOST_MX_PORT: String(mx.port),
      SMARTHOST_RELAY_URL: `smtp://user:pass@127.0.0.1:${refused}`, SMARTHOST_AUTO_ROUTES: 'relay,mx',
      SMARTHOST_PROBE_MX_HOST: '127.0.0.2', SMARTHOST_ROUTE_PROBE_TIMEOUT: '2s', SMARTHOST_RETRY_INITIAL: '1h',
      ...env,
    },
  });
  const sendOneEach = async () => {
    await submit(s.ports.submission, { to: ['you@example.org'] });
    await submit(s.ports.submission, { to: ['x@relayed.test'] });
    await waitFor('one delivered, one deferred', async () => {
      const c = await s.store.countByStatus();
      return c.delivered === 1 && c.deferred === 1;
    }, 20_000);
  };
  return { s, mx, refused, sendOneEach };
}
