// The relay transport against a real upstream (smtp-server) on loopback:
// STARTTLS or implicit TLS, AUTH with URL credentials, and what failures become.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OutboundMessage, RecipientOutcome } from '../../src/delivery/outcome.ts';
import { createRelayTransport } from '../../src/delivery/transports/relay/relay-transport.ts';
import { startFakeMx } from '../helpers/fake-mx.ts';

const RAW = Buffer.from('From: app@sender.test\r\nTo: you@example.org\r\nSubject: relayed\r\n\r\nHello.\r\n');
const msg: OutboundMessage = { id: 'm1', sender: 'app@sender.test', raw: RAW };
// Percent-encoded in the URL: the user is an address and the password has ':' and '@'.
const creds = { user: 'app@sender.test', pass: 'p@ss:w/rd' };
const userinfo = `${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.pass)}`;
const timeouts = { hostname: 'smarthost.test', connectTimeout: 2000, replyTimeout: 2000 };
const live = () => AbortSignal.timeout(10_000);

function brief(o: RecipientOutcome) {
  return { rcpt: o.rcpt, kind: o.kind, code: o.reply.code, enhanced: o.reply.enhanced };
}

test('smtp:// — STARTTLS, then AUTH with percent-decoded credentials, then delivery', async (t) => {
  const relay = await startFakeMx({ host: '127.0.0.2', tls: true, auth: creds }, t);
  const transport = createRelayTransport({
    url: new URL(`smtp://${userinfo}@127.0.0.2:${relay.port}`), ...timeouts, tlsRejectUnauthorized: false,
  });
  assert.equal(transport.name, 'relay');
  const outcomes = await transport.send(msg, ['you@example.org', 'them@example.net'], live());
  const o = outcomes[0];
  assert.deepEqual(outcomes.map(brief), [
    { rcpt: 'you@example.org', kind: 'delivered', code: 250, enhanced: '2.0.0' },
    { rcpt: 'them@example.net', kind: 'delivered', code: 250, enhanced: '2.0.0' },
  ]);
  assert.match(o!.tls ?? '', /^TLSv1\.[23]$/);
  assert.equal(o!.relay, `127.0.0.2[127.0.0.2]:${relay.port}`);
  assert.equal(relay.connections, 1);
  assert.deepEqual(relay.messages[0]!.raw, RAW);
  assert.equal(relay.messages[0]!.secure, true);
});

test('smtps:// — implicit TLS; a wrong password defers 454 4.7.8 instead of bouncing', async (t) => {
  const relay = await startFakeMx({ host: '127.0.0.2', secure: true, auth: creds }, t);
  const url = (pass: string) => new URL(`smtps://${encodeURIComponent(creds.user)}:${pass}@127.0.0.2:${relay.port}`);
  const wrong = createRelayTransport({ url: url('nope'), ...timeouts, tlsRejectUnauthorized: false });
  const [o] = await wrong.send(msg, ['you@example.org'], live());
  // Our credentials are our configuration problem, not the recipient's: the mail
  // waits in the queue until the operator fixes the password.
  assert.deepEqual(brief(o!), { rcpt: 'you@example.org', kind: 'deferred', code: 454, enhanced: '4.7.8' });
  assert.match(o!.reply.text, /535 5\.7\.8/);
  assert.equal(relay.messages.length, 0);

  const right = createRelayTransport({ url: url(encodeURIComponent(creds.pass)), ...timeouts, tlsRejectUnauthorized: false });
  const [ok] = await right.send(msg, ['you@example.org'], live());
  assert.equal(ok!.kind, 'delivered');
  assert.match(ok!.tls ?? '', /^TLSv1\.[23]$/);
  assert.equal(relay.messages.length, 1);
});

test('smtp:// never falls back to plaintext: no STARTTLS offered → deferred 4.7.5, nothing sent', async (t) => {
  const relay = await startFakeMx({ host: '127.0.0.2', tls: false, auth: creds }, t);
  const transport = createRelayTransport({
    url: new URL(`smtp://${userinfo}@127.0.0.2:${relay.port}`), ...timeouts, tlsRejectUnauthorized: false,
  });
  const [o] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(o!), { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.7.5' });
  assert.equal(relay.connections, 1, 'no second, plaintext attempt');
  assert.equal(relay.messages.length, 0);
});

test('the relay certificate is verified by default (self-signed → deferred 4.7.5)', async (t) => {
  const relay = await startFakeMx({ host: '127.0.0.2', tls: true, auth: creds }, t);
  const transport = createRelayTransport({ url: new URL(`smtp://${userinfo}@127.0.0.2:${relay.port}`), ...timeouts });
  const [o] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(o!), { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.7.5' });
  assert.match(o!.reply.text, /self-signed certificate/);
  assert.equal(relay.messages.length, 0);
});

test('recipient refusals at the relay: 4xx deferred, 5xx bounced', async (t) => {
  const relay = await startFakeMx({
    host: '127.0.0.2', secure: true, auth: creds,
    behaviour: (rcpt) => (rcpt.startsWith('later') ? { code: 450, text: '4.2.0 Later' } : { code: 550, text: '5.1.1 Unknown' }),
  }, t);
  const transport = createRelayTransport({
    url: new URL(`smtps://${userinfo}@127.0.0.2:${relay.port}`), ...timeouts, tlsRejectUnauthorized: false,
  });
  assert.deepEqual((await transport.send(msg, ['later@example.org', 'gone@example.org'], live())).map(brief), [
    { rcpt: 'later@example.org', kind: 'deferred', code: 450, enhanced: '4.2.0' },
    { rcpt: 'gone@example.org', kind: 'bounced', code: 550, enhanced: '5.1.1' },
  ]);
});

test('a relay host name is resolved with the system resolver', async (t) => {
  const relay = await startFakeMx({ host: '127.0.0.1', secure: true, auth: creds }, t);
  const transport = createRelayTransport({
    url: new URL(`smtps://${userinfo}@localhost:${relay.port}`), ...timeouts, tlsRejectUnauthorized: false,
  });
  const [o] = await transport.send(msg, ['you@example.org'], live());
  assert.equal(o!.kind, 'delivered');
  assert.equal(o!.relay, `localhost[127.0.0.1]:${relay.port}`);
});

test('a relay URL with another scheme is a configuration error', () => {
  assert.throws(() => createRelayTransport({ url: new URL('http://relay.test'), ...timeouts }), /smtp:\/\/ or smtps:\/\//);
});
