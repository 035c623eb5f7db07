// The SendGrid transport against a local HTTPS stand-in that checks the documented
// request (Bearer key, personalizations, content order) and answers 202 with
// X-Message-Id, 429, 500, a 400 on a recipient, and refused keys.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { OutboundMessage, RecipientOutcome } from '../../src/delivery/outcome.ts';
import { createProviderTransport } from '../../src/delivery/transports/providers/index.ts';
import { answers, startFakeProvider } from '../helpers/fake-providers.ts';

const RAW = Buffer.from('From: App <app@sender.test>\r\nTo: you@example.org\r\nSubject: Hi\r\nX-Campaign: 7\r\n\r\nHello.\r\n');
const msg: OutboundMessage = { id: 'msg-3', sender: 'app@sender.test', raw: RAW };
const live = () => AbortSignal.timeout(10_000);
const brief = (o: RecipientOutcome) => ({
  rcpt: o.rcpt, kind: o.kind, code: o.reply.code, enhanced: o.reply.enhanced,
  ...(o.kind === 'deferred' && o.retryAfterSec !== undefined && { retryAfterSec: o.retryAfterSec }),
  ...(o.providerMessageId && { id: o.providerMessageId }),
});

async function setup(t: TestContext, key = 'SG.key') {
  const fake = await startFakeProvider('sendgrid', t, { key: 'SG.key' });
  const transport = createProviderTransport('sendgrid', { apiKey: key, apiUrl: new URL(fake.url) }, { ca: fake.ca, timeoutMs: 5000 });
  t.after(() => transport.close?.());
  return { fake, transport };
}

test('SendGrid: one POST /v3/mail/send; 202 delivered with the X-Message-Id header as provider id', async (t) => {
  const { fake, transport } = await setup(t);
  fake.queue({ status: 202, headers: { 'x-message-id': 'W86EgYT6SQKk0lRflfLRsA' } });
  const outcomes = await transport.send(msg, ['you@example.org', 'hidden@example.net'], live());
  assert.deepEqual(fake.problems, []);
  const req = fake.requests[0]!;
  assert.equal(req.headers.authorization, 'Bearer SG.key');
  assert.deepEqual(req.json, {
    personalizations: [{ to: [{ email: 'you@example.org' }], bcc: [{ email: 'hidden@example.net' }] }],
    from: { email: 'app@sender.test', name: 'App' },
    subject: 'Hi',
    content: [{ type: 'text/plain', value: 'Hello.\n' }],
    headers: { 'X-Campaign': '7' },
  });
  assert.deepEqual(outcomes.map(brief), [
    { rcpt: 'you@example.org', kind: 'delivered', code: 250, enhanced: '2.0.0', id: 'W86EgYT6SQKk0lRflfLRsA' },
    { rcpt: 'hidden@example.net', kind: 'delivered', code: 250, enhanced: '2.0.0', id: 'W86EgYT6SQKk0lRflfLRsA' },
  ]);
  assert.equal(outcomes[0]!.relay, `sendgrid (${new URL(fake.url).host})`);
  assert.match(outcomes[0]!.tls ?? '', /^TLSv1\.[23]$/);
});

test('SendGrid: 429 defers 4.7.0, 500 defers 4.3.0, 400 on personalizations.to bounces 5.1.1, other 400 bounces 5.6.0, 413 bounces 5.3.4', async (t) => {
  const { fake, transport } = await setup(t);
  fake.queue(answers.throttle('sendgrid', '60'));
  assert.deepEqual(brief((await transport.send(msg, ['you@example.org'], live()))[0]!),
    { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.7.0', retryAfterSec: 60 });

  fake.queue(answers.serverError('sendgrid'));
  assert.deepEqual(brief((await transport.send(msg, ['you@example.org'], live()))[0]!),
    { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.3.0' });

  fake.queue({ status: 400, body: { errors: [{ message: 'Does not contain a valid address.', field: 'personalizations.0.to.0.email', help: 'http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations.to' }] } });
  const [r] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(r!), { rcpt: 'you@example.org', kind: 'bounced', code: 550, enhanced: '5.1.1' });
  assert.equal(r!.reply.text, 'SendGrid refused the recipient (HTTP 400): personalizations.0.to.0.email: Does not contain a valid address.');

  fake.queue({ status: 400, body: { errors: [{ message: 'The subject is required.', field: 'subject', help: null }] } });
  assert.deepEqual(brief((await transport.send(msg, ['you@example.org'], live()))[0]!),
    { rcpt: 'you@example.org', kind: 'bounced', code: 554, enhanced: '5.6.0' });

  fake.queue({ status: 413, body: { errors: [{ message: 'The JSON payload you have included in your request is too large.', field: null, help: null }] } });
  assert.deepEqual(brief((await transport.send(msg, ['you@example.org'], live()))[0]!),
    { rcpt: 'you@example.org', kind: 'bounced', code: 552, enhanced: '5.3.4' });
  assert.deepEqual(fake.problems, []);
});

test('SendGrid: a refused key (401) and a key without mail.send (403) defer 4.7.8; an unverified sender identity defers 4.7.1', async (t) => {
  const { fake, transport } = await setup(t, 'SG.wrong');
  const [a] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(a!), { rcpt: 'you@example.org', kind: 'deferred', code: 454, enhanced: '4.7.8' });
  assert.equal(a!.reply.text, 'The SendGrid API key was refused (HTTP 401: The provided authorization grant is invalid, expired, or revoked)');
  assert.equal((await transport.check!(live())).ok, false);

  const good = await setup(t);
  good.fake.queue({ status: 403, body: { errors: [{ field: null, message: 'access forbidden' }] } });
  assert.deepEqual(brief((await good.transport.send(msg, ['you@example.org'], live()))[0]!),
    { rcpt: 'you@example.org', kind: 'deferred', code: 454, enhanced: '4.7.8' });
  const identity = 'The from address does not match a verified Sender Identity. Mail cannot be sent until this error is resolved.';
  good.fake.queue({ status: 403, body: { errors: [{ field: 'from', message: identity }] } });
  const [c] = await good.transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(c!), { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.7.1' });
  assert.equal(c!.reply.text, `SendGrid refused to send for this account (HTTP 403): from: ${identity}`);
  assert.deepEqual(await good.transport.check!(live()), { ok: true, detail: 'API key accepted (scope mail.send)' });
  assert.equal(fake.requests.length, 0);
});
