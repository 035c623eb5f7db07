// A provider's webhook must find the message its own send API answered for: the
// message goes out through the real provider transport (to a local stand-in of
// the API), then the provider's event names it the way the provider documents
// it, and the bounce must land on that message. The other webhook tests seed the
// provider id by hand, so they cannot tell whether transport and webhook agree.
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { createApiKey } from '../../src/credentials/api-keys.ts';
import { startFakeProvider, type FakeProviderName } from '../helpers/fake-providers.ts';
import { startTestSmarthost, type TestSmarthost } from '../helpers/smarthost.ts';
import { waitFor } from '../helpers/wait.ts';

const MAILGUN_SIGNING_KEY = 'key-3ax6xnjp29jd6fds4gc373sgvjxteol0';
const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

/** A smarthost delivering through `provider` only, its webhook on, and one message delivered through it. */
async function deliverThrough(t: TestContext, provider: FakeProviderName, env: Record<string, string>) {
  const fake = await startFakeProvider(provider, t, { key: 'provider-key', plain: true });
  const sh = await startTestSmarthost(t, { SMARTHOST_ROUTE: provider, [`SMARTHOST_${provider.toUpperCase()}_API_URL`]: fake.url, ...env });
  const { key } = await createApiKey(sh.store, 'ci', ['example.com']);
  const res = await fetch(`http://127.0.0.1:${sh.ports.http}/emails`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ from: 'App <app@example.com>', to: 'alice@example.org', subject: 'Hello', text: 'Hi there' }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const { id } = (await res.json()) as { id: string };
  const delivered = await waitFor(`message ${id} delivered through ${provider}`, async () => {
    const events = await sh.store.listEvents(id);
    return events.find((e) => e.type === 'delivered');
  }, 15_000);
  assert.ok(delivered.providerMessageId, 'the transport recorded the id the API answered');
  assert.deepEqual(fake.problems, []);
  return { sh, fake, id, providerMessageId: delivered.providerMessageId };
}

async function post(sh: TestSmarthost, provider: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${sh.ports.http}/providers/${provider}/webhook`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: res.status, json: (await res.json()) as { status: string; events: { result: string }[] } };
}

const statusOf = async (sh: TestSmarthost, id: string) => (await sh.store.getMessageSummary(id))!.recipients.map((r) => [r.address, r.status]);

test('mailgun: a permanent failure names the message by its Message-Id header (no angle brackets) and reaches the message sent through the API', async (t) => {
  const { sh, id, providerMessageId } = await deliverThrough(t, 'mailgun', {
    SMARTHOST_MAILGUN_API_KEY: 'provider-key', SMARTHOST_MAILGUN_DOMAIN: 'mg.example.com', SMARTHOST_MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_SIGNING_KEY,
  });
  // What the send reply said: {"id": "<…@mg.example.com>"}; what the webhook says: the header, without brackets.
  const headerId = providerMessageId.replace(/^<|>$/g, '');
  const timestamp = Math.floor(Date.now() / 1000);
  const token = randomBytes(25).toString('hex');
  const body = JSON.stringify({
    signature: { timestamp: String(timestamp), token, signature: createHmac('sha256', MAILGUN_SIGNING_KEY).update(`${timestamp}${token}`).digest('hex') },
    'event-data': {
      event: 'failed', id: 'G9Bn5sl1TC6nu79C8C0bwg', severity: 'permanent', reason: 'bounce', recipient: 'alice@example.org',
      'delivery-status': { message: '5.1.1 The email account that you tried to reach does not exist.', code: 550, description: '' },
      message: { headers: { to: 'alice@example.org', 'message-id': headerId, from: 'App <app@example.com>', subject: 'Hello' } },
    },
  });
  const r = await post(sh, 'mailgun', body);
  assert.deepEqual([r.status, r.json.status], [200, 'applied']);
  assert.deepEqual(await statusOf(sh, id), [['alice@example.org', 'bounced']]);
  assert.deepEqual((await sh.store.listSuppressions()).map((s) => s.address), ['alice@example.org']);
});

test('sendgrid: a bounce whose sg_message_id is the X-Message-Id plus ".recvd-…" reaches the message sent through the API', async (t) => {
  const { sh, id, providerMessageId } = await deliverThrough(t, 'sendgrid', {
    SMARTHOST_SENDGRID_API_KEY: 'provider-key',
    SMARTHOST_SENDGRID_WEBHOOK_PUBLIC_KEY: sendgridKeys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  });
  // Today's form of sg_message_id (the older one ends ".filter…"): "<X-Message-Id>.recvd-5f9ffdf494-9kc6l-1-673C6EB0-B.0".
  const batch = JSON.stringify([{
    email: 'alice@example.org', timestamp: Math.floor(Date.now() / 1000), event: 'bounce', type: 'bounce', sg_event_id: 'bounce-1',
    sg_message_id: `${providerMessageId}.recvd-5f9ffdf494-9kc6l-1-673C6EB0-B.0`, reason: '550 5.1.1 unknown recipient', status: '5.1.1',
  }]);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const r = await post(sh, 'sendgrid', batch, {
    'X-Twilio-Email-Event-Webhook-Timestamp': timestamp,
    'X-Twilio-Email-Event-Webhook-Signature': sign('sha256', Buffer.from(timestamp + batch), sendgridKeys.privateKey).toString('base64'),
  });
  assert.deepEqual([r.status, r.json.status], [200, 'applied']);
  assert.deepEqual(await statusOf(sh, id), [['alice@example.org', 'bounced']]);
});
