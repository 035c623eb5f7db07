// Each provider API takes a bounded number of recipients per call (SES, Resend and
// Postmark 50, SendGrid and Mailgun 1,000); a message's recipients beyond that go
// in further calls. Without this, a group of a hundred recipients (the scheduler
// claims up to 8 per free slot, and SMARTHOST_MAX_RECIPIENTS is 100) was refused
// whole, and the refusal read as a bad recipient: every one bounced and suppressed.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { OutboundMessage } from '../../src/delivery/outcome.ts';
import { createProviderTransport, type ProviderName } from '../../src/delivery/transports/providers/index.ts';
import { startFakeProvider, type SesCredentials } from '../helpers/fake-providers.ts';

const SES: SesCredentials = { region: 'eu-west-1', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

const CONFIG = {
  resend: { apiKey: 'k' }, postmark: { serverToken: 'k' }, sendgrid: { apiKey: 'k' }, mailgun: { apiKey: 'k', domain: 'mg.example.com' }, ses: SES,
} as const;

/** `count` recipients, all named in To: (the JSON APIs keep them there) and all in the envelope. */
function manyRecipients(count: number): { msg: OutboundMessage; rcpts: string[] } {
  const rcpts = Array.from({ length: count }, (_, i) => `user${i}@example.org`);
  const raw = Buffer.from(`From: app@sender.test\r\nTo: ${rcpts.join(',\r\n ')}\r\nSubject: Hello all\r\n\r\nHi.\r\n`);
  return { msg: { id: 'msg-many', sender: 'app@sender.test', raw }, rcpts };
}

async function sendMany(t: TestContext, name: ProviderName, count: number) {
  const fake = await startFakeProvider(name, t, { key: 'k', ...(name === 'ses' && { ses: SES }) });
  const transport = createProviderTransport(name, { ...CONFIG[name], apiUrl: new URL(fake.url) } as never, { ca: fake.ca, timeoutMs: 10_000 });
  t.after(() => transport.close?.());
  const { msg, rcpts } = manyRecipients(count);
  const outcomes = await transport.send(msg, rcpts, AbortSignal.timeout(30_000));
  return { fake, rcpts, outcomes };
}

for (const [name, limit] of [['ses', 50], ['resend', 50], ['postmark', 50]] as const) {
  test(`${name}: 120 recipients go out in calls of at most ${limit}, every one delivered`, async (t) => {
    const { fake, rcpts, outcomes } = await sendMany(t, name, 120);
    assert.deepEqual(fake.problems, []);
    assert.equal(fake.requests.length, 3);
    assert.deepEqual(outcomes.map((o) => [o.rcpt, o.kind]), rcpts.map((r) => [r, 'delivered']));
  });
}

for (const name of ['sendgrid', 'mailgun'] as const) {
  test(`${name}: 1,500 recipients go out in calls of at most 1,000, every one delivered`, async (t) => {
    const { fake, rcpts, outcomes } = await sendMany(t, name, 1500);
    assert.deepEqual(fake.problems, []);
    assert.equal(fake.requests.length, 2);
    assert.deepEqual(outcomes.map((o) => [o.rcpt, o.kind]), rcpts.map((r) => [r, 'delivered']));
  });
}
