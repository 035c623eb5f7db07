// A provider API that refuses a whole call because one of its recipients is
// invalid, without naming which one (Resend's validation_error on `to`, SES's
// MessageRejected "Illegal address", SendGrid's personalizations.0.to, Mailgun's
// 'to' parameter, Postmark's 300): with several recipients in the call, each is
// sent again alone, so only the bad address bounces 5.1.1 (and is suppressed)
// while the others are delivered.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { OutboundMessage, RecipientOutcome } from '../../src/delivery/outcome.ts';
import { createProviderTransport } from '../../src/delivery/transports/providers/index.ts';
import { startFakeProvider, type SesCredentials } from '../helpers/fake-providers.ts';

const RAW = Buffer.from('From: app@sender.test\r\nTo: a@example.org, bad@example.org, c@example.org\r\nSubject: Hi\r\n\r\nHello.\r\n');
const msg: OutboundMessage = { id: 'msg-bad', sender: 'app@sender.test', raw: RAW };
const RCPTS = ['a@example.org', 'bad@example.org', 'c@example.org'];
const SES: SesCredentials = { region: 'eu-west-1', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const brief = (o: RecipientOutcome) => [o.rcpt, o.kind, `${o.reply.code} ${o.reply.enhanced}`];

async function transportFor(t: TestContext, name: 'resend' | 'ses') {
  const fake = await startFakeProvider(name, t, { key: 'k', ...(name === 'ses' && { ses: SES }) });
  const config = name === 'resend' ? { apiKey: 'k' } : SES;
  const transport = createProviderTransport(name, { ...config, apiUrl: new URL(fake.url) } as never, { ca: fake.ca, timeoutMs: 5000 });
  t.after(() => transport.close?.());
  return { fake, transport };
}

test('Resend: a 422 on `to` for a call of three → each alone; only the bad one bounces', async (t) => {
  const { fake, transport } = await transportFor(t, 'resend');
  const invalidTo = { status: 422, body: { statusCode: 422, name: 'validation_error', message: 'Invalid `to` field. The email address needs to follow the `email@example.com` format.' } };
  fake.queue(invalidTo, { status: 200, body: { id: 'id-a' } }, invalidTo, { status: 200, body: { id: 'id-c' } });
  const outcomes = await transport.send(msg, RCPTS, AbortSignal.timeout(10_000));
  assert.deepEqual(outcomes.map(brief), [
    ['a@example.org', 'delivered', '250 2.0.0'], ['bad@example.org', 'bounced', '550 5.1.1'], ['c@example.org', 'delivered', '250 2.0.0'],
  ]);
  assert.deepEqual(fake.requests.map((r) => r.json.to), [RCPTS, ['a@example.org'], ['bad@example.org'], ['c@example.org']]);
  assert.deepEqual(fake.problems, []);
});

test('SES: MessageRejected "Illegal address" for a call of three → each alone; only the bad one bounces', async (t) => {
  const { fake, transport } = await transportFor(t, 'ses');
  const illegal = { status: 400, headers: { 'x-amzn-errortype': 'MessageRejected:' }, body: { message: 'Illegal address' } };
  const ok = (id: string) => ({ status: 200, body: { MessageId: id } });
  fake.queue(illegal, ok('m-a'), illegal, ok('m-c'));
  const outcomes = await transport.send(msg, RCPTS, AbortSignal.timeout(10_000));
  assert.deepEqual(outcomes.map(brief), [
    ['a@example.org', 'delivered', '250 2.0.0'], ['bad@example.org', 'bounced', '550 5.1.1'], ['c@example.org', 'delivered', '250 2.0.0'],
  ]);
  assert.deepEqual(fake.requests.map((r) => r.json.Destination.ToAddresses), [RCPTS, ['a@example.org'], ['bad@example.org'], ['c@example.org']]);
});

test('a refusal of a single-recipient call is final: no second call', async (t) => {
  const { fake, transport } = await transportFor(t, 'ses');
  fake.queue({ status: 400, headers: { 'x-amzn-errortype': 'MessageRejected:' }, body: { message: 'Illegal address' } });
  const outcomes = await transport.send(msg, ['bad@example.org'], AbortSignal.timeout(10_000));
  assert.deepEqual(outcomes.map(brief), [['bad@example.org', 'bounced', '550 5.1.1']]);
  assert.equal(fake.requests.length, 1);
});
