// SMARTHOST_ROUTE=auto against real loopback ports: one that never answers (a
// cloud dropping outbound 25), one that refuses, one with an SMTP server — the
// first working route is picked and the reason is said in plain words.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createAutoRoute } from '../../src/delivery/routing/auto-route.ts';
import { builtinRoutes, type TransportRegistry } from '../../src/delivery/routing/registry.ts';
import { PROVIDER_NAMES } from '../../src/delivery/transports/providers/index.ts';
import { createMxTransport } from '../../src/delivery/transports/mx/mx-transport.ts';
import { createRelayTransport } from '../../src/delivery/transports/relay/relay-transport.ts';
import { createLogger } from '../../src/log.ts';
import { startFakeMx } from '../helpers/fake-mx.ts';
import { startFakeProvider } from '../helpers/fake-providers.ts';
import { startFilteredPort } from '../helpers/filtered-port.ts';
import { freePort } from '../helpers/ports.ts';
import { startRoutedSmarthost } from '../helpers/routed-smarthost.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';
import { submit } from '../helpers/submit.ts';
import { waitFor } from '../helpers/wait.ts';

const timeouts = { hostname: 'relay.test', connectTimeout: 1000, replyTimeout: 1000 };

function capture() {
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logs, logger: createLogger('info', sink) };
}

test('auto: the first route whose check works is used; the ones before it say why not', async (t) => {
  const filtered = await startFilteredPort(t);
  const refused = await freePort();
  const open = await startFakeMx({ host: '127.0.0.3', tls: true }, t);
  const { logs, logger } = capture();
  const mxBlocked = createMxTransport({ ...timeouts, dnsServers: [], port: filtered, probe: { host: '127.0.0.1', timeoutMs: 1000 } });
  const relayDown = createRelayTransport({ ...timeouts, url: new URL(`smtp://u:p@127.0.0.1:${refused}`), checkTimeout: 1000 });
  const mxOpen = createMxTransport({ ...timeouts, dnsServers: [], port: open.port, probe: { host: '127.0.0.3', timeoutMs: 5000 } });
  const auto = createAutoRoute({
    candidates: [
      { name: 'mx', transport: mxBlocked, describe: 'directly to MX' },
      { name: 'relay', transport: relayDown, describe: 'through the relay' },
      { name: 'second-mx', transport: mxOpen, describe: 'through the second MX' },
    ],
    intervalMs: 600_000, timeoutMs: 2000, logger,
  });
  assert.equal(auto.status(), 'probing egress: mx, relay, second-mx');
  assert.deepEqual(auto.routes(), ['mx', 'relay', 'second-mx'], 'before the first probe every candidate is tried in order');
  await auto.probe();
  const said = `mx: outbound port ${filtered} to 127.0.0.1 times out after 1 s — this host blocks SMTP egress; `
    + `relay: 127.0.0.1:${refused} refuses connections; delivering through the second MX`;
  assert.equal(auto.status(), said);
  assert.deepEqual(auto.routes(), ['second-mx']);
  assert.deepEqual(logs.filter((l) => l.event === 'route').map((l) => [l.level, l.msg, l.route]), [[30, said, 'second-mx']]);
  await auto.probe();
  assert.equal(logs.filter((l) => l.event === 'route').length, 1, 'an unchanged verdict is not logged again');
});

test('auto: when no route works it says so, and every candidate is still tried in order', async (t) => {
  const refused = await freePort();
  const { logs, logger } = capture();
  const auto = createAutoRoute({
    candidates: [
      { name: 'mx', transport: createMxTransport({ ...timeouts, dnsServers: [], port: refused, probe: { host: '127.0.0.1', timeoutMs: 1000 } }), describe: 'directly' },
      { name: 'relay', transport: createRelayTransport({ ...timeouts, url: new URL(`smtps://127.0.0.1:${refused}`) }), describe: 'relay' },
    ],
    intervalMs: 600_000, timeoutMs: 2000, logger,
  });
  await auto.probe();
  const said = `mx: 127.0.0.1:${refused} refuses connections; relay: 127.0.0.1:${refused} refuses connections; no route works; trying them all in order on each attempt`;
  assert.equal(auto.status(), said);
  assert.deepEqual(auto.routes(), ['mx', 'relay']);
  assert.deepEqual(logs.filter((l) => l.event === 'route').map((l) => [l.level, l.msg]), [[40, said]]);
});

