// End to end: nodemailer submits to smarthost, smarthost resolves MX through
// a local DNS server and delivers to fake MX hosts on 127.0.0.x that accept,
// defer then accept, or reject; bounces come back as DSNs to the sender's MX.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startFakeMx, type FakeMx } from '../helpers/fake-mx.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';
import { submit } from '../helpers/submit.ts';
import { waitFor } from '../helpers/wait.ts';

interface World {
  accept: FakeMx;
  flaky: FakeMx;
  reject: FakeMx;
  senderMx: FakeMx;
  dns: string;
}

/** MX hosts: example.org → .2 accepts; flaky.test → .3 defers the first try; reject.test → .4 says 550 5.1.1; example.com → .5 (for DSNs). */
async function world(t: TestContext): Promise<World> {
  const accept = await startFakeMx({ host: '127.0.0.2', tls: true }, t);
  let tries = 0;
  const flaky = await startFakeMx({ host: '127.0.0.3', port: accept.port, behaviour: () => (++tries === 1 ? { code: 451, text: '4.7.1 Greylisted, try again' } : { code: 250 }) }, t);
  const reject = await startFakeMx({ host: '127.0.0.4', port: accept.port, behaviour: (r) => (r.startsWith('unknown@') ? { code: 550, text: '5.1.1 No such user' } : { code: 250 }) }, t);
  const senderMx = await startFakeMx({ host: '127.0.0.5', port: accept.port }, t);
  const dns = await startDnsServer({
    'example.org': { mx: [{ exchange: 'mx.example.org', priority: 10 }] },
    'mx.example.org': { a: ['127.0.0.2'] },
    'flaky.test': { mx: [{ exchange: 'mx.flaky.test', priority: 10 }] },
    'mx.flaky.test': { a: ['127.0.0.3'] },
    'reject.test': { mx: [{ exchange: 'mx.reject.test', priority: 10 }] },
    'mx.reject.test': { a: ['127.0.0.4'] },
    'implicit.test': { a: ['127.0.0.2'] },
    'nullmx.test': { mx: [{ exchange: '', priority: 0 }] },
    'example.com': { mx: [{ exchange: 'mx.example.com', priority: 10 }] },
    'mx.example.com': { a: ['127.0.0.5'] },
  }, t);
  return { accept, flaky, reject, senderMx, dns: dns.server };
}

const env = (w: World, more: Record<string, string> = {}) => ({
  SMARTHOST_DNS_SERVERS: w.dns, SMARTHOST_MX_PORT: String(w.accept.port), SMARTHOST_RETRY_INITIAL: '1s', SMARTHOST_RETRY_MAX: '1s', ...more,
});

const statusOf = async (s: Awaited<ReturnType<typeof startTestSmarthost>>, id: string) =>
  Object.fromEntries((await s.store.getMessageSummary(id))!.recipients.map((r) => [r.address, r.status]));

test('delivered over STARTTLS to the MX; one connection carries all recipients of a domain', async (t) => {
  const w = await world(t);
  const s = await startTestSmarthost(t, env(w));
  const id = await submit(s.ports.submission, { to: ['a@example.org', 'b@example.org', 'c@implicit.test'] });
  await waitFor('delivery', async () => Object.values(await statusOf(s, id)).every((x) => x === 'delivered'));
  // example.org (MX) and implicit.test (A record only, RFC 5321 §5.1) both land on 127.0.0.2.
  assert.equal(w.accept.messages.length, 2);
  const toExampleOrg = w.accept.messages.find((m) => m.to.includes('a@example.org'))!;
  assert.deepEqual(toExampleOrg.to.sort(), ['a@example.org', 'b@example.org']);
  assert.equal(toExampleOrg.secure, true, 'opportunistic STARTTLS was not used');
  assert.equal(toExampleOrg.from, 'app@example.com');
  assert.match(toExampleOrg.raw.toString(), /^Received: from \S+ \(\[127\.0\.0\.1\]\)\r\n\tby relay\.test \(smarthost\) with ESMTPSA id /);
  assert.match(toExampleOrg.raw.toString(), /\r\n\r\nHello from the test\.\r\n$/);
  const delivered = (await s.store.listEvents(id)).filter((e) => e.type === 'delivered');
  assert.deepEqual(delivered.map((e) => e.recipient).sort(), ['a@example.org', 'b@example.org', 'c@implicit.test']);
  const toA = delivered.find((e) => e.recipient === 'a@example.org')!;
  assert.match(toA.relay!, /^mx\.example\.org\[127\.0\.0\.2\]:\d+$/);
  assert.match(toA.tls!, /^TLSv1\.[23]$/);
  assert.match(delivered.find((e) => e.recipient === 'c@implicit.test')!.relay!, /^implicit\.test\[127\.0\.0\.2\]:\d+$/);
  const line = s.logs.find((l) => l.event === 'delivery' && l.to === 'a@example.org');
  assert.equal(line?.status, 'delivered');
  assert.equal(line?.dsn, '2.0.0');
});

