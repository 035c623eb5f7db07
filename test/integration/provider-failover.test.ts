// End to end on a host that delivers over HTTPS only: swaks submits over SMTP
// (STARTTLS + AUTH PLAIN), smarthost delivers through the provider route
// SMARTHOST_ROUTE=resend,postmark, and the local provider stand-ins (real
// HTTPS with the test CA) receive the message. A 500 or a 429 from Resend moves
// the recipient to Postmark; an invalid recipient bounces without trying Postmark.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createApiKey } from '../../src/credentials/api-keys.ts';
import { builtinRoutes, type TransportRegistry } from '../../src/delivery/routing/registry.ts';
import { smarthostCli } from '../helpers/cli-run.ts';
import { answers, startFakeProvider, type FakeProvider } from '../helpers/fake-providers.ts';
import { startTestSmarthost, TEST_PASSWORD, TEST_USER, type TestSmarthost } from '../helpers/smarthost.ts';
import { requireProgram, run } from '../helpers/run.ts';
import { waitFor } from '../helpers/wait.ts';

const QUEUED = /^<~  250 2\.0\.0 Ok: queued as ([0-9A-HJKMNP-TV-Z]{26})$/m;

interface Rig {
  relay: TestSmarthost;
  resend: FakeProvider;
  postmark: FakeProvider;
}

/** Resend and Postmark stand-ins and a smarthost routing `resend,postmark` to them; `env` changes the settings. */
async function rig(t: TestContext, env: Record<string, string> = {}): Promise<Rig> {
  const resend = await startFakeProvider('resend', t, { key: 're_test_key' });
  const postmark = await startFakeProvider('postmark', t, { key: 'pm-server-token' });
  // The provider routes as built in, trusting the stand-ins' test CA (in production: the system's roots).
  const routes: TransportRegistry = { ...builtinRoutes };
  for (const name of ['resend', 'postmark'])
    routes[name] = { ...builtinRoutes[name]!, create: (config, ctx) => builtinRoutes[name]!.create(config, { ...ctx, providerCa: resend.ca }) };
  const relay = await startTestSmarthost(t, {
    SMARTHOST_ROUTE: 'resend,postmark',
    SMARTHOST_RESEND_API_KEY: 're_test_key',
    SMARTHOST_RESEND_API_URL: resend.url,
    SMARTHOST_POSTMARK_SERVER_TOKEN: 'pm-server-token',
    SMARTHOST_POSTMARK_API_URL: postmark.url,
    SMARTHOST_RETRY_INITIAL: '1s',
    ...env,
  }, { routes });
  return { relay, resend, postmark };
}

async function swaksSubmit(relay: TestSmarthost, to: string): Promise<string> {
  const r = await run(requireProgram('swaks'), [
    '--server', `127.0.0.1:${relay.ports.submission}`, '--tls', '--auth', 'PLAIN',
    '--au', TEST_USER, '--ap', TEST_PASSWORD, '--helo', 'client.test', '--from', 'app@example.com', '--to', to,
    '--header', 'Subject: through the API', '--body', 'Sent over SMTP, delivered over HTTPS.',
  ], { timeoutMs: 10_000 });
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  const id = QUEUED.exec(r.stdout)?.[1];
  assert.ok(id, r.stdout);
  return id;
}

async function settled(relay: TestSmarthost, id: string) {
  return waitFor(`message ${id} settled`, async () => {
    const s = await relay.store.getMessageSummary(id);
    return s && s.recipients.every((r) => r.status !== 'queued' && r.status !== 'deferred') ? s : undefined;
  }, 15_000);
}

