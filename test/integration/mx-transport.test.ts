// The mx transport against real SMTP peers (smtp-server) and a real DNS server
// (dns2) on 127.0.0.x: what each kind of answer becomes for each recipient.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test, type TestContext } from 'node:test';
import type { OutboundMessage, RecipientOutcome } from '../../src/delivery/outcome.ts';
import { createMxTransport } from '../../src/delivery/transports/mx/mx-transport.ts';
import { startDnsServer, type DnsRecords } from '../helpers/dns-server.ts';
import { startFakeMx, startSilentServer } from '../helpers/fake-mx.ts';

const RAW = Buffer.from(
  'From: app@sender.test\r\nTo: user@example.org\r\nSubject: hello\r\n\r\nHello.\r\n.a line starting with a dot\r\n',
);
const msg = (raw = RAW): OutboundMessage => ({ id: 'm1', sender: 'app@sender.test', raw });

const zone: DnsRecords = {
  'example.org': { mx: [{ exchange: 'mx1.example.org', priority: 10 }, { exchange: 'mx2.example.org', priority: 20 }] },
  'mx1.example.org': { a: ['127.0.0.2'] },
  'mx2.example.org': { a: ['127.0.0.3'] },
  'nullmx.test': { mx: [{ exchange: '', priority: 0 }] },
  'fail.test': { servfail: true },
};

async function transportFor(t: TestContext, port: number, timeouts = { connectTimeout: 2000, replyTimeout: 2000 }, concurrency?: number) {
  const dns = await startDnsServer(zone, t);
  return createMxTransport({
    hostname: 'smarthost.test',
    dnsServers: [dns.server],
    port,
    ...timeouts,
    perDestinationConcurrency: concurrency,
  });
}

function only(outcomes: RecipientOutcome[]): RecipientOutcome {
  assert.equal(outcomes.length, 1);
  return outcomes[0]!;
}

function brief(o: RecipientOutcome) {
  return { rcpt: o.rcpt, kind: o.kind, code: o.reply.code, enhanced: o.reply.enhanced };
}

const live = () => AbortSignal.timeout(10_000);

test('accepted: delivered with the remote 250, bytes unchanged, relay label', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2' }, t);
  const transport = await transportFor(t, mx.port);
  const o = only(await transport.send(msg(), ['user@example.org'], live()));
  assert.deepEqual(brief(o), { rcpt: 'user@example.org', kind: 'delivered', code: 250, enhanced: '2.0.0' });
  assert.equal(o.relay, `mx1.example.org[127.0.0.2]:${mx.port}`);
  assert.equal(o.tls, undefined);
  assert.equal(mx.messages.length, 1);
  assert.deepEqual(mx.messages[0]!.raw, RAW);
  assert.equal(mx.messages[0]!.from, 'app@sender.test');
});

test('4xx to RCPT → deferred, 5xx → bounced, with the remote codes', async (t) => {
  const mx = await startFakeMx({
    host: '127.0.0.2',
    behaviour: (rcpt) =>
      rcpt.startsWith('later') ? { code: 451, text: '4.2.1 Mailbox busy' } : { code: 550, text: '5.1.1 No such user' },
  }, t);
  const transport = await transportFor(t, mx.port);
  assert.deepEqual(brief(only(await transport.send(msg(), ['later@example.org'], live()))),
    { rcpt: 'later@example.org', kind: 'deferred', code: 451, enhanced: '4.2.1' });
  const bounced = only(await transport.send(msg(), ['nobody@example.org'], live()));
  assert.deepEqual(brief(bounced), { rcpt: 'nobody@example.org', kind: 'bounced', code: 550, enhanced: '5.1.1' });
  assert.equal(bounced.reply.text, 'No such user');
  assert.equal(mx.messages.length, 0);
});

test('mixed recipients share ONE connection and ONE message', async (t) => {
  const mx = await startFakeMx({
    host: '127.0.0.2',
    behaviour: (rcpt) =>
      rcpt.startsWith('ok') ? { code: 250 }
        : rcpt.startsWith('later') ? { code: 452, text: '4.2.2 Mailbox full' }
          : { code: 550, text: '5.1.1 No such user' },
  }, t);
  const transport = await transportFor(t, mx.port);
  const outcomes = await transport.send(msg(), ['ok@example.org', 'later@example.org', 'gone@example.org'], live());
  assert.deepEqual(outcomes.map(brief), [
    { rcpt: 'ok@example.org', kind: 'delivered', code: 250, enhanced: '2.0.0' },
    { rcpt: 'later@example.org', kind: 'deferred', code: 452, enhanced: '4.2.2' },
    { rcpt: 'gone@example.org', kind: 'bounced', code: 550, enhanced: '5.1.1' },
  ]);
  assert.equal(mx.connections, 1);
  assert.equal(mx.messages.length, 1);
  assert.deepEqual(mx.messages[0]!.to, ['ok@example.org']);
});