test('4xx defers and the retry delivers; the event log shows both attempts', async (t) => {
  const w = await world(t);
  const s = await startTestSmarthost(t, env(w));
  const id = await submit(s.ports.submission, { to: ['x@flaky.test'] });
  await waitFor('retry delivery', async () => (await statusOf(s, id))['x@flaky.test'] === 'delivered', 15_000);
  const events = (await s.store.listEvents(id)).map((e) => [e.type, e.reply?.code, e.attempt]);
  assert.deepEqual(events, [['queued', undefined, undefined], ['deferred', 451, 1], ['delivered', 250, 2]]);
  // Every deferral and bounce carries its explained category (doctor/explain.ts).
  assert.equal((await s.store.listEvents(id)).find((e) => e.type === 'deferred')?.category, 'greylist');
  assert.equal(w.flaky.messages.length, 1);
});

test('5xx bounces one recipient, delivers the other, sends one DSN to the sender and suppresses the address', async (t) => {
  const w = await world(t);
  const s = await startTestSmarthost(t, env(w));
  const id = await submit(s.ports.submission, { to: ['unknown@reject.test', 'known@reject.test'] });
  await waitFor('outcomes', async () => {
    const st = await statusOf(s, id);
    return st['unknown@reject.test'] === 'bounced' && st['known@reject.test'] === 'delivered';
  });
  const dsn = await waitFor('DSN at the sender MX', () => w.senderMx.messages[0]);
  assert.equal(dsn.from, '', 'a DSN must come from the null sender');
  assert.deepEqual(dsn.to, ['app@example.com']);
  const text = dsn.raw.toString();
  assert.match(text, /Content-Type: multipart\/report; report-type=delivery-status/);
  assert.match(text, /Final-Recipient: rfc822; ?unknown@reject\.test/);
  assert.match(text, /Action: failed/);
  assert.match(text, /Status: 5\.1\.1/);
  assert.match(text, /Diagnostic-Code: smtp; ?550 5\.1\.1 No such user/);
  assert.doesNotMatch(text, /Final-Recipient: rfc822; ?known@/);
  assert.deepEqual((await s.store.listSuppressions()).map((x) => x.address), ['unknown@reject.test']);
  assert.equal((await s.store.listEvents(id)).find((e) => e.type === 'bounced')?.category, 'mailbox');

  // Later mail to the suppressed address is accepted, recorded as suppressed, and never attempted.
  const before = w.reject.connections;
  const id2 = await submit(s.ports.submission, { to: ['unknown@reject.test'] });
  assert.deepEqual(await statusOf(s, id2), { 'unknown@reject.test': 'suppressed' });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(w.reject.connections, before);
  assert.equal(w.senderMx.messages.length, 1, 'a DSN for a bounce report must never loop');
});