test('swaks → smarthost → Resend answers 500 → the recipient fails over to Postmark, each try in the events', async (t) => {
  const { relay, resend, postmark } = await rig(t);
  resend.queue(answers.serverError('resend'));
  const id = await swaksSubmit(relay, 'user@example.org');

  const summary = await settled(relay, id);
  assert.deepEqual(summary.recipients.map((r) => [r.address, r.status]), [['user@example.org', 'delivered']]);
  assert.equal(resend.requests.length, 1);
  assert.equal(postmark.requests.length, 1);
  assert.deepEqual([resend.problems, postmark.problems], [[], []]);
  const sent = postmark.requests[0]!.json;
  assert.equal(sent.From, 'app@example.com');
  assert.equal(sent.To, 'user@example.org');
  assert.equal(sent.Subject, 'through the API');
  assert.match(sent.TextBody, /Sent over SMTP, delivered over HTTPS\./);
  // Resend was asked with an idempotency key, so a repeated try after a crash is not a second send.
  assert.match(String(resend.requests[0]!.headers['idempotency-key']), /^[0-9a-f]{64}$/);

  const events = await relay.store.listEvents(id);
  const tries = events.filter((e) => e.type === 'attempt' || e.type === 'delivered').map((e) => [e.type, e.route, e.reply?.code]);
  assert.deepEqual(tries, [['attempt', 'resend', 451], ['delivered', 'postmark', 250]]);
  const delivered = events.find((e) => e.type === 'delivered')!;
  assert.equal(delivered.relay, `postmark (${new URL(postmark.url).host})`);
  assert.match(delivered.providerMessageId ?? '', /^[0-9a-f-]{36}$/);
  assert.match(await (await fetch(`http://127.0.0.1:${relay.ports.http}/metrics`)).text(),
    /smarthost_route_failovers_total\{from="resend",to="postmark"\} 1/);

  // Each try, with the provider's message id where there is one, in the log, the API and `queue show`.
  const pmId = delivered.providerMessageId!;
  assert.deepEqual(relay.logs.filter((l) => l.event === 'delivery' && l.msg_id === id).map((l) => [l.transport, l.status, l.provider_msg_id]),
    [['resend', 'failover', undefined], ['postmark', 'delivered', pmId]]);
  const { key } = await createApiKey(relay.store, 'ops', ['example.com']);
  const api = (await (await fetch(`http://127.0.0.1:${relay.ports.http}/emails/${id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as
    { events: { type: string; route?: string; provider_message_id?: string }[] };
  assert.deepEqual(api.events.filter((e) => e.route).map((e) => [e.type, e.route, e.provider_message_id]), [['attempt', 'resend', undefined], ['delivered', 'postmark', pmId]]);
  const show = await smarthostCli(['queue', 'show', id], { SMARTHOST_DATA_DIR: relay.config.dataDir });
  assert.match(show.stdout, new RegExp(`\\tdelivered\\tuser@example\\.org\\tpostmark\\tpostmark \\(${new URL(postmark.url).host.replace(/\./g, '\\.')}\\)\\tTLSv1\\.[23]\\tid ${pmId}\\t250 2\\.0\\.0 `));
});

test('a 429 from Resend fails over too; an invalid recipient (422) bounces at once and Postmark is never asked', async (t) => {
  const { relay, resend, postmark } = await rig(t);
  resend.queue(answers.throttle('resend', '120'));
  const throttled = await swaksSubmit(relay, 'first@example.org');
  assert.deepEqual((await settled(relay, throttled)).recipients.map((r) => r.status), ['delivered']);
  assert.equal(postmark.requests.length, 1);

  resend.queue({ status: 422, body: { statusCode: 422, name: 'validation_error', message: 'Invalid `to` field.' } });
  const invalid = await swaksSubmit(relay, 'broken@example.org');
  const summary = await settled(relay, invalid);
  assert.deepEqual(summary.recipients.map((r) => [r.status, r.lastReply]),
    [['bounced', '550 5.1.1 Resend refused the recipient (HTTP 422): Invalid `to` field.']]);
  assert.equal(postmark.requests.length, 1, 'Postmark was not asked for the bounced recipient');
  assert.deepEqual([resend.problems, postmark.problems], [[], []]);
});

test('Retry-After end to end: Resend alone answers 429 with Retry-After 3600, so the scheduler waits an hour, not the 1 s back-off', async (t) => {
  const { relay, resend } = await rig(t, { SMARTHOST_ROUTE: 'resend' });
  resend.queue(answers.throttle('resend', '3600'));
  const before = Date.now();
  const id = await swaksSubmit(relay, 'user@example.org');
  const r = await waitFor('the throttled attempt recorded', async () => {
    const rcpt = (await relay.store.getMessageSummary(id))!.recipients[0]!;
    return rcpt.status === 'deferred' && rcpt;
  });
  assert.equal(r.lastReply, '451 4.7.0 Resend rate limit (HTTP 429): rate limit exceeded');
  assert.ok(r.nextAttemptAt >= before + 3600_000, `next attempt ${r.nextAttemptAt - before} ms after submission`);
  const line = relay.logs.find((l) => l.event === 'delivery' && l.status === 'deferred');
  assert.equal(Date.parse(String(line?.next_attempt)), r.nextAttemptAt, 'the log line says when');
  // The scheduler polls every few hundred ms: with the 1 s back-off it would have tried again by now.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.equal(resend.requests.length, 1);
});

test('Retry-After survives failover: Resend throttles for an hour, Postmark answers 500, so the next attempt (from Resend again) waits the hour', async (t) => {
  const { relay, resend, postmark } = await rig(t);
  resend.queue(answers.throttle('resend', '3600'));
  postmark.queue(answers.serverError('postmark'));
  const before = Date.now();
  const id = await swaksSubmit(relay, 'user@example.org');
  const r = await waitFor('the attempt recorded', async () => {
    const rcpt = (await relay.store.getMessageSummary(id))!.recipients[0]!;
    return rcpt.status === 'deferred' && rcpt;
  });
  assert.equal(r.lastReply, '451 4.3.0 Postmark API error (HTTP 500): internal server error');
  assert.ok(r.nextAttemptAt >= before + 3600_000, `next attempt ${r.nextAttemptAt - before} ms after submission`);
  const tries = (await relay.store.listEvents(id)).filter((e) => e.type === 'attempt' || e.type === 'deferred').map((e) => [e.type, e.route, e.reply?.code]);
  assert.deepEqual(tries, [['attempt', 'resend', 451], ['deferred', 'postmark', 451]]);
  assert.deepEqual([resend.requests.length, postmark.requests.length], [1, 1]);
});

test('failover never double-sends: Resend takes the request and the answer is lost, so Postmark is not asked; the retry asks Resend again with the same key', async (t) => {
  const { relay, resend, postmark } = await rig(t, { SMARTHOST_PROVIDER_TIMEOUT: '1s' });
  resend.queue(answers.lostAnswer());
  const id = await swaksSubmit(relay, 'user@example.org');

  const summary = await settled(relay, id);
  assert.deepEqual(summary.recipients.map((r) => r.status), ['delivered']);
  assert.equal(postmark.requests.length, 0, 'Postmark was never asked: Resend may already have sent it');
  assert.equal(resend.requests.length, 2);
  assert.equal(resend.requests[1]!.headers['idempotency-key'], resend.requests[0]!.headers['idempotency-key']);
  const tries = (await relay.store.listEvents(id)).filter((e) => ['attempt', 'deferred', 'delivered'].includes(e.type)).map((e) => [e.type, e.route, e.reply?.enhanced]);
  assert.deepEqual(tries, [['deferred', 'resend', '4.4.2'], ['delivered', 'resend', '2.0.0']]);
  assert.deepEqual([resend.problems, postmark.problems], [[], []]);
});

test('an answer lost on the second route: the next attempt starts there, not at the first route, which would send a second copy', async (t) => {
  const { relay, resend, postmark } = await rig(t, { SMARTHOST_ROUTE: 'postmark,resend', SMARTHOST_PROVIDER_TIMEOUT: '1s' });
  postmark.queue(answers.serverError('postmark'));
  resend.queue(answers.lostAnswer());
  const id = await swaksSubmit(relay, 'user@example.org');

  const summary = await settled(relay, id);
  assert.deepEqual(summary.recipients.map((r) => r.status), ['delivered']);
  assert.equal(postmark.requests.length, 1, 'Postmark is not asked again while Resend may have sent it');
  assert.equal(resend.requests.length, 2);
  assert.equal(resend.requests[1]!.headers['idempotency-key'], resend.requests[0]!.headers['idempotency-key']);
  const tries = (await relay.store.listEvents(id)).filter((e) => ['attempt', 'deferred', 'delivered'].includes(e.type)).map((e) => [e.type, e.route, e.reply?.code]);
  assert.deepEqual(tries, [['attempt', 'postmark', 451], ['deferred', 'resend', 451], ['delivered', 'resend', 250]]);
});
