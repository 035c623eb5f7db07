// The Resend transport against a local HTTPS stand-in that checks the documented
// request (Bearer key, JSON body, Idempotency-Key) and answers success, 429,
// 500, a validation error and a refused key.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import type { OutboundMessage, RecipientOutcome } from '../../src/delivery/outcome.ts';
import { createProviderTransport } from '../../src/delivery/transports/providers/index.ts';
import { answers, startFakeProvider } from '../helpers/fake-providers.ts';
import { testPki } from '../helpers/pki.ts';

const RAW = Buffer.from([
  'From: App <app@sender.test>',
  'To: You <you@example.org>',
  'Cc: cc@example.org',
  'Subject: Hello',
  'Message-ID: <m1@sender.test>',
  'DKIM-Signature: v=1; a=rsa-sha256; d=sender.test; s=s1; b=abc',
  '',
  'Hi there.',
  '',
].join('\r\n'));
const msg: OutboundMessage = { id: 'msg-1', sender: 'app@sender.test', raw: RAW };
const RCPTS = ['you@example.org', 'cc@example.org', 'hidden@example.net'];
const live = () => AbortSignal.timeout(10_000);
const brief = (o: RecipientOutcome) => ({
  rcpt: o.rcpt, kind: o.kind, code: o.reply.code, enhanced: o.reply.enhanced,
  ...(o.kind === 'deferred' && o.retryAfterSec !== undefined && { retryAfterSec: o.retryAfterSec }),
});

async function setup(t: import('node:test').TestContext, key = 're_test_key') {
  const fake = await startFakeProvider('resend', t, { key: 're_test_key' });
  const transport = createProviderTransport('resend', { apiKey: key, apiUrl: new URL(fake.url) }, { ca: fake.ca, timeoutMs: 5000 });
  t.after(() => transport.close?.());
  return { fake, transport };
}

test('Resend: one call with to/cc/bcc from the envelope, Idempotency-Key, delivered with the provider id', async (t) => {
  const { fake, transport } = await setup(t);
  assert.equal(transport.name, 'resend');
  fake.queue({ status: 200, body: { id: '49a3999c-0ce1-4ea6-ab68-afcd6dc2e794' } });
  const outcomes = await transport.send(msg, RCPTS, live());
  assert.deepEqual(fake.problems, []);
  assert.equal(fake.requests.length, 1);
  const req = fake.requests[0]!;
  assert.equal(req.headers.authorization, 'Bearer re_test_key');
  const key = createHash('sha256').update('msg-1\ncc@example.org,hidden@example.net,you@example.org\nresend').digest('hex');
  assert.equal(req.headers['idempotency-key'], key);
  assert.deepEqual(req.json, {
    from: 'App <app@sender.test>',
    to: ['You <you@example.org>'],
    cc: ['cc@example.org'],
    bcc: ['hidden@example.net'],
    subject: 'Hello',
    text: 'Hi there.\n',
    headers: { 'Message-ID': '<m1@sender.test>' },
  });
  for (const o of outcomes) {
    assert.equal(o.kind, 'delivered');
    assert.equal(o.reply.code, 250);
    assert.equal(o.reply.enhanced, '2.0.0');
    assert.equal(o.reply.text, 'Accepted by Resend as 49a3999c-0ce1-4ea6-ab68-afcd6dc2e794');
    assert.equal(o.providerMessageId, '49a3999c-0ce1-4ea6-ab68-afcd6dc2e794');
    assert.equal(o.relay, `resend (${new URL(fake.url).host})`);
    assert.match(o.tls ?? '', /^TLSv1\.[23]$/);
  }
  assert.deepEqual(outcomes.map((o) => o.rcpt), RCPTS);

  // The same delivery again (a retry after a crash) carries the same key, so Resend sends once.
  await transport.send(msg, [...RCPTS].reverse(), live());
  assert.equal(fake.requests[1]!.headers['idempotency-key'], key);
});

