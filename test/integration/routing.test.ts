// Failover lists end to end: nodemailer submits, smarthost delivers through the
// first route of the recipient's list and hands on what that route could not
// take (down, deferring, blocked), with one event per try. Scripted transports
// stand where a provider would, so the failover logic is proven without one.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { StoredEvent } from '../../src/store/store.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startFakeMx, type FakeMx } from '../helpers/fake-mx.ts';
import { freePort } from '../helpers/ports.ts';
import { scriptedTransport, startRoutedSmarthost } from '../helpers/routed-smarthost.ts';
import { TEST_PASSWORD, TEST_USER, type TestSmarthost } from '../helpers/smarthost.ts';
import { submit } from '../helpers/submit.ts';
import { waitFor } from '../helpers/wait.ts';

/** example.org's MX on 127.0.0.2: `blocked@` gets a reputation block, `gone@` 5.1.1, everyone else 250. */
async function mxWorld(t: TestContext): Promise<{ mx: FakeMx; env: Record<string, string> }> {
  const mx = await startFakeMx({
    host: '127.0.0.2',
    behaviour: (rcpt) =>
      rcpt.startsWith('blocked@') ? { code: 550, text: '5.7.1 Service unavailable; client host [127.0.0.1] blocked using zen.spamhaus.org' }
      : rcpt.startsWith('gone@') ? { code: 550, text: '5.1.1 No such user' }
      : { code: 250 },
  }, t);
  const dns = await startDnsServer({
    'example.org': { mx: [{ exchange: 'mx.example.org', priority: 10 }] },
    'mx.example.org': { a: ['127.0.0.2'] },
  }, t);
  return { mx, env: { SMARTHOST_DNS_SERVERS: dns.server, SMARTHOST_MX_PORT: String(mx.port) } };
}

const FAST_RETRY = { SMARTHOST_RETRY_INITIAL: '1s', SMARTHOST_RETRY_MAX: '1s' };

const statusOf = async (s: TestSmarthost, id: string) =>
  Object.fromEntries((await s.store.getMessageSummary(id))!.recipients.map((r) => [r.address, r.status]));

/** A recipient's delivery events as `type route reply`, in order. */
async function tries(s: TestSmarthost, id: string, rcpt: string): Promise<string[]> {
  const events = (await s.store.listEvents(id)).filter((e: StoredEvent) => e.recipient === rcpt && e.type !== 'queued');
  return events.map((e) => `${e.type} ${e.route} ${e.reply!.code} ${e.reply!.enhanced} ${e.reply!.text}`);
}

test('relay,mx: the relay refuses connections, so the mail goes to the MX; the event log shows both tries', async (t) => {
  const { mx, env } = await mxWorld(t);
  const closed = await freePort();
  const s = await startRoutedSmarthost(t, {
    route: ['relay', 'mx'], env: { ...env, SMARTHOST_RELAY_URL: `smtp://user:pass@127.0.0.1:${closed}` },
  });
  const id = await submit(s.ports.submission, { to: ['you@example.org'] });
  await waitFor('delivery through mx', async () => (await statusOf(s, id))['you@example.org'] === 'delivered');
  assert.equal(mx.messages.length, 1);
  assert.deepEqual(await tries(s, id, 'you@example.org'), [
    `attempt relay 451 4.4.1 Connection refused by 127.0.0.1:${closed}`,
    'delivered mx 250 2.0.0 OK: message queued',
  ]);
  const events = await s.store.listEvents(id);
  assert.equal(events.find((e) => e.type === 'attempt')!.detail, 'failing over to mx');
  assert.ok(events.filter((e) => e.type !== 'queued').every((e) => e.attempt === 1), 'both tries belong to the first attempt');
  const line = s.logs.find((l) => l.event === 'delivery' && l.status === 'failover');
  assert.deepEqual([line?.transport, line?.failover_to, line?.dsn], ['relay', 'mx', '4.4.1']);
  const metrics = await s.metrics.registry.metrics();
  assert.match(metrics, /^smarthost_route_failovers_total\{from="relay",to="mx"\} 1$/m);
  assert.match(metrics, /^smarthost_deliveries_total\{transport="mx",outcome="delivered"\} 1$/m);
  assert.doesNotMatch(metrics, /transport="relay"/, 'a try that failed over is not a delivery outcome');
});

