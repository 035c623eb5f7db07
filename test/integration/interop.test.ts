// Interoperability with other mail software over loopback: swaks submits,
// openssl s_client inspects the TLS side, Postfix's smtp-sink is the recipient
// MX. Each program runs as its own process; smarthost runs in-process.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startDnsServer, type DnsRecords } from '../helpers/dns-server.ts';
import { startTestSmarthost, TEST_PASSWORD, TEST_USER, type TestSmarthost } from '../helpers/smarthost.ts';
import { authPlain, RawSmtp } from '../helpers/smtp-client.ts';
import { requireProgram, run, skipWithout, type RunResult } from '../helpers/run.ts';
import { startSmtpSink, type SinkMessage, type SmtpSink } from '../helpers/smtp-sink.ts';

const ULID = /[0-9A-HJKMNP-TV-Z]{26}/;
const QUEUED = new RegExp(`^<~  250 2\\.0\\.0 Ok: queued as (${ULID.source})$`, 'm');

const zone: DnsRecords = {
  'example.org': { mx: [{ exchange: 'mx.example.org', priority: 10 }] },
  'mx.example.org': { a: ['127.0.0.2'] },
  'example.net': { mx: [{ exchange: 'mx.example.net', priority: 10 }] },
  'mx.example.net': { a: ['127.0.0.3'] },
};

interface Rig {
  relay: TestSmarthost;
  /** smtp-sink on 127.0.0.2, the MX of example.org. */
  sink: SmtpSink;
}

/** smtp-sink as example.org's MX, the test DNS server, and smarthost delivering to them. */
async function rig(t: TestContext): Promise<Rig> {
  const sink = await startSmtpSink('127.0.0.2', t);
  const dns = await startDnsServer(zone, t);
  const relay = await startTestSmarthost(t, {
    SMARTHOST_DNS_SERVERS: dns.server,
    SMARTHOST_MX_PORT: String(sink.port),
    SMARTHOST_RETRY_INITIAL: '1s',
    SMARTHOST_CONNECT_TIMEOUT: '2s',
    SMARTHOST_REPLY_TIMEOUT: '5s',
  });
  return { relay, sink };
}

/** swaks's transcript: what it sent and read on stdout, its own errors (`***`) on stderr. */
async function swaks(args: string[]): Promise<RunResult & { transcript: string }> {
  const r = await run(requireProgram('swaks'), ['--helo', 'client.test', '--from', 'app@example.com', ...args], { timeoutMs: 10_000 });
  assert.ok(!r.timedOut, `swaks timed out:\n${r.stdout}${r.stderr}`);
  return { ...r, transcript: r.stdout + r.stderr };
}

const credentials = ['--auth-user', TEST_USER, '--auth-password', TEST_PASSWORD];

function queuedId(transcript: string): string {
  const m = QUEUED.exec(transcript);
  assert.ok(m, `no "<~  250 2.0.0 Ok: queued as <ULID>" after DATA:\n${transcript}`);
  return m[1]!;
}