test('SMARTHOST_ROUTE=auto: port 25 never answers, so smarthost delivers through the relay and /readyz says why', async (t) => {
  const filtered = await startFilteredPort(t);
  const creds = { user: 'relay-user', pass: 'relay-pass' };
  const relay = await startFakeMx({ host: '127.0.0.2', tls: true, auth: creds }, t);
  const s = await startRoutedSmarthost(t, {
    route: ['auto'],
    env: {
      SMARTHOST_MX_PORT: String(filtered), SMARTHOST_PROBE_MX_HOST: '127.0.0.1', SMARTHOST_ROUTE_PROBE_TIMEOUT: '2s',
      SMARTHOST_RELAY_URL: `smtp://${creds.user}:${creds.pass}@127.0.0.2:${relay.port}`, SMARTHOST_RELAY_TLS_VERIFY: 'false',
    },
  });
  const readyz = async () => (await (await fetch(`http://127.0.0.1:${s.ports.http}/readyz`)).json()) as { status: string; route: string };
  const said = `mx: outbound port ${filtered} to 127.0.0.1 times out after 2 s — this host blocks SMTP egress; delivering through the relay 127.0.0.2:${relay.port}`;
  const body = await waitFor('the first probe', async () => {
    const b = await readyz();
    return !b.route.startsWith('probing') && b;
  });
  assert.deepEqual(body, { status: 'ready', problems: [], route: said });
  const line = s.logs.find((l) => l.event === 'route');
  assert.deepEqual([line?.msg, line?.route, line?.working], [said, 'relay', ['relay']]);

  const id = await submit(s.ports.submission, { to: ['you@example.org'] });
  await waitFor('delivery through the relay', async () => (await s.store.getMessageSummary(id))!.recipients[0]!.status === 'delivered');
  assert.equal(relay.messages.filter((m) => m.to.includes('you@example.org')).length, 1);
  const events = (await s.store.listEvents(id)).filter((e) => e.type !== 'queued');
  assert.deepEqual(events.map((e) => [e.type, e.route]), [['delivered', 'relay']], 'the blocked MX route is not tried at all');
});

/** The built-in provider routes, trusting the fake providers' test CA (in production: the system's roots). */
function trustingProviders(ca: Buffer): TransportRegistry {
  const routes: TransportRegistry = { ...builtinRoutes };
  for (const name of PROVIDER_NAMES)
    routes[name] = { ...builtinRoutes[name]!, create: (config, ctx) => builtinRoutes[name]!.create(config, { ...ctx, providerCa: ca }) };
  return routes;
}

test('SMARTHOST_ROUTE=auto: port 25 never answers and there is no relay, so smarthost delivers through a provider over HTTPS; a refused Resend key is skipped with the reason', async (t) => {
  const filtered = await startFilteredPort(t);
  const resend = await startFakeProvider('resend', t, { key: 're_right_key' });
  const postmark = await startFakeProvider('postmark', t, { key: 'pm-server-token' });
  // No SMARTHOST_AUTO_ROUTES: auto probes every configured route, mx first, then the providers in their order.
  const s = await startTestSmarthost(t, {
    SMARTHOST_ROUTE: 'auto', SMARTHOST_MX_PORT: String(filtered), SMARTHOST_PROBE_MX_HOST: '127.0.0.1', SMARTHOST_ROUTE_PROBE_TIMEOUT: '2s',
    SMARTHOST_RESEND_API_KEY: 're_wrong_key', SMARTHOST_RESEND_API_URL: resend.url,
    SMARTHOST_POSTMARK_SERVER_TOKEN: 'pm-server-token', SMARTHOST_POSTMARK_API_URL: postmark.url,
  }, { routes: trustingProviders(resend.ca) });
  const said = `mx: outbound port ${filtered} to 127.0.0.1 times out after 2 s — this host blocks SMTP egress; `
    + 'resend: the Resend API key was refused (HTTP 403: API key is invalid); delivering through postmark over HTTPS';
  const body = await waitFor('the first probe', async () => {
    const b = (await (await fetch(`http://127.0.0.1:${s.ports.http}/readyz`)).json()) as { route: string };
    return !b.route.startsWith('probing') && b;
  });
  assert.deepEqual(body, { status: 'ready', problems: [], route: said });
  const line = s.logs.find((l) => l.event === 'route');
  assert.deepEqual([line?.msg, line?.route, line?.working], [said, 'postmark', ['postmark']]);

  const id = await submit(s.ports.submission, { to: ['you@example.org'] });
  await waitFor('delivery through Postmark', async () => (await s.store.getMessageSummary(id))!.recipients[0]!.status === 'delivered');
  assert.deepEqual([postmark.requests.length, postmark.requests[0]!.json.To], [1, 'you@example.org']);
  assert.deepEqual([resend.requests.length, resend.problems, postmark.problems], [0, [], []]);
  const events = (await s.store.listEvents(id)).filter((e) => e.type !== 'queued');
  assert.deepEqual(events.map((e) => [e.type, e.route]), [['delivered', 'postmark']], 'neither the blocked MX nor Resend is tried');
  assert.match(events[0]!.providerMessageId ?? '', /^[0-9a-f-]{36}$/);
});