test('5xx / 4xx at end of DATA apply to the accepted recipients; RCPT refusals keep theirs', async (t) => {
  const behaviour = (rcpt: string) => (rcpt.startsWith('gone') ? { code: 550, text: '5.1.1 No such user' } : { code: 250 });
  const bad = await startFakeMx({ host: '127.0.0.2', behaviour, dataReply: { code: 554, text: '5.7.1 Spam' } }, t);
  const transport = await transportFor(t, bad.port);
  assert.deepEqual((await transport.send(msg(), ['a@example.org', 'gone@example.org'], live())).map(brief), [
    { rcpt: 'a@example.org', kind: 'bounced', code: 554, enhanced: '5.7.1' },
    { rcpt: 'gone@example.org', kind: 'bounced', code: 550, enhanced: '5.1.1' },
  ]);
  await bad.close();
  const busy = await startFakeMx({ host: '127.0.0.2', port: bad.port, behaviour, dataReply: { code: 451, text: '4.3.0 Try later' } }, t);
  assert.deepEqual((await transport.send(msg(), ['a@example.org', 'gone@example.org'], live())).map(brief), [
    { rcpt: 'a@example.org', kind: 'deferred', code: 451, enhanced: '4.3.0' },
    { rcpt: 'gone@example.org', kind: 'bounced', code: 550, enhanced: '5.1.1' },
  ]);
  assert.equal(busy.connections, 1);
});

test('a message over the advertised SIZE is bounced 552 5.3.4 without sending it', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2', size: 16 }, t);
  const transport = await transportFor(t, mx.port);
  assert.deepEqual(brief(only(await transport.send(msg(), ['a@example.org'], live()))),
    { rcpt: 'a@example.org', kind: 'bounced', code: 552, enhanced: '5.3.4' });
  assert.equal(mx.messages.length, 0);
});

test('4xx / 5xx to MAIL FROM decide for every recipient (pipelined RCPTs ignored)', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2', mailReply: { code: 553, text: '5.7.1 Sender rejected' } }, t);
  const transport = await transportFor(t, mx.port);
  assert.deepEqual((await transport.send(msg(), ['a@example.org', 'b@example.org'], live())).map(brief), [
    { rcpt: 'a@example.org', kind: 'bounced', code: 553, enhanced: '5.7.1' },
    { rcpt: 'b@example.org', kind: 'bounced', code: 553, enhanced: '5.7.1' },
  ]);
  await mx.close();
  await startFakeMx({ host: '127.0.0.2', port: mx.port, mailReply: { code: 451, text: '4.7.1 Greylisted' } }, t);
  assert.deepEqual(brief(only(await transport.send(msg(), ['a@example.org'], live()))),
    { rcpt: 'a@example.org', kind: 'deferred', code: 451, enhanced: '4.7.1' });
});

test('first MX refuses the connection → the second MX delivers', async (t) => {
  const mx2 = await startFakeMx({ host: '127.0.0.3' }, t); // nothing listens on 127.0.0.2 at this port
  const transport = await transportFor(t, mx2.port);
  const o = only(await transport.send(msg(), ['user@example.org'], live()));
  assert.deepEqual(brief(o), { rcpt: 'user@example.org', kind: 'delivered', code: 250, enhanced: '2.0.0' });
  assert.equal(o.relay, `mx2.example.org[127.0.0.3]:${mx2.port}`);
});

test('every MX refuses → deferred 451 4.4.1 naming the last host', async (t) => {
  const probe = await startSilentServer('127.0.0.4', 0);
  await probe.close(); // a port known to be free
  const transport = await transportFor(t, probe.port);
  const o = only(await transport.send(msg(), ['user@example.org'], live()));
  assert.deepEqual(brief(o), { rcpt: 'user@example.org', kind: 'deferred', code: 451, enhanced: '4.4.1' });
  assert.equal(o.reply.text, `Connection refused by 127.0.0.3:${probe.port}`);
});

test('4xx greeting on the first MX → the second MX delivers', async (t) => {
  const mx1 = await startFakeMx({ host: '127.0.0.2', greeting: { code: 421, text: '4.7.0 Too busy' } }, t);
  const mx2 = await startFakeMx({ host: '127.0.0.3', port: mx1.port }, t);
  const transport = await transportFor(t, mx1.port);
  assert.equal(only(await transport.send(msg(), ['user@example.org'], live())).kind, 'delivered');
  assert.equal(mx1.connections, 1);
  assert.equal(mx2.messages.length, 1);
});

test('STARTTLS is used when offered and reported in the outcome', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2', tls: true }, t);
  const transport = await transportFor(t, mx.port);
  const o = only(await transport.send(msg(), ['user@example.org'], live()));
  assert.equal(o.kind, 'delivered');
  assert.match(o.tls ?? '', /^TLSv1\.[23]$/);
  assert.equal(mx.messages[0]!.secure, true);
});

test('failed TLS handshake → same host retried once in plaintext', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2', tls: 'broken' }, t);
  const transport = await transportFor(t, mx.port);
  const o = only(await transport.send(msg(), ['user@example.org'], live()));
  assert.equal(o.kind, 'delivered');
  assert.equal(o.tls, undefined);
  assert.equal(o.relay, `mx1.example.org[127.0.0.2]:${mx.port}`);
  assert.equal(mx.connections, 2);
  assert.equal(mx.messages[0]!.secure, false);
});

