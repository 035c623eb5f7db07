// The Mailgun transport against a local HTTPS stand-in that checks the documented
// request (Basic api:<key>, multipart messages.mime with `to` and the `message`
// file) and answers success, 429, 500, a 400 on `to`, and a refused key.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { OutboundMessage, RecipientOutcome } from '../../src/delivery/outcome.ts';
import { createProviderTransport } from '../../src/delivery/transports/providers/index.ts';
import { answers, startFakeProvider } from '../helpers/fake-providers.ts';

// Signed, 8-bit and with a header Mailgun's own composer would not write: all must arrive unchanged.
const RAW = Buffer.from([
  'DKIM-Signature: v=1; a=rsa-sha256; d=sender.test; s=s1; h=from:to:subject; bh=abc=; b=def=',
  'From: app@sender.test',
  'To: you@example.org',
  'Subject: =?UTF-8?B?SGVsbG8gw6nDqA==?=',
  'X-Entity-Ref-ID: 42',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 8bit',
  '',
  'Grüße.',
  '',
].join('\r\n'));
const msg: OutboundMessage = { id: 'msg-4', sender: 'app@sender.test', raw: RAW };
const live = () => AbortSignal.timeout(10_000);
const brief = (o: RecipientOutcome) => ({
  rcpt: o.rcpt, kind: o.kind, code: o.reply.code, enhanced: o.reply.enhanced,
  ...(o.kind === 'deferred' && o.retryAfterSec !== undefined && { retryAfterSec: o.retryAfterSec }),
  ...(o.providerMessageId && { id: o.providerMessageId }),
});

async function setup(t: TestContext, key = 'key-123') {
  const fake = await startFakeProvider('mailgun', t, { key: 'key-123', domain: 'mg.sender.test' });
  const transport = createProviderTransport('mailgun', { apiKey: key, domain: 'mg.sender.test', apiUrl: new URL(fake.url) }, { ca: fake.ca, timeoutMs: 5000 });
  t.after(() => transport.close?.());
  return { fake, transport };
}

test('Mailgun: raw MIME unchanged to /v3/<domain>/messages.mime, one `to` per envelope recipient; delivered with the id', async (t) => {
  const { fake, transport } = await setup(t);
  fake.queue({ status: 200, body: { id: '<20111114174239.25659.5817@mg.sender.test>', message: 'Queued. Thank you.' } });
  const outcomes = await transport.send(msg, ['you@example.org', 'hidden@example.net'], live());
  assert.deepEqual(fake.problems, []);
  const req = fake.requests[0]!;
  assert.equal(req.path, '/v3/mg.sender.test/messages.mime');
  assert.equal(req.headers.authorization, `Basic ${Buffer.from('api:key-123').toString('base64')}`);
  assert.deepEqual(req.form!.to, ['you@example.org', 'hidden@example.net']);
  assert.deepEqual(req.form!.message, RAW);
  assert.deepEqual(outcomes.map(brief), [
    { rcpt: 'you@example.org', kind: 'delivered', code: 250, enhanced: '2.0.0', id: '20111114174239.25659.5817@mg.sender.test' },
    { rcpt: 'hidden@example.net', kind: 'delivered', code: 250, enhanced: '2.0.0', id: '20111114174239.25659.5817@mg.sender.test' },
  ]);
  assert.equal(outcomes[0]!.relay, `mailgun (${new URL(fake.url).host})`);
  assert.match(outcomes[0]!.tls ?? '', /^TLSv1\.[23]$/);
});

test('Mailgun: 429 defers 4.7.0, 500 defers 4.3.0, 400 on `to` bounces 5.1.1, a sandbox refusal defers 4.7.1', async (t) => {
  const { fake, transport } = await setup(t);
  fake.queue(answers.throttle('mailgun', '5'));
  assert.deepEqual(brief((await transport.send(msg, ['you@example.org'], live()))[0]!),
    { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.7.0', retryAfterSec: 5 });

  fake.queue(answers.serverError('mailgun'));
  assert.deepEqual(brief((await transport.send(msg, ['you@example.org'], live()))[0]!),
    { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.3.0' });

  fake.queue({ status: 400, body: { message: "'to' parameter is not a valid address. please check documentation" } });
  const [r] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(r!), { rcpt: 'you@example.org', kind: 'bounced', code: 550, enhanced: '5.1.1' });
  assert.equal(r!.reply.text, "Mailgun refused the recipient (HTTP 400): 'to' parameter is not a valid address. please check documentation");

  fake.queue({ status: 400, body: { message: "'from' parameter is not a valid address. please check documentation" } });
  assert.deepEqual(brief((await transport.send(msg, ['you@example.org'], live()))[0]!),
    { rcpt: 'you@example.org', kind: 'bounced', code: 554, enhanced: '5.6.0' });

  fake.queue({ status: 400, body: { message: 'Message size exceeds the limit' } });
  assert.deepEqual(brief((await transport.send(msg, ['you@example.org'], live()))[0]!),
    { rcpt: 'you@example.org', kind: 'bounced', code: 554, enhanced: '5.6.0' });

  const sandbox = 'Domain mg.sender.test is not allowed to send: Free accounts are for test purposes only. Please upgrade or add the address to authorized recipients in Account Settings.';
  fake.queue({ status: 403, body: { message: sandbox } });
  const [s] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(s!), { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.7.1' });
  assert.equal(s!.reply.text, `Mailgun refused to send for this account (HTTP 403): ${sandbox}`);
  assert.deepEqual(fake.problems, []);
});

test('Mailgun: a refused key ("Forbidden") defers 454 4.7.8; check reads GET /v3/domains/<domain>', async (t) => {
  const { fake, transport } = await setup(t, 'key-wrong');
  const [o] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(o!), { rcpt: 'you@example.org', kind: 'deferred', code: 454, enhanced: '4.7.8' });
  assert.equal(o!.reply.text, 'The Mailgun API key was refused (HTTP 401: Forbidden)');
  assert.equal(fake.requests.length, 0);
  assert.deepEqual(await transport.check!(live()), { ok: false, detail: 'the Mailgun API key was refused (HTTP 401: Forbidden)' });
  const good = await setup(t);
  assert.deepEqual(await good.transport.check!(live()), { ok: true, detail: 'API key accepted (domain mg.sender.test active)' });
});
