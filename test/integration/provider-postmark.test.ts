// The Postmark transport against a local HTTPS stand-in that checks the documented
// request (X-Postmark-Server-Token, Accept and Content-Type JSON, From/To/body)
// and answers success, inactive recipients, 429, 500, a refused token.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { OutboundMessage, RecipientOutcome } from '../../src/delivery/outcome.ts';
import { createProviderTransport } from '../../src/delivery/transports/providers/index.ts';
import { answers, startFakeProvider } from '../helpers/fake-providers.ts';

const RAW = Buffer.from('From: app@sender.test\r\nTo: you@example.org, other@example.org\r\nSubject: Hi\r\n\r\nHello.\r\n');
const msg: OutboundMessage = { id: 'msg-2', sender: 'app@sender.test', raw: RAW };
const live = () => AbortSignal.timeout(10_000);
const brief = (o: RecipientOutcome) => ({
  rcpt: o.rcpt, kind: o.kind, code: o.reply.code, enhanced: o.reply.enhanced,
  ...(o.kind === 'deferred' && o.retryAfterSec !== undefined && { retryAfterSec: o.retryAfterSec }),
  ...(o.providerMessageId && { id: o.providerMessageId }),
});

async function setup(t: TestContext, token = 'pm-token', messageStream?: string) {
  const fake = await startFakeProvider('postmark', t, { key: 'pm-token' });
  const transport = createProviderTransport('postmark', { serverToken: token, apiUrl: new URL(fake.url), ...(messageStream && { messageStream }) }, { ca: fake.ca, timeoutMs: 5000 });
  t.after(() => transport.close?.());
  return { fake, transport };
}

test('Postmark: one POST /email with the server token; delivered 250 with MessageID; message stream passed', async (t) => {
  const { fake, transport } = await setup(t, 'pm-token', 'outbound');
  fake.queue({ status: 200, body: { To: 'you@example.org', SubmittedAt: '2026-11-25T22:00:00Z', MessageID: 'b7bc2f4a-e38e-4336-af7d-e6c392c2f817', ErrorCode: 0, Message: 'OK' } });
  const outcomes = await transport.send(msg, ['you@example.org', 'other@example.org'], live());
  assert.deepEqual(fake.problems, []);
  const req = fake.requests[0]!;
  assert.equal(req.headers['x-postmark-server-token'], 'pm-token');
  assert.equal(req.headers.accept, 'application/json');
  assert.equal(req.headers['idempotency-key'], undefined);
  assert.deepEqual(req.json, {
    From: 'app@sender.test', To: 'you@example.org, other@example.org', Subject: 'Hi', TextBody: 'Hello.\n', MessageStream: 'outbound',
  });
  const id = 'b7bc2f4a-e38e-4336-af7d-e6c392c2f817';
  assert.deepEqual(outcomes.map(brief), [
    { rcpt: 'you@example.org', kind: 'delivered', code: 250, enhanced: '2.0.0', id },
    { rcpt: 'other@example.org', kind: 'delivered', code: 250, enhanced: '2.0.0', id },
  ]);
  assert.equal(outcomes[0]!.reply.text, `Accepted by Postmark as ${id}`);
  assert.equal(outcomes[0]!.relay, `postmark (${new URL(fake.url).host})`);
  assert.match(outcomes[0]!.tls ?? '', /^TLSv1\.[23]$/);
});

test('Postmark: inactive recipients bounce 5.7.1 — named ones in a 200 (others delivered), all in a 422/406', async (t) => {
  const { fake, transport } = await setup(t);
  const partial = 'Message OK, but will not deliver to these inactive addresses: other@example.org. Inactive recipients are ones that have generated a hard bounce or a spam complaint.';
  fake.queue({ status: 200, body: { To: 'you@example.org, other@example.org', SubmittedAt: '2026-11-25T22:00:00Z', MessageID: 'id-1', ErrorCode: 0, Message: partial } });
  const a = await transport.send(msg, ['you@example.org', 'Other@example.org'], live());
  assert.deepEqual(a.map(brief), [
    { rcpt: 'you@example.org', kind: 'delivered', code: 250, enhanced: '2.0.0', id: 'id-1' },
    { rcpt: 'Other@example.org', kind: 'bounced', code: 550, enhanced: '5.7.1', id: 'id-1' },
  ]);
  assert.equal(a[1]!.reply.text, `Postmark blocks this recipient (HTTP 200): ${partial}`);

  const all = 'You tried to send to recipient(s) that have been marked as inactive. Found inactive addresses: you@example.org, other@example.org. Inactive recipients are ones that have generated a hard bounce, a spam complaint, or a manual suppression.';
  fake.queue({ status: 422, body: { ErrorCode: 406, Message: all } });
  const b = await transport.send(msg, ['you@example.org', 'other@example.org'], live());
  assert.deepEqual(b.map(brief), [
    { rcpt: 'you@example.org', kind: 'bounced', code: 550, enhanced: '5.7.1' },
    { rcpt: 'other@example.org', kind: 'bounced', code: 550, enhanced: '5.7.1' },
  ]);
});

test('Postmark: 429 defers 4.7.0 with Retry-After, 500 defers 4.3.0, 300 on an address bounces 5.1.1, an unconfirmed sender signature defers 4.7.1', async (t) => {
  const { fake, transport } = await setup(t);
  fake.queue(answers.throttle('postmark', '7'));
  assert.deepEqual(brief((await transport.send(msg, ['you@example.org'], live()))[0]!),
    { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.7.0', retryAfterSec: 7 });

  fake.queue(answers.serverError('postmark'));
  const [e] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(e!), { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.3.0' });
  assert.equal(e!.reply.text, 'Postmark API error (HTTP 500): internal server error');

  const illegal = "Error parsing 'To': Illegal email address 'you@example'. It must contain the '@' symbol.";
  fake.queue({ status: 422, body: { ErrorCode: 300, Message: illegal } });
  const [r] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(r!), { rcpt: 'you@example.org', kind: 'bounced', code: 550, enhanced: '5.1.1' });
  assert.equal(r!.reply.text, `Postmark refused the recipient (HTTP 422): ${illegal}`);

  fake.queue({ status: 422, body: { ErrorCode: 300, Message: 'Provide either email TextBody or HtmlBody or both.' } });
  assert.deepEqual(brief((await transport.send(msg, ['you@example.org'], live()))[0]!),
    { rcpt: 'you@example.org', kind: 'bounced', code: 554, enhanced: '5.6.0' });

  const unconfirmed = "The 'From' address you supplied (app@sender.test) is not a Sender Signature on your account.";
  fake.queue({ status: 422, body: { ErrorCode: 400, Message: unconfirmed } });
  const [u] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(u!), { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.7.1' });
  assert.equal(u!.reply.text, `Postmark refused to send for this account (HTTP 422): ${unconfirmed}`);
  assert.deepEqual(fake.problems, []);
});

test('Postmark: a refused server token defers 454 4.7.8; check reads GET /server', async (t) => {
  const { fake, transport } = await setup(t, 'wrong');
  const [o] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(o!), { rcpt: 'you@example.org', kind: 'deferred', code: 454, enhanced: '4.7.8' });
  assert.equal(o!.reply.text, 'The Postmark server token was refused (HTTP 401: The Server Token you provided in the X-Postmark-Server-Token request header was invalid.)');
  assert.equal(fake.requests.length, 0);
  assert.equal((await transport.check!(live())).ok, false);
  const good = await setup(t);
  assert.deepEqual(await good.transport.check!(live()), { ok: true, detail: 'server token accepted (server "smarthost test")' });
});