test('Resend: 429 defers 451 4.7.0 with Retry-After (seconds or HTTP date); 500 defers 451 4.3.0', async (t) => {
  const { fake, transport } = await setup(t);
  fake.queue(answers.throttle('resend', '30'));
  const [a] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(a!), { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.7.0', retryAfterSec: 30 });
  assert.equal(a!.reply.text, 'Resend rate limit (HTTP 429): rate limit exceeded');

  fake.queue(answers.throttle('resend', new Date(Date.now() + 120_000).toUTCString()));
  const [b] = await transport.send(msg, ['you@example.org'], live());
  assert.equal(b!.kind, 'deferred');
  assert.ok(b!.kind === 'deferred' && b!.retryAfterSec! > 100 && b!.retryAfterSec! <= 120, `retryAfterSec ${JSON.stringify(b)}`);

  fake.queue(answers.serverError('resend'));
  const [c] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(c!), { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.3.0' });
  assert.equal(c!.reply.text, 'Resend API error (HTTP 500): internal server error');
  assert.equal(c!.providerMessageId, undefined);
});

test('Resend: an invalid recipient bounces 5.1.1, an unverified domain (403) defers 4.7.1, a bad From bounces 5.1.7', async (t) => {
  const { fake, transport } = await setup(t);
  const invalidTo = 'Invalid `to` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.';
  fake.queue({ status: 422, body: { statusCode: 422, name: 'validation_error', message: invalidTo } });
  const [a] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(a!), { rcpt: 'you@example.org', kind: 'bounced', code: 550, enhanced: '5.1.1' });
  assert.equal(a!.reply.text, `Resend refused the recipient (HTTP 422): ${invalidTo}`);

  const unverified = 'The sender.test domain is not verified. Please, add and verify your domain on https://resend.com/domains';
  fake.queue({ status: 403, body: { statusCode: 403, name: 'validation_error', message: unverified } });
  const [b] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(b!), { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.7.1' });
  assert.equal(b!.reply.text, `Resend refused to send for this account (HTTP 403): ${unverified}`);

  fake.queue({ status: 422, body: { statusCode: 422, name: 'invalid_from_address', message: 'Invalid `from` field.' } });
  const [c] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(c!), { rcpt: 'you@example.org', kind: 'bounced', code: 553, enhanced: '5.1.7' });

  fake.queue({ status: 422, body: { statusCode: 422, name: 'invalid_attachment', message: 'Attachment must have either a content or path.' } });
  const [d] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(d!), { rcpt: 'you@example.org', kind: 'bounced', code: 554, enhanced: '5.6.0' });
  assert.deepEqual(fake.problems, []);
});

test('Resend: a refused key defers 454 4.7.8 (our problem, never the recipient’s); check says so too', async (t) => {
  const { fake, transport } = await setup(t, 're_wrong');
  const [a] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(a!), { rcpt: 'you@example.org', kind: 'deferred', code: 454, enhanced: '4.7.8' });
  assert.equal(a!.reply.text, 'The Resend API key was refused (HTTP 403: API key is invalid)');
  assert.equal(fake.requests.length, 0);
  assert.deepEqual(await transport.check!(live()), { ok: false, detail: 'the Resend API key was refused (HTTP 403: API key is invalid)' });

  const good = await setup(t);
  assert.deepEqual(await good.transport.check!(live()), { ok: true, detail: 'API key accepted (domains: example.com verified)' });
  // The send endpoint answers a deleted key with 401 validation_error: still the key, not the message.
  good.fake.queue({ status: 401, body: { statusCode: 401, name: 'validation_error', message: 'API key is invalid' } });
  assert.deepEqual(brief((await good.transport.send(msg, ['you@example.org'], live()))[0]!),
    { rcpt: 'you@example.org', kind: 'deferred', code: 454, enhanced: '4.7.8' });
});