/** Polls the store every 50 ms until no recipient of the message is pending (10 s at most). */
async function settled(relay: TestSmarthost, id: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const summary = await relay.store.getMessageSummary(id);
    if (summary && summary.recipients.every((r) => r.status !== 'queued' && r.status !== 'deferred')) return summary;
    if (Date.now() > deadline) assert.fail(`message ${id} still pending after 10 s: ${JSON.stringify(summary?.recipients)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function sinkCopy(sink: SmtpSink, id: string): SinkMessage {
  const found = sink.messages().filter((m) => m.data.includes(` id ${id}`));
  assert.equal(found.length, 1, `smtp-sink ${sink.host} holds ${found.length} copies of ${id}\n${sink.log()}`);
  return found[0]!;
}

/** Submits with swaks, then follows the message to smtp-sink and through the store. */
async function submitAndFollow(t: TestContext, transport: string[], authType: 'PLAIN' | 'LOGIN', body: string) {
  const { relay, sink } = await rig(t);
  const port = transport.includes('--tls-on-connect') ? relay.ports.smtps : relay.ports.submission;
  const out = await swaks([
    '--server', `127.0.0.1:${port}`, ...transport, '--auth', authType, ...credentials,
    '--to', 'rcpt@example.org', '--header', 'Subject: interop', '--body', body,
  ]);
  assert.equal(out.code, 0, out.transcript);
  // swaks marks lines read over TLS with `~`: the credentials only ever crossed TLS.
  assert.match(out.transcript, new RegExp(`^ ~> AUTH ${authType}`, 'm'));
  assert.match(out.transcript, /^<~  235 2\.7\.0 Authentication successful$/m);
  const id = queuedId(out.transcript);

  const summary = await settled(relay, id);
  assert.deepEqual(summary.recipients.map((r) => [r.address, r.status]), [['rcpt@example.org', 'delivered']]);
  const events = await relay.store.listEvents(id);
  const delivered = events.find((e) => e.type === 'delivered');
  assert.ok(delivered, JSON.stringify(events));
  assert.equal(delivered.relay, `mx.example.org[127.0.0.2]:${sink.port}`);
  assert.equal(delivered.route, 'mx');

  const [got] = await sink.waitForMessages(1);
  assert.equal(got!.mailArgs.replace(/ .*/, ''), '<app@example.com>');
  assert.deepEqual(got!.rcpts, ['rcpt@example.org']);
  assert.equal(got!.helo, 'relay.test');
  const copy = sinkCopy(sink, id);
  // Our trace header comes first, names the authenticated TLS submission (RFC 3848 ESMTPSA) and the one recipient.
  assert.match(copy.data, new RegExp(
    `^Received: from client\\.test \\(\\[127\\.0\\.0\\.1\\]\\)\\n\\tby relay\\.test \\(smarthost\\) with ESMTPSA id ${id}\\n` +
    `\\t\\(using TLSv1\\.[23][^)]*\\)\\n\\tfor <rcpt@example\\.org>;\\n\\t\\w{3}, `,
  ));
  assert.match(copy.data, /^Subject: interop$/m);
  assert.match(copy.data, new RegExp(`\\n\\n${body}\\n`));
  assert.equal(sink.connections, 1, sink.log());
  return { relay, sink, transcript: out.transcript };
}

test('swaks: STARTTLS on the submission port, AUTH PLAIN → queued, delivered to smtp-sink', { skip: skipWithout('swaks', 'smtp-sink') }, async (t) => {
  const { transcript } = await submitAndFollow(t, ['--tls'], 'PLAIN', 'Body over STARTTLS with AUTH PLAIN.');
  assert.match(transcript, /^<-  220 2\.0\.0 Ready to start TLS$/m);
  assert.match(transcript, /^=== TLS started with cipher TLSv1\.[23]/m);
});

test('swaks: STARTTLS on the submission port, AUTH LOGIN → queued, delivered to smtp-sink', { skip: skipWithout('swaks', 'smtp-sink') }, async (t) => {
  const { transcript } = await submitAndFollow(t, ['--tls'], 'LOGIN', 'Body over STARTTLS with AUTH LOGIN.');
  // RFC 4954 LOGIN: two 334 challenges (base64 "Username:" and "Password:").
  assert.match(transcript, /^<~  334 VXNlcm5hbWU6$/m);
  assert.match(transcript, /^<~  334 UGFzc3dvcmQ6$/m);
});

test('swaks: implicit TLS on the smtps port, AUTH PLAIN → queued, delivered to smtp-sink', { skip: skipWithout('swaks', 'smtp-sink') }, async (t) => {
  const { transcript } = await submitAndFollow(t, ['--tls-on-connect'], 'PLAIN', 'Body over implicit TLS.');
  assert.doesNotMatch(transcript, /STARTTLS/);
  // The greeting itself already came over TLS (RFC 8314 §3.3).
  assert.match(transcript, /^<~  220 relay\.test ESMTP/m);
});

test('swaks: a wrong password gets 535 5.7.8 and nothing is queued', { skip: skipWithout('swaks') }, async (t) => {
  const relay = await startTestSmarthost(t, { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9' });
  const out = await swaks([
    '--server', `127.0.0.1:${relay.ports.submission}`, '--tls', '--auth', 'PLAIN',
    '--auth-user', TEST_USER, '--auth-password', 'not the password', '--to', 'rcpt@example.org',
  ]);
  assert.notEqual(out.code, 0, out.transcript);
  assert.equal(out.code, 28, `swaks exit 28 = error in AUTH transaction\n${out.transcript}`);
  assert.match(out.transcript, /^<~\* 535 5\.7\.8 /m);
  assert.doesNotMatch(out.transcript, /MAIL FROM/);
  assert.equal(await relay.store.countPending(), 0);
});

test('no AUTH in clear: swaks will not send it unadvertised; a client that does gets 530 5.7.0', { skip: skipWithout('swaks') }, async (t) => {
  const relay = await startTestSmarthost(t, { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9' });
  const server = ['--server', `127.0.0.1:${relay.ports.submission}`, '--to', 'rcpt@example.org'];
  // swaks only sends AUTH when EHLO advertised it, and smarthost does not before STARTTLS:
  // `--auth PLAIN` without `--tls` gives up before any credential leaves the client.
  const required = await swaks([...server, '--auth', 'PLAIN', ...credentials]);
  assert.equal(required.code, 28, required.transcript);
  assert.match(required.transcript, /^\*\*\* Host did not advertise authentication$/m);
  assert.doesNotMatch(required.transcript, /-> AUTH/);
  // `--auth-optional` carries on without AUTH, like an app set to "authenticate if offered": refused at MAIL.
  const optional = await swaks([...server, '--auth-optional', 'PLAIN', ...credentials]);
  assert.equal(optional.code, 23, `swaks exit 23 = error in MAIL transaction\n${optional.transcript}`);
  assert.doesNotMatch(optional.transcript, /-> AUTH/);
  assert.match(optional.transcript, /^<\*\* 530 5\.7\.0 Authentication required; /m);
  // No swaks invocation sends AUTH unadvertised, so speak it directly.
  const c = await RawSmtp.connect(relay.ports.submission);
  t.after(() => c.close());
  assert.equal((await c.read()).code, 220);
  assert.equal((await c.cmd('EHLO client.test')).code, 250);
  assert.equal((await c.cmd(`AUTH PLAIN ${authPlain(TEST_USER, TEST_PASSWORD)}`)).last, '530 5.7.0 Must issue a STARTTLS command first');
  assert.equal((await c.cmd('AUTH LOGIN')).last, '530 5.7.0 Must issue a STARTTLS command first');
  assert.equal(await relay.store.countPending(), 0);
});

test('openssl s_client: AUTH PLAIN LOGIN only after STARTTLS; implicit TLS is TLS 1.2+', { skip: skipWithout('openssl') }, async (t) => {
  const openssl = requireProgram('openssl');
  const relay = await startTestSmarthost(t, { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9' });

  // In clear: the same server offers STARTTLS and no AUTH.
  const c = await RawSmtp.connect(relay.ports.submission);
  t.after(() => c.close());
  assert.equal((await c.read()).code, 220);
  const plainCaps = (await c.cmd('EHLO client.test')).lines.map((l) => l.slice(4));
  assert.ok(plainCaps.includes('STARTTLS'), plainCaps.join('|'));
  assert.ok(!plainCaps.some((cap) => /^AUTH\b/i.test(cap)), `AUTH before TLS: ${plainCaps.join('|')}`);
  c.close();

  // openssl says EHLO, STARTTLS and handshakes itself (its pre-TLS dialogue is not printed on stdout);
  // what we type then goes over TLS: -crlf turns our \n into CRLF, -quiet waits for the server to close after QUIT.
  const starttls = await run(openssl, [
    's_client', '-starttls', 'smtp', '-connect', `127.0.0.1:${relay.ports.submission}`, '-crlf', '-quiet',
  ], { input: 'EHLO client.test\nQUIT\n', timeoutMs: 10_000 });
  assert.equal(starttls.code, 0, starttls.stdout + starttls.stderr);
  const tlsCaps = starttls.stdout.split(/\r?\n/).filter((l) => /^250[- ]/.test(l)).map((l) => l.slice(4));
  assert.ok(tlsCaps.includes('AUTH PLAIN LOGIN'), starttls.stdout);
  assert.ok(!tlsCaps.includes('STARTTLS'), 'STARTTLS offered again inside TLS');
  assert.match(starttls.stdout, /^221 2\.0\.0 /m);

  // Implicit TLS: handshake first, then the greeting; a client must wait for it
  // (smtp-server answers early talkers with 421), so EHLO is sent once 220 shows.
  const smtps = await run(openssl, [
    's_client', '-connect', `127.0.0.1:${relay.ports.smtps}`, '-crlf', '-brief', '-ign_eof',
  ], { input: [{ after: /^220 /m, send: 'EHLO client.test\nQUIT\n' }], timeoutMs: 10_000 });
  assert.equal(smtps.code, 0, smtps.stdout + smtps.stderr);
  assert.match(smtps.stderr, /^CONNECTION ESTABLISHED$/m);
  assert.match(smtps.stderr, /^Protocol version: TLSv1\.[23]$/m);
  assert.match(smtps.stdout, /^220 relay\.test ESMTP /m);
  assert.match(smtps.stdout, /^250-AUTH PLAIN LOGIN\r?$/m);
  assert.match(smtps.stdout, /^221 2\.0\.0 /m);

  // TLS 1.2 on request; TLS 1.1 refused by the server (an alert, not a client-side refusal).
  const tls12 = await run(openssl, ['s_client', '-connect', `127.0.0.1:${relay.ports.smtps}`, '-brief', '-tls1_2'], { timeoutMs: 10_000 });
  assert.match(tls12.stderr, /^Protocol version: TLSv1\.2$/m, tls12.stderr);
  const tls11 = await run(openssl, [
    's_client', '-connect', `127.0.0.1:${relay.ports.smtps}`, '-brief', '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0',
  ], { timeoutMs: 10_000 });
  assert.notEqual(tls11.code, 0, tls11.stderr);
  assert.doesNotMatch(tls11.stderr, /CONNECTION ESTABLISHED/);
  assert.match(tls11.stderr, /alert/i, tls11.stderr);
});

test('swaks: recipients in two domains → one connection per domain MX (smtp-sink on 127.0.0.2 and .3)', { skip: skipWithout('swaks', 'smtp-sink') }, async (t) => {
  const { relay, sink } = await rig(t);
  // Every MX shares SMARTHOST_MX_PORT: the second sink listens on the first one's port.
  const sinkNet = await startSmtpSink('127.0.0.3', t, { port: sink.port });
  const rcpts = ['a@example.org', 'b@example.org', 'c@example.net', 'd@example.net', 'e@example.org'];
  const out = await swaks([
    '--server', `127.0.0.1:${relay.ports.submission}`, '--tls', '--auth', 'PLAIN', ...credentials,
    '--to', rcpts.join(','), '--header', 'Subject: two domains', '--body', 'One message, two domains.',
  ]);
  assert.equal(out.code, 0, out.transcript);
  const id = queuedId(out.transcript);

  const summary = await settled(relay, id);
  assert.deepEqual(
    summary.recipients.map((r) => [r.address, r.status]).sort(),
    rcpts.map((r) => [r, 'delivered']).sort(),
  );
  const delivered = (await relay.store.listEvents(id)).filter((e) => e.type === 'delivered');
  assert.equal(delivered.length, rcpts.length);
  for (const e of delivered) {
    const expected = e.recipient!.endsWith('@example.org')
      ? `mx.example.org[127.0.0.2]:${sink.port}`
      : `mx.example.net[127.0.0.3]:${sink.port}`;
    assert.equal(e.relay, expected, e.recipient!);
  }

  const [org] = await sink.waitForMessages(1);
  const [net] = await sinkNet.waitForMessages(1);
  assert.deepEqual([...org!.rcpts].sort(), ['a@example.org', 'b@example.org', 'e@example.org']);
  assert.deepEqual([...net!.rcpts].sort(), ['c@example.net', 'd@example.net']);
  for (const copy of [sinkCopy(sink, id), sinkCopy(sinkNet, id)]) {
    // Several recipients: the trace header must not name one (they may be Bcc).
    assert.match(copy.data, new RegExp(`^Received: from client\\.test .*\\n\\tby relay\\.test \\(smarthost\\) with ESMTPSA id ${id}\\n`));
    assert.doesNotMatch(copy.data.split('\n\n')[0]!, /\tfor </);
    assert.match(copy.data, /\n\nOne message, two domains\.\n/);
  }
  assert.equal(sink.messages().length, 1);
  assert.equal(sinkNet.messages().length, 1);
  assert.equal(sink.connections, 1, sink.log());
  assert.equal(sinkNet.connections, 1, sinkNet.log());
});