test('UTF-8 address to a peer without SMTPUTF8 → bounced 550 5.6.7; with it → delivered', async (t) => {
  const plain = await startFakeMx({ host: '127.0.0.2', hideSMTPUTF8: true }, t);
  const transport = await transportFor(t, plain.port);
  const o = only(await transport.send(msg(), ['üser@example.org'], live()));
  assert.deepEqual(brief(o), { rcpt: 'üser@example.org', kind: 'bounced', code: 550, enhanced: '5.6.7' });
  assert.equal(plain.messages.length, 0);
  await plain.close();
  const intl = await startFakeMx({ host: '127.0.0.2', port: plain.port }, t);
  assert.equal(only(await transport.send(msg(), ['üser@example.org'], live())).kind, 'delivered');
  assert.deepEqual(intl.messages[0]!.to, ['üser@example.org']);
});

test('8-bit body to a peer without 8BITMIME → bounced 554 5.6.3', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2', hide8BITMIME: true }, t);
  const transport = await transportFor(t, mx.port);
  const raw = Buffer.from('Subject: caf\xc3\xa9\r\n\r\ncaf\xc3\xa9\r\n', 'latin1');
  assert.deepEqual(brief(only(await transport.send(msg(raw), ['user@example.org'], live()))),
    { rcpt: 'user@example.org', kind: 'bounced', code: 554, enhanced: '5.6.3' });
  assert.equal(mx.messages.length, 0);
});

test('a peer that never greets → deferred 451 4.4.2 within the connect timeout', async (t) => {
  const silent = await startSilentServer('127.0.0.2', 0, t);
  await startSilentServer('127.0.0.3', silent.port, t);
  const transport = await transportFor(t, silent.port, { connectTimeout: 300, replyTimeout: 5000 });
  const started = Date.now();
  const o = only(await transport.send(msg(), ['user@example.org'], live()));
  const elapsed = Date.now() - started;
  assert.deepEqual(brief(o), { rcpt: 'user@example.org', kind: 'deferred', code: 451, enhanced: '4.4.2' });
  assert.ok(elapsed < 2 * 300 + 500, `two MX hosts × 300 ms, took ${elapsed} ms`);
});

test('a peer that hangs up after the greeting → deferred, no crash', async (t) => {
  const rude = createServer((socket) => {
    socket.on('error', () => {});
    socket.write('220 rude.test ESMTP\r\n');
    socket.once('data', () => socket.end('garbage\r\n'));
  });
  await new Promise<void>((resolve) => rude.listen(0, '127.0.0.2', resolve));
  t.after(() => new Promise<void>((resolve) => rude.close(() => resolve())));
  const port = (rude.address() as { port: number }).port;
  const transport = await transportFor(t, port);
  const o = only(await transport.send(msg(), ['user@example.org'], live()));
  assert.equal(o.kind, 'deferred');
  assert.equal(o.reply.code, 451);
});

test('DNS answers: null MX bounces 556 5.1.10, NXDOMAIN 550 5.1.2, SERVFAIL defers 451 4.4.3', async (t) => {
  const transport = await transportFor(t, 1);
  const [nullMx, nx, fail] = await Promise.all(
    ['a@nullmx.test', 'a@nowhere.test', 'a@fail.test'].map(async (r) => only(await transport.send(msg(), [r], live()))),
  );
  assert.deepEqual(brief(nullMx!), { rcpt: 'a@nullmx.test', kind: 'bounced', code: 556, enhanced: '5.1.10' });
  assert.deepEqual(brief(nx!), { rcpt: 'a@nowhere.test', kind: 'bounced', code: 550, enhanced: '5.1.2' });
  assert.deepEqual(brief(fail!), { rcpt: 'a@fail.test', kind: 'deferred', code: 451, enhanced: '4.4.3' });
});

test('domain literal recipient goes straight to that address', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.5' }, t);
  const transport = await transportFor(t, mx.port);
  const o = only(await transport.send(msg(), ['user@[127.0.0.5]'], live()));
  assert.equal(o.kind, 'delivered');
  assert.equal(o.relay, `127.0.0.5[127.0.0.5]:${mx.port}`);
});

test('per-destination concurrency: a second session waits; aborting it while waiting defers it', async (t) => {
  const silent = await startSilentServer('127.0.0.2', 0, t);
  await startSilentServer('127.0.0.3', silent.port, t);
  const transport = await transportFor(t, silent.port, { connectTimeout: 600, replyTimeout: 5000 }, 1);
  const first = transport.send(msg(), ['a@example.org'], live());
  const second = await transport.send(msg(), ['b@example.org'], AbortSignal.timeout(150));
  assert.deepEqual(brief(only(second)), { rcpt: 'b@example.org', kind: 'deferred', code: 451, enhanced: '4.3.0' });
  assert.equal(silent.connections, 1, 'the waiting send never connected');
  assert.equal(only(await first).kind, 'deferred');
});