test('a permanent recipient error (5.1.1) on the first route bounces at once; the second route is never tried', async (t) => {
  const primary = scriptedTransport('primary', (rcpt) => (rcpt.startsWith('gone@') ? '550 5.1.1 No such user' : '250 2.0.0 Accepted'));
  const secondary = scriptedTransport('secondary', () => '250 2.0.0 Accepted');
  const s = await startRoutedSmarthost(t, { route: ['primary', 'secondary'], transports: { primary, secondary } });
  const id = await submit(s.ports.submission, { to: ['gone@example.org', 'here@example.org'] });
  await waitFor('both final', async () => {
    const st = await statusOf(s, id);
    return st['gone@example.org'] === 'bounced' && st['here@example.org'] === 'delivered';
  });
  assert.deepEqual(await tries(s, id, 'gone@example.org'), ['bounced primary 550 5.1.1 No such user']);
  assert.deepEqual(await tries(s, id, 'here@example.org'), ['delivered primary 250 2.0.0 Accepted']);
  // The bounce report goes out through the same list (to the sender, app@example.com), and still primary takes it.
  await waitFor('the DSN', () => primary.calls.some((c) => c.rcpts.includes('app@example.com')));
  assert.deepEqual(secondary.calls, []);
  assert.deepEqual(await s.store.suppressedAmong(['gone@example.org']), new Set(['gone@example.org']));
});

test('mx,backup: a reputation block (550 5.7.1 … blocked) fails over; a 5.1.1 from the same MX bounces', async (t) => {
  const { mx, env } = await mxWorld(t);
  const backup = scriptedTransport('backup', () => '250 2.0.0 Accepted by backup');
  const s = await startRoutedSmarthost(t, { route: ['mx', 'backup'], transports: { backup }, env });
  const id = await submit(s.ports.submission, { to: ['blocked@example.org', 'gone@example.org', 'fine@example.org'] });
  await waitFor('all final', async () => {
    const st = await statusOf(s, id);
    return st['blocked@example.org'] === 'delivered' && st['gone@example.org'] === 'bounced' && st['fine@example.org'] === 'delivered';
  });
  assert.deepEqual(await tries(s, id, 'blocked@example.org'), [
    'attempt mx 550 5.7.1 Service unavailable; client host [127.0.0.1] blocked using zen.spamhaus.org',
    'delivered backup 250 2.0.0 Accepted by backup',
  ]);
  assert.deepEqual(await tries(s, id, 'gone@example.org'), ['bounced mx 550 5.1.1 No such user']);
  assert.deepEqual(await tries(s, id, 'fine@example.org'), ['delivered mx 250 2.0.0 OK: message queued']);
  // Only the blocked recipient reached the backup, and the MX got the message once (for fine@).
  assert.deepEqual(backup.calls.filter((c) => c.messageId === id).map((c) => c.rcpts), [['blocked@example.org']]);
  assert.equal(mx.messages.filter((m) => m.to.includes('fine@example.org')).length, 1);
  assert.equal(mx.messages.some((m) => m.to.includes('blocked@example.org')), false);
});

test('every route down: deferred with the last reply, and the next attempt starts again from the first route', async (t) => {
  const first = scriptedTransport('first', () => '451 4.4.1 Connection to first timed out');
  const second = scriptedTransport('second', () => '421 4.7.0 Try again later, closing connection');
  const s = await startRoutedSmarthost(t, { route: ['first', 'second'], transports: { first, second }, env: FAST_RETRY });
  const id = await submit(s.ports.submission, { to: ['you@example.org'] });
  await waitFor('two attempts', async () => (await tries(s, id, 'you@example.org')).length >= 4, 20_000);
  assert.deepEqual((await tries(s, id, 'you@example.org')).slice(0, 4), [
    'attempt first 451 4.4.1 Connection to first timed out',
    'deferred second 421 4.7.0 Try again later, closing connection',
    'attempt first 451 4.4.1 Connection to first timed out',
    'deferred second 421 4.7.0 Try again later, closing connection',
  ]);
  const attempts = (await s.store.listEvents(id)).filter((e) => e.type !== 'queued').slice(0, 4).map((e) => e.attempt);
  assert.deepEqual(attempts, [1, 1, 2, 2]);
  const summary = (await s.store.getMessageSummary(id))!.recipients[0]!;
  assert.match(summary.lastReply!, /^421 4\.7\.0 Try again later/);
  assert.ok(first.calls.length >= 2 && first.calls.length >= second.calls.length);
});

