// The Amazon SES v2 transport against a local HTTPS stand-in that verifies the
// SigV4 signature with AWS's own signer (@smithy/signature-v4) and checks the
// documented SendEmail body (Content.Raw.Data, Destination), then answers
// success, 429, 500, MessageRejected and the account errors.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { OutboundMessage, RecipientOutcome } from '../../src/delivery/outcome.ts';
import { createProviderTransport } from '../../src/delivery/transports/providers/index.ts';
import { answers, startFakeProvider, type SesCredentials } from '../helpers/fake-providers.ts';

const RAW = Buffer.from('DKIM-Signature: v=1; d=sender.test; b=xyz\r\nFrom: app@sender.test\r\nTo: you@example.org\r\nSubject: Hi\r\n\r\nHello.\r\n');
const msg: OutboundMessage = { id: 'msg-5', sender: 'app@sender.test', raw: RAW };
const live = () => AbortSignal.timeout(10_000);
const CREDS: SesCredentials = { region: 'eu-west-1', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const brief = (o: RecipientOutcome) => ({
  rcpt: o.rcpt, kind: o.kind, code: o.reply.code, enhanced: o.reply.enhanced,
  ...(o.kind === 'deferred' && o.retryAfterSec !== undefined && { retryAfterSec: o.retryAfterSec }),
  ...(o.providerMessageId && { id: o.providerMessageId }),
});
const rejected = (type: string, message: string, status = 400) =>
  ({ status, headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.coral.service/` }, body: { message } });

async function setup(t: TestContext, creds: Partial<SesCredentials> = {}, extra: { configurationSet?: string } = {}) {
  const expected = { ...CREDS, ...(creds.sessionToken && { sessionToken: creds.sessionToken }) };
  const fake = await startFakeProvider('ses', t, { ses: expected });
  const transport = createProviderTransport('ses', { ...CREDS, ...creds, ...extra, apiUrl: new URL(fake.url) }, { ca: fake.ca, timeoutMs: 5000 });
  t.after(() => transport.close?.());
  return { fake, transport };
}

test('SES: SigV4-signed SendEmail with the raw message unchanged; delivered with the MessageId', async (t) => {
  const { fake, transport } = await setup(t, {}, { configurationSet: 'tracking' });
  fake.queue({ status: 200, body: { MessageId: '010001234567890a-11111111-2222-3333-4444-555555555555-000000' } });
  const outcomes = await transport.send(msg, ['you@example.org', 'hidden@example.net'], live());
  assert.deepEqual(fake.problems, []);
  const req = fake.requests[0]!;
  assert.match(String(req.headers.authorization), /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/ses\/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-date, Signature=[0-9a-f]{64}$/);
  assert.deepEqual(req.json, {
    Destination: { ToAddresses: ['you@example.org', 'hidden@example.net'] },
    Content: { Raw: { Data: RAW.toString('base64') } },
    ConfigurationSetName: 'tracking',
  });
  assert.deepEqual(Buffer.from(req.json.Content.Raw.Data, 'base64'), RAW);
  assert.deepEqual(outcomes.map(brief), [
    { rcpt: 'you@example.org', kind: 'delivered', code: 250, enhanced: '2.0.0', id: '010001234567890a-11111111-2222-3333-4444-555555555555-000000' },
    { rcpt: 'hidden@example.net', kind: 'delivered', code: 250, enhanced: '2.0.0', id: '010001234567890a-11111111-2222-3333-4444-555555555555-000000' },
  ]);
  assert.equal(outcomes[0]!.relay, `ses (${new URL(fake.url).host})`);
  assert.match(outcomes[0]!.tls ?? '', /^TLSv1\.[23]$/);
  assert.deepEqual(await transport.check!(live()), { ok: true, detail: 'access key accepted (sending enabled, production access)' });
});

test('SES: temporary credentials sign X-Amz-Security-Token too', async (t) => {
  const { fake, transport } = await setup(t, { sessionToken: 'FwoGZXIvYXdzEXAMPLE' });
  const [o] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(fake.problems, []);
  assert.equal(o!.kind, 'delivered');
  assert.equal(fake.requests[0]!.headers['x-amz-security-token'], 'FwoGZXIvYXdzEXAMPLE');
  assert.match(String(fake.requests[0]!.headers.authorization), /SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-security-token,/);
});

test('SES: a wrong secret fails the independent signature check → deferred 454 4.7.8, nothing sent', async (t) => {
  const { fake, transport } = await setup(t, { secretAccessKey: 'not-the-secret' });
  const [o] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(o!), { rcpt: 'you@example.org', kind: 'deferred', code: 454, enhanced: '4.7.8' });
  assert.equal(o!.reply.text, 'The Amazon SES access key was refused (HTTP 403: SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided.)');
  assert.equal(fake.requests.length, 0);
  assert.equal((await transport.check!(live())).ok, false);
});

test('SES: 429 defers 4.7.0, 500 defers 4.3.0, MessageRejected bounces (5.1.1 address, 5.6.0 content), unverified/paused defer 4.7.1', async (t) => {
  const { fake, transport } = await setup(t);
  fake.queue({ ...answers.throttle('ses', '2'), headers: { 'retry-after': '2', 'x-amzn-errortype': 'TooManyRequestsException:' } });
  assert.deepEqual(brief((await transport.send(msg, ['you@example.org'], live()))[0]!),
    { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.7.0', retryAfterSec: 2 });

  fake.queue(answers.serverError('ses'));
  assert.deepEqual(brief((await transport.send(msg, ['you@example.org'], live()))[0]!),
    { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.3.0' });

  fake.queue(rejected('MessageRejected', 'Illegal address'));
  const [a] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(a!), { rcpt: 'you@example.org', kind: 'bounced', code: 550, enhanced: '5.1.1' });
  assert.equal(a!.reply.text, 'Amazon SES refused the recipient (HTTP 400): MessageRejected: Illegal address');

  fake.queue(rejected('MessageRejected', 'Transaction failed: Duplicate header \'Subject\'.'));
  assert.deepEqual(brief((await transport.send(msg, ['you@example.org'], live()))[0]!),
    { rcpt: 'you@example.org', kind: 'bounced', code: 554, enhanced: '5.6.0' });

  const sandbox = 'Email address is not verified. The following identities failed the check in region EU-WEST-1: you@example.org';
  fake.queue(rejected('MessageRejected', sandbox));
  const [s] = await transport.send(msg, ['you@example.org'], live());
  assert.deepEqual(brief(s!), { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.7.1' });
  assert.equal(s!.reply.text, `Amazon SES refused to send for this account (HTTP 400): MessageRejected: ${sandbox}`);

  fake.queue(rejected('SendingPausedException', 'Sending is paused for this account.'));
  assert.deepEqual(brief((await transport.send(msg, ['you@example.org'], live()))[0]!),
    { rcpt: 'you@example.org', kind: 'deferred', code: 451, enhanced: '4.7.1' });
  assert.deepEqual(fake.problems, []);
});