test('Resend: no answer — refused connection 4.4.1, a silent server times out 4.4.2, an aborted attempt 4.3.0, an unknown CA 4.7.5', async (t) => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as import('node:net').AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const refused = createProviderTransport('resend', { apiKey: 'k', apiUrl: new URL(`https://127.0.0.1:${port}`) }, { timeoutMs: 5000 });
  const [a] = await refused.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(a!), { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.4.1' });
  assert.equal(a!.relay, `resend (127.0.0.1:${port})`);

  // A TLS server that accepts the request and never answers.
  const { cert, key } = testPki().issue({ cn: 'localhost', san: ['IP:127.0.0.1'] });
  const silent = createTlsServer({ cert, key }, (s) => s.on('data', () => {}));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => silent.close());
  const silentUrl = new URL(`https://127.0.0.1:${(silent.address() as import('node:net').AddressInfo).port}`);
  const slow = createProviderTransport('resend', { apiKey: 'k', apiUrl: silentUrl }, { timeoutMs: 300, ca: testPki().ca });
  const [b] = await slow.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(b!), { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.4.2' });
  assert.equal(b!.reply.text, 'Resend API: no complete answer within 300 ms');

  const patient = createProviderTransport('resend', { apiKey: 'k', apiUrl: silentUrl }, { timeoutMs: 60_000, ca: testPki().ca });
  const [c] = await patient.send(msg, ['you@example.org'], AbortSignal.timeout(200));
  assert.deepEqual(brief(c!), { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.3.0' });
  assert.equal(c!.reply.text, 'Resend API: delivery attempt aborted');

  // Production trusts the system roots only: the test CA is not among them.
  const untrusted = createProviderTransport('resend', { apiKey: 'k', apiUrl: silentUrl }, { timeoutMs: 5000 });
  const [d] = await untrusted.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(d!), { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.7.5' });
  for (const tr of [refused, slow, patient, untrusted]) await tr.close?.();
});

test('Resend: Bcc-only recipients get a call each, each with its own Idempotency-Key', async (t) => {
  const { fake, transport } = await setup(t);
  const raw = Buffer.from('From: app@sender.test\r\nTo: undisclosed-recipients:;\r\nSubject: News\r\n\r\nHi.\r\n');
  const outcomes = await transport.send({ id: 'msg-9', sender: 'app@sender.test', raw }, ['p@example.org', 'q@example.org'], live());
  assert.deepEqual(fake.problems, []);
  assert.deepEqual(fake.requests.map((r) => r.json.to), [['p@example.org'], ['q@example.org']]);
  assert.deepEqual(fake.requests.map((r) => r.json.bcc), [undefined, undefined]);
  const keys = fake.requests.map((r) => r.headers['idempotency-key']);
  assert.deepEqual(keys, ['p@example.org', 'q@example.org'].map((a) => createHash('sha256').update(`msg-9\n${a}\nresend`).digest('hex')));
  assert.deepEqual(outcomes.map((o) => [o.rcpt, o.kind]), [['p@example.org', 'delivered'], ['q@example.org', 'delivered']]);
  assert.notEqual(outcomes[0]!.providerMessageId, outcomes[1]!.providerMessageId);
});

test('Resend: a huge error answer is cut, and the reply carries one bounded line of it', async (t) => {
  const { fake, transport } = await setup(t);
  fake.queue({ status: 502, body: `<html>${'bad gateway\n'.repeat(50_000)}</html>` });
  const [o] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(o!), { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.3.0' });
  assert.match(o!.reply.text, /^Resend API error \(HTTP 502\): <html>bad gateway bad gateway .*…$/);
  assert.ok(o!.reply.text.length < 300, `${o!.reply.text.length} characters`);
});

test('Resend: a loopback http:// API URL works (tests of an in-process smarthost), with no TLS in the outcome', async (t) => {
  const fake = await startFakeProvider('resend', t, { key: 'k', plain: true });
  assert.match(fake.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const transport = createProviderTransport('resend', { apiKey: 'k', apiUrl: new URL(fake.url) }, { timeoutMs: 5000 });
  t.after(() => transport.close?.());
  const [o] = await transport.send(msg, ['you@example.org'], live());
  assert.equal(o!.kind, 'delivered');
  assert.equal(o!.tls, undefined);
  assert.deepEqual(fake.problems, []);
});