test('rules: a recipient domain rule sends its recipients through its own list, the rest take the default', async (t) => {
  const standard = scriptedTransport('standard', () => '250 2.0.0 Accepted by standard');
  const special = scriptedTransport('special', () => '250 2.0.0 Accepted by special');
  const s = await startRoutedSmarthost(t, {
    route: ['standard'], rules: [{ recipientDomain: ['example.net'], routes: ['special', 'standard'] }], transports: { standard, special },
  });
  const id = await submit(s.ports.submission, { to: ['a@example.org', 'b@example.net', 'c@example.org'] });
  await waitFor('all delivered', async () => Object.values(await statusOf(s, id)).every((x) => x === 'delivered'));
  // One session per message and list (not per domain: these are not MX routes).
  assert.deepEqual(standard.calls.map((c) => c.rcpts), [['a@example.org', 'c@example.org']]);
  assert.deepEqual(special.calls.map((c) => c.rcpts), [['b@example.net']]);
  const body = await (await fetch(`http://127.0.0.1:${s.ports.http}/readyz`)).json() as { route: string };
  assert.equal(body.route, 'delivering through standard (1 rule for other domains)');
});

test('a recipient the first route delivered is recorded before anything about the ones that fail over: a store error in between does not send it again', async (t) => {
  const primary = scriptedTransport('primary', (rcpt) => (rcpt.startsWith('a@') ? '250 2.0.0 Accepted by primary' : '451 4.3.0 Try later'));
  const secondary = scriptedTransport('secondary', () => '250 2.0.0 Accepted by secondary');
  const s = await startRoutedSmarthost(t, { route: ['primary', 'secondary'], transports: { primary, secondary } });
  // The store refuses the first failover event, as a database blip would: the group fails and its leases are given back.
  const addEvent = s.store.addEvent.bind(s.store);
  let refused = false;
  s.store.addEvent = async (e) => {
    if (e.type === 'attempt' && !refused) {
      refused = true;
      throw new Error('database unavailable');
    }
    return addEvent(e);
  };
  const id = await submit(s.ports.submission, { to: ['a@example.org', 'b@example.org'] });
  await waitFor('both delivered', async () => Object.values(await statusOf(s, id)).every((x) => x === 'delivered'), 20_000);
  assert.ok(refused);
  assert.deepEqual(primary.calls.map((c) => c.rcpts), [['a@example.org', 'b@example.org'], ['b@example.org']], 'a@ went out once');
  assert.deepEqual(secondary.calls.map((c) => c.rcpts), [['b@example.org']]);
});

test('rules: a sender domain rule routes that sender\'s mail through its own failover list, whatever the recipient', async (t) => {
  const standard = scriptedTransport('standard', () => '250 2.0.0 Accepted by standard');
  const billing = scriptedTransport('billing', () => '451 4.3.0 billing route down');
  const backup = scriptedTransport('backup', () => '250 2.0.0 Accepted by backup');
  const s = await startRoutedSmarthost(t, {
    route: ['standard'], rules: [{ senderDomain: ['billing.example.com'], routes: ['billing', 'backup'] }], transports: { standard, billing, backup },
    env: { SMARTHOST_USERS: `${TEST_USER}:${TEST_PASSWORD}:example.com;billing.example.com` },
  });
  const invoice = await submit(s.ports.submission, { from: 'invoice@billing.example.com', to: ['a@example.org'] });
  const hello = await submit(s.ports.submission, { from: 'app@example.com', to: ['a@example.org'] });
  await waitFor('both delivered', async () =>
    (await statusOf(s, invoice))['a@example.org'] === 'delivered' && (await statusOf(s, hello))['a@example.org'] === 'delivered');
  assert.deepEqual([billing.calls.map((c) => c.messageId), backup.calls.map((c) => c.messageId), standard.calls.map((c) => c.messageId)],
    [[invoice], [invoice], [hello]]);
  assert.deepEqual(await tries(s, invoice, 'a@example.org'),
    ['attempt billing 451 4.3.0 billing route down', 'delivered backup 250 2.0.0 Accepted by backup']);
});