test('null MX bounces at once with 5.1.10; no DSN for a null sender', async (t) => {
  const w = await world(t);
  const s = await startTestSmarthost(t, { ...env(w), SMARTHOST_TRUSTED_NETWORKS: '127.0.0.1/32' });
  const id = await submit(s.ports.submission, { to: ['a@nullmx.test'] });
  await waitFor('bounce', async () => (await statusOf(s, id))['a@nullmx.test'] === 'bounced');
  const bounce = (await s.store.listEvents(id)).find((e) => e.type === 'bounced');
  assert.equal(bounce?.reply?.enhanced, '5.1.10');
  assert.equal((await s.store.listSuppressions()).length, 0, 'a DNS verdict must not suppress the address');
  await waitFor('DSN', () => w.senderMx.messages[0]);

  const nodemailer = (await import('nodemailer')).default;
  const trusted = nodemailer.createTransport({ host: '127.0.0.1', port: s.ports.alt, ignoreTLS: true });
  t.after(() => trusted.close());
  const info = await trusted.sendMail({ envelope: { from: '', to: ['b@nullmx.test'] }, raw: 'From: MAILER-DAEMON@example.net\r\nSubject: bounce\r\n\r\nx\r\n' });
  const id2 = /queued as (\w{26})/.exec(info.response)![1]!;
  await waitFor('second bounce', async () => (await statusOf(s, id2))['b@nullmx.test'] === 'bounced');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(w.senderMx.messages.length, 1, 'a message from <> must not get a DSN');
});

test('a recipient that keeps deferring expires after the queue lifetime, with a DSN', async (t) => {
  const w = await world(t);
  const always = await startFakeMx({ host: '127.0.0.6', port: w.accept.port, behaviour: () => ({ code: 452, text: '4.2.2 Mailbox full' }) }, t);
  const dns = await startDnsServer({
    'full.test': { a: ['127.0.0.6'] }, 'example.com': { mx: [{ exchange: 'mx.example.com', priority: 10 }] }, 'mx.example.com': { a: ['127.0.0.5'] },
  }, t);
  const s = await startTestSmarthost(t, { ...env(w), SMARTHOST_DNS_SERVERS: dns.server, SMARTHOST_MAX_QUEUE_LIFETIME: '2s' });
  const id = await submit(s.ports.submission, { to: ['a@full.test'] });
  await waitFor('expiry', async () => (await statusOf(s, id))['a@full.test'] === 'expired', 15_000);
  assert.ok(always.transactions >= 2, 'retried before expiring');
  const dsn = await waitFor('DSN', () => w.senderMx.messages[0]);
  assert.match(dsn.raw.toString(), /Status: 4\.4\.7/);
  assert.match(dsn.raw.toString(), /Diagnostic-Code: smtp; ?452 4\.2\.2 Mailbox full/);
  assert.equal((await s.store.listSuppressions()).length, 0, 'an expiry is not a hard bounce');
});

test('SMARTHOST_RELAY_URL sends everything through the upstream with STARTTLS and AUTH, in one session per message', async (t) => {
  const upstream = await startFakeMx({ host: '127.0.0.7', tls: true, auth: { user: 'relayuser', pass: 'p@ss:word' } }, t);
  const s = await startTestSmarthost(t, {
    SMARTHOST_RELAY_URL: `smtp://relayuser:${encodeURIComponent('p@ss:word')}@127.0.0.7:${upstream.port}`,
    // The test upstream's certificate is self-signed.
    SMARTHOST_RELAY_TLS_VERIFY: 'false',
  });
  const id = await submit(s.ports.submission, { to: ['a@example.org', 'b@elsewhere.test'] });
  await waitFor('relay delivery', async () => Object.values(await statusOf(s, id)).every((x) => x === 'delivered'));
  assert.equal(upstream.messages.length, 1);
  assert.deepEqual(upstream.messages[0]!.to.sort(), ['a@example.org', 'b@elsewhere.test']);
  assert.equal(upstream.messages[0]!.secure, true);
  const ev = (await s.store.listEvents(id)).find((e) => e.type === 'delivered');
  assert.equal(ev?.route, 'relay');
});

test('a wrong upstream password defers (our configuration problem), it does not bounce', async (t) => {
  const upstream = await startFakeMx({ host: '127.0.0.7', tls: true, auth: { user: 'relayuser', pass: 'right' } }, t);
  const s = await startTestSmarthost(t, {
    SMARTHOST_RELAY_URL: `smtp://relayuser:wrong@127.0.0.7:${upstream.port}`, SMARTHOST_RELAY_TLS_VERIFY: 'false',
  });
  const id = await submit(s.ports.submission, { to: ['a@example.org'] });
  await waitFor('deferral', async () => (await statusOf(s, id))['a@example.org'] === 'deferred');
  const ev = (await s.store.listEvents(id)).find((e) => e.type === 'deferred');
  assert.equal(ev?.reply?.code, 454);
  assert.equal(upstream.messages.length, 0);
});
