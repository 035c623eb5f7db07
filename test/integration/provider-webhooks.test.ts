// Provider webhooks over a real socket: Resend (Svix), Postmark (Basic auth), SendGrid (ECDSA) and
// Mailgun (HMAC + replay checks), with bodies shaped as each provider documents them. A good
// signature becomes our events and suppressions, once; a bad one changes nothing.
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { Webhook } from 'standardwebhooks';
import type { Store } from '../../src/store/store.ts';
import { seedProviderDelivery } from '../helpers/provider-delivery.ts';
import { startTestSmarthost, type TestSmarthost } from '../helpers/smarthost.ts';

const RESEND_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const POSTMARK = { user: 'postmark', password: 'hook pass' };
const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const SENDGRID_PUBLIC_KEY = sendgridKeys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const MAILGUN_KEY = 'key-3ax6xnjp29jd6fds4gc373sgvjxteol0';

async function start(t: TestContext): Promise<TestSmarthost> {
  return startTestSmarthost(t, {
    SMARTHOST_DNS_SERVERS: '127.0.0.1:9', // nothing is delivered here; never ask a real resolver
    SMARTHOST_RESEND_WEBHOOK_SECRET: RESEND_SECRET,
    SMARTHOST_POSTMARK_WEBHOOK_USER: POSTMARK.user,
    SMARTHOST_POSTMARK_WEBHOOK_PASSWORD: POSTMARK.password,
    SMARTHOST_SENDGRID_WEBHOOK_PUBLIC_KEY: SENDGRID_PUBLIC_KEY,
    SMARTHOST_MAILGUN_WEBHOOK_SIGNING_KEY: MAILGUN_KEY,
  });
}

async function post(sh: TestSmarthost, provider: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${sh.ports.http}/providers/${provider}/webhook`, {
    method: 'POST', body, headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** What a message's recipients and events look like, for comparing before and after. */
async function state(store: Store, id: string) {
  const summary = await store.getMessageSummary(id);
  return {
    recipients: summary!.recipients.map((r) => [r.address, r.status]),
    events: (await store.listEvents(id)).map((e) => [e.type, e.recipient, e.route, e.reply && `${e.reply.code} ${e.reply.enhanced}`]),
    suppressions: (await store.listSuppressions()).map((s) => [s.address, s.reason]),
  };
}

const metric = async (sh: TestSmarthost, provider: string, result: string) =>
  (await sh.metrics.registry.getSingleMetric('smarthost_provider_webhooks_total')!.get()).values
    .find((v) => v.labels.provider === provider && v.labels.result === result)?.value ?? 0;

test('an endpoint whose secret is not set answers 404 and names the setting', async (t) => {
  const sh = await startTestSmarthost(t, { SMARTHOST_DNS_SERVERS: '127.0.0.1:9' });
  for (const [provider, setting] of [['resend', 'SMARTHOST_RESEND_WEBHOOK_SECRET'], ['postmark', 'SMARTHOST_POSTMARK_WEBHOOK_USER and SMARTHOST_POSTMARK_WEBHOOK_PASSWORD'],
    ['sendgrid', 'SMARTHOST_SENDGRID_WEBHOOK_PUBLIC_KEY'], ['mailgun', 'SMARTHOST_MAILGUN_WEBHOOK_SIGNING_KEY'], ['ses', 'SMARTHOST_SES_SNS_TOPIC_ARN']] as const) {
    const r = await post(sh, provider, '{}');
    assert.equal(r.status, 404, provider);
    assert.equal(r.json.name, 'not_found');
    assert.match(String(r.json.message), new RegExp(`^${provider} webhooks are not configured: set ${setting} \\(`));
  }
  const r = await post(sh, 'sparkpost', '{}');
  assert.deepEqual(r, { status: 404, json: { statusCode: 404, name: 'not_found', message: 'no provider "sparkpost"; one of resend, postmark, sendgrid, mailgun, ses' } });
  assert.equal(await metric(sh, 'resend', 'not_configured'), 1);
});

test('resend: a signed email.bounced bounces and suppresses once; bad signature, unknown id and complaint', async (t) => {
  const sh = await start(t);
  const emailId = '56761188-7520-42d8-8898-ff6fc54ce618';
  const id = await seedProviderDelivery(sh.store, { route: 'resend', providerMessageId: emailId, recipients: ['Delivered@example.org'] });
  // An outbound webhook subscribed to complaints gets an outbox row from the complaint below.
  await sh.store.addWebhook({ id: 'wh_test', url: 'http://127.0.0.1:9/hook', secret: 'whsec_x', events: ['complained'], createdAt: Date.now() });
  const signer = new Webhook(RESEND_SECRET);
  const signed = (svixId: string, payload: string, at = new Date()) => ({
    'svix-id': svixId, 'svix-timestamp': String(Math.floor(at.getTime() / 1000)), 'svix-signature': signer.sign(svixId, at, payload),
  });
  // resend.com/docs/webhooks/emails/bounced
  const bounced = (emailId_: string) => JSON.stringify({
    type: 'email.bounced', created_at: '2024-11-22T23:41:12.126Z',
    data: {
      broadcast_id: '8b146471-e88e-4322-86af-016cd36fd216', created_at: '2024-11-22T23:41:11.894719+00:00', email_id: emailId_,
      from: 'Acme <onboarding@resend.dev>', to: ['delivered@example.org'], subject: 'Sending this example',
      bounce: { message: "The recipient's email address is on the suppression list because it has a recent history of producing hard bounces.", subType: 'Suppressed', type: 'Permanent' },
      tags: { category: 'confirm_email' },
    },
  });
  const before = await state(sh.store, id);

  const forged = await post(sh, 'resend', bounced(emailId), { ...signed('msg_1', bounced(emailId)), 'svix-signature': `v1,${randomBytes(32).toString('base64')}` });
  assert.deepEqual(forged, { status: 401, json: { statusCode: 401, name: 'unauthorized', message: 'invalid Svix signature: No matching signature found' } });
  const stale = new Date(Date.now() - 10 * 60_000);
  assert.equal((await post(sh, 'resend', bounced(emailId), signed('msg_1', bounced(emailId), stale))).json.message, 'invalid Svix signature: Message timestamp too old');
  assert.deepEqual(await state(sh.store, id), before, 'a refused webhook changes nothing');

  const ok = await post(sh, 'resend', bounced(emailId), signed('msg_1', bounced(emailId)));
  assert.deepEqual(ok, { status: 200, json: { status: 'applied', events: [{ id: 'msg_1', recipient: 'delivered@example.org', kind: 'bounce', result: 'applied' }] } });
  const after = await state(sh.store, id);
  assert.deepEqual(after.recipients, [['Delivered@example.org', 'bounced']]);
  assert.deepEqual(after.events.slice(-1), [['bounced', 'Delivered@example.org', 'resend', '550 5.1.1']]);
  const reason = 'resend bounce: 550 5.1.1 Suppressed: The recipient\'s email address is on the suppression list because it has a recent history of producing hard bounces.';
  assert.deepEqual(after.suppressions, [['delivered@example.org', reason]]);
  const event = (await sh.store.listEvents(id)).at(-1)!;
  assert.equal(event.detail, 'Resend reported a permanent bounce');
  assert.equal(event.providerMessageId, emailId);

  // Resend retries with the same svix-id (re-signed): nothing twice.
  const again = await post(sh, 'resend', bounced(emailId), signed('msg_1', bounced(emailId)));
  assert.equal(again.status, 200);
  assert.equal(again.json.status, 'duplicate');
  assert.deepEqual(await state(sh.store, id), after);

  const unknown = await post(sh, 'resend', bounced('00000000-0000-0000-0000-000000000000'), signed('msg_2', bounced('00000000-0000-0000-0000-000000000000')));
  assert.deepEqual(unknown.json, { status: 'ignored', events: [{ id: 'msg_2', recipient: 'delivered@example.org', kind: 'bounce', result: 'ignored', reason: 'no message of ours has this provider id and recipient' }] });
  assert.ok(sh.logs.some((l) => l.event === 'provider_webhook' && l.result === 'ignored' && l.provider_msg_id === '00000000-0000-0000-0000-000000000000'));

  const complained = JSON.stringify({ type: 'email.complained', created_at: '2024-11-22T23:41:12.126Z',
    data: { created_at: '2024-11-22T23:41:11.894719+00:00', email_id: emailId, from: 'Acme <onboarding@resend.dev>', to: ['delivered@example.org'], subject: 'Sending this example' } });
  assert.equal((await post(sh, 'resend', complained, signed('msg_3', complained))).json.status, 'applied');
  const last = (await sh.store.listEvents(id)).at(-1)!;
  assert.deepEqual([last.type, last.detail], ['complained', 'the recipient reported the message as spam (Resend: email.complained)']);
  assert.equal((await sh.store.listWebhooks())[0]!.pending, 1, 'the complaint is announced to our own webhook subscribers');

  const opened = JSON.stringify({ type: 'email.opened', created_at: '2024-11-22T23:41:12.126Z', data: { email_id: emailId, to: ['delivered@example.org'] } });
  assert.deepEqual((await post(sh, 'resend', opened, signed('msg_4', opened))).json,
    { status: 'ignored', events: [{ id: 'msg_4', type: 'email.opened', result: 'ignored', reason: 'event type not used' }] });
  assert.deepEqual(await post(sh, 'resend', '{"type":', signed('msg_5', '{"type":')),
    { status: 400, json: { statusCode: 400, name: 'validation_error', message: 'body is not JSON: Unexpected end of JSON input' } });
  assert.equal(await metric(sh, 'resend', 'applied'), 2);
  assert.equal(await metric(sh, 'resend', 'unauthorized'), 2);
});

test('resend: an event naming several recipients is not pinned on all of them (Resend sends every recipient\'s event with the whole to list)', async (t) => {
  const sh = await start(t);
  const emailId = '4ef9a417-02e9-4d39-ad75-9611e0fcc33c';
  const id = await seedProviderDelivery(sh.store, { route: 'resend', providerMessageId: emailId, recipients: ['alice@example.org', 'bob@example.org'] });
  const signer = new Webhook(RESEND_SECRET);
  const signed = (svixId: string, payload: string) => {
    const at = new Date();
    return { 'svix-id': svixId, 'svix-timestamp': String(Math.floor(at.getTime() / 1000)), 'svix-signature': signer.sign(svixId, at, payload) };
  };
  const before = await state(sh.store, id);
  const to = ['alice@example.org', 'bob@example.org'];
  const bounced = JSON.stringify({ type: 'email.bounced', created_at: '2024-11-22T23:41:12.126Z', data: { email_id: emailId, to, subject: 's',
    bounce: { message: 'The email account that you tried to reach does not exist.', subType: 'General', type: 'Permanent' } } });
  const complained = JSON.stringify({ type: 'email.complained', created_at: '2024-11-22T23:41:12.126Z', data: { email_id: emailId, to, subject: 's' } });
  const reason = 'Resend sent this email to several recipients and does not say which one this is about: not applied to any';
  assert.deepEqual((await post(sh, 'resend', bounced, signed('msg_b', bounced))).json,
    { status: 'ignored', events: [{ id: 'msg_b', type: 'email.bounced', result: 'ignored', reason }] });
  assert.deepEqual((await post(sh, 'resend', complained, signed('msg_c', complained))).json,
    { status: 'ignored', events: [{ id: 'msg_c', type: 'email.complained', result: 'ignored', reason }] });
  // A Cc or Bcc recipient of the same call is not in `to` at all: one name there does not say it is that one's event either.
  const onlyAlice = JSON.stringify({ type: 'email.bounced', created_at: '2024-11-22T23:41:12.126Z', data: { email_id: emailId, to: ['alice@example.org'], subject: 's',
    bounce: { message: 'The email account that you tried to reach does not exist.', subType: 'General', type: 'Permanent' } } });
  assert.deepEqual((await post(sh, 'resend', onlyAlice, signed('msg_d', onlyAlice))).json,
    { status: 'ignored', events: [{ id: 'msg_d', type: 'email.bounced', result: 'ignored', reason }] });
  assert.deepEqual(await state(sh.store, id), before, 'nobody bounced or suppressed for one unknown recipient\'s bounce or complaint');
});

test('postmark: Basic auth required; HardBounce, Delivery and SpamComplaint as documented', async (t) => {
  const sh = await start(t);
  const messageId = '883953f4-6105-42a2-a16a-77a8eac79483';
  const id = await seedProviderDelivery(sh.store, { route: 'postmark', providerMessageId: messageId, recipients: ['john@example.com', 'jane@example.com'] });
  const auth = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
  // postmarkapp.com/developer/webhooks/bounce-webhook
  const bounce = JSON.stringify({
    RecordType: 'Bounce', MessageStream: 'outbound', ID: 4323372036854775807, Type: 'HardBounce', TypeCode: 1, Name: 'Hard bounce', Tag: 'Test',
    MessageID: messageId, Metadata: { a_key: 'a_value' }, ServerID: 23,
    Description: 'The server was unable to deliver your message (ex: unknown user, mailbox not found).',
    Details: 'smtp;550 5.1.1 The email account that you tried to reach does not exist.', Email: 'john@example.com', From: 'sender@example.com',
    BouncedAt: '2019-11-05T16:33:54.9070259Z', DumpAvailable: true, Inactive: true, CanActivate: true, Subject: 'Test subject', Content: 'Return-Path:....',
  });
  const before = await state(sh.store, id);
  for (const headers of [{}, auth(POSTMARK.user, 'wrong'), auth('someone', POSTMARK.password), { authorization: 'Bearer x' }]) {
    assert.deepEqual(await post(sh, 'postmark', bounce, headers),
      { status: 401, json: { statusCode: 401, name: 'unauthorized', message: 'wrong or missing Basic auth credentials' } });
  }
  assert.deepEqual(await state(sh.store, id), before);

  const ok = await post(sh, 'postmark', bounce, auth(POSTMARK.user, POSTMARK.password));
  assert.equal(ok.json.status, 'applied');
  assert.equal((await post(sh, 'postmark', bounce, auth(POSTMARK.user, POSTMARK.password))).json.status, 'duplicate');
  const after = await state(sh.store, id);
  assert.deepEqual(after.recipients, [['john@example.com', 'bounced'], ['jane@example.com', 'delivered']]);
  assert.deepEqual(after.events.filter((e) => e[0] === 'bounced'), [['bounced', 'john@example.com', 'postmark', '550 5.1.1']]);
  assert.deepEqual(after.suppressions, [['john@example.com', 'postmark bounce: 550 5.1.1 The email account that you tried to reach does not exist.']]);

  // postmarkapp.com/developer/webhooks/delivery-webhook
  const delivery = JSON.stringify({ RecordType: 'Delivery', ServerID: 23, MessageStream: 'outbound', MessageID: messageId, Recipient: 'jane@example.com',
    Tag: 'welcome-email', DeliveredAt: '2021-02-21T16:34:52Z', Details: 'Test delivery webhook details', Metadata: {} });
  assert.equal((await post(sh, 'postmark', delivery, auth(POSTMARK.user, POSTMARK.password))).json.status, 'applied');
  const delivered = (await sh.store.listEvents(id)).at(-1)!;
  assert.deepEqual([delivered.type, delivered.recipient, delivered.route, delivered.detail, delivered.reply],
    ['delivered', 'jane@example.com', 'postmark', "Postmark delivered to the recipient's mail server", undefined]);
  assert.deepEqual((await state(sh.store, id)).recipients, after.recipients, 'a delivery changes no recipient');

  // postmarkapp.com/developer/webhooks/spam-complaint-webhook
  const complaint = JSON.stringify({ RecordType: 'SpamComplaint', MessageStream: 'outbound', ID: 42, Type: 'SpamComplaint', TypeCode: 512, Name: 'Spam complaint',
    Tag: 'Test', MessageID: messageId, ServerID: 1234, Description: '', Details: 'Test spam complaint details', Email: 'jane@example.com',
    From: 'sender@example.com', BouncedAt: '2019-11-05T16:33:54.9070259Z', DumpAvailable: true, Inactive: true, CanActivate: false, Subject: 'Test subject' });
  assert.equal((await post(sh, 'postmark', complaint, auth(POSTMARK.user, POSTMARK.password))).json.status, 'applied');
  assert.deepEqual((await state(sh.store, id)).suppressions.map((s) => s[0]), ['jane@example.com', 'john@example.com']);
  assert.equal((await sh.store.listEvents(id)).at(-1)!.type, 'complained');

  const unknown = bounce.replace(messageId, '00000000-0000-0000-0000-000000000000');
  assert.equal((await post(sh, 'postmark', unknown, auth(POSTMARK.user, POSTMARK.password))).json.status, 'ignored');
  assert.deepEqual(await post(sh, 'postmark', JSON.stringify({ RecordType: 'Bounce', MessageID: messageId }), auth(POSTMARK.user, POSTMARK.password)),
    { status: 400, json: { statusCode: 400, name: 'validation_error', message: 'Bounce: Invalid input: expected string, received undefined at Type' } });
});

test('sendgrid: a signed batch applies bounce, blocked, delivered and spamreport; a bad signature is refused', async (t) => {
  const sh = await start(t);
  const xMessageId = '14c5d75ce93.dfd.64b469';
  const id = await seedProviderDelivery(sh.store, { route: 'sendgrid', providerMessageId: xMessageId, recipients: ['example@test.com', 'other@test.com'] });
  const common = { timestamp: 1513299569, 'smtp-id': '<14c5d75ce93.dfd.64b469@ismtpd-555>', category: 'cat facts', sg_message_id: `${xMessageId}.filter0001.16648.5515E0B88.0` };
  // twilio.com/docs/sendgrid/for-developers/tracking-events/event
  const batch = JSON.stringify([
    { ...common, email: 'example@test.com', event: 'processed', sg_event_id: 'sg_event_id_processed' },
    { ...common, email: 'example@test.com', event: 'bounce', sg_event_id: '6g4ZI7SA-xmRDv57GoPIPw==', reason: '500 unknown recipient', status: '5.0.0', type: 'bounce' },
    { ...common, email: 'other@test.com', event: 'bounce', sg_event_id: 'blocked-1', reason: '421 4.7.0 try later, you are blocked', status: '4.7.0', type: 'blocked' },
    { ...common, email: 'other@test.com', event: 'delivered', sg_event_id: 'rWVYmVk90MjZJ9iohOBa3w==', response: '250 OK' },
    { ...common, email: 'other@test.com', event: 'spamreport', sg_event_id: '37nvH5QBz858KGVYCM4uOA==' },
  ]);
  const signed = (payload: string, key = sendgridKeys.privateKey) => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    return {
      'X-Twilio-Email-Event-Webhook-Timestamp': timestamp,
      'X-Twilio-Email-Event-Webhook-Signature': sign('sha256', Buffer.from(timestamp + payload), key).toString('base64'),
    };
  };
  const before = await state(sh.store, id);
  const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  assert.deepEqual(await post(sh, 'sendgrid', batch, signed(batch, otherKey)),
    { status: 401, json: { statusCode: 401, name: 'unauthorized', message: 'invalid Event Webhook signature' } });
  const tampered = signed(batch);
  assert.equal((await post(sh, 'sendgrid', batch.replace('500 unknown', '501 unknown'), tampered)).status, 401);
  assert.deepEqual(await post(sh, 'sendgrid', batch),
    { status: 401, json: { statusCode: 401, name: 'unauthorized', message: 'missing X-Twilio-Email-Event-Webhook-Signature or -Timestamp' } });
  assert.deepEqual(await state(sh.store, id), before);

  const ok = await post(sh, 'sendgrid', batch, signed(batch));
  assert.equal(ok.status, 200);
  assert.deepEqual((ok.json.events as { id: string; result: string }[]).map((e) => [e.id, e.result]), [
    ['6g4ZI7SA-xmRDv57GoPIPw==', 'applied'], ['blocked-1', 'applied'], ['rWVYmVk90MjZJ9iohOBa3w==', 'applied'],
    ['37nvH5QBz858KGVYCM4uOA==', 'applied'], ['sg_event_id_processed', 'ignored'],
  ]);
  const after = await state(sh.store, id);
  assert.deepEqual(after.recipients, [['example@test.com', 'bounced'], ['other@test.com', 'delivered']]);
  assert.deepEqual(after.events.slice(-4), [
    ['bounced', 'example@test.com', 'sendgrid', '500 5.0.0'],
    ['bounced', 'other@test.com', 'sendgrid', '421 4.7.0'],
    ['delivered', 'other@test.com', 'sendgrid', '250 2.0.0'],
    ['complained', 'other@test.com', 'sendgrid', undefined],
  ]);
  assert.deepEqual(after.suppressions, [['example@test.com', 'sendgrid bounce: 500 5.0.0 unknown recipient'], ['other@test.com', 'sendgrid complaint: spamreport']]);
  assert.equal((await sh.store.listEvents(id)).at(-3)!.detail, 'SendGrid gave up after a temporary failure; not suppressed');

  // SendGrid retries the whole batch: nothing twice.
  assert.equal((await post(sh, 'sendgrid', batch, signed(batch))).json.status, 'duplicate');
  assert.deepEqual(await state(sh.store, id), after);
  assert.equal(await metric(sh, 'sendgrid', 'duplicate'), 4);
});

test('mailgun: signed failed/permanent bounces; replayed tokens and old timestamps are refused', async (t) => {
  const sh = await start(t);
  // Mailgun's send reply: {"id": "<20130503182626.18666.16540@sandbox.mailgun.org>", "message": "Queued. Thank you."}; the transport records it without the brackets.
  const id = await seedProviderDelivery(sh.store, { route: 'mailgun', providerMessageId: '20130503182626.18666.16540@sandbox.mailgun.org', recipients: ['alice@example.com'] });
  const signature = (timestamp = Math.floor(Date.now() / 1000), token = randomBytes(25).toString('hex')) =>
    ({ timestamp: String(timestamp), token, signature: createHmac('sha256', MAILGUN_KEY).update(`${timestamp}${token}`).digest('hex') });
  // documentation.mailgun.com: webhook payload of a permanent failure
  const failed = (sig: ReturnType<typeof signature>, eventId = 'G9Bn5sl1TC6nu79C8C0bwg') => JSON.stringify({
    signature: sig,
    'event-data': {
      event: 'failed', id: eventId, timestamp: 1521233195.375624, 'log-level': 'error', severity: 'permanent', reason: 'bounce',
      envelope: { sender: 'bob@sandbox.mailgun.org', transport: 'smtp', targets: 'alice@example.com' },
      flags: { 'is-routed': false, 'is-authenticated': true, 'is-system-test': false, 'is-test-mode': false },
      'delivery-status': { 'attempt-no': 1, message: '5.1.1 The email account that you tried to reach does not exist.', code: 550, description: '', 'session-seconds': 0.4 },
      message: { headers: { to: 'Alice <alice@example.com>', 'message-id': '20130503182626.18666.16540@sandbox.mailgun.org', from: 'Bob <bob@sandbox.mailgun.org>', subject: 'Test permanent_fail webhook' }, attachments: [], size: 111 },
      recipient: 'alice@example.com', 'recipient-domain': 'example.com', campaigns: [], tags: ['my_tag_1'], 'user-variables': {},
    },
  });
  const before = await state(sh.store, id);
  const forged = { ...signature(), signature: 'd2271d12299f6592d9d44cd9d250f0704e4674c30d79d07c47a66f95ce71cf55' };
  assert.deepEqual(await post(sh, 'mailgun', failed(forged)), { status: 401, json: { statusCode: 401, name: 'unauthorized', message: 'invalid signature' } });
  assert.equal((await post(sh, 'mailgun', failed(signature(Math.floor(Date.now() / 1000) - 10 * 3600)))).json.message, 'signature timestamp too far from now (replayed?)');
  assert.equal((await post(sh, 'mailgun', failed(signature(Math.floor(Date.now() / 1000) + 3600)))).status, 401, 'from the future');
  assert.equal((await post(sh, 'mailgun', JSON.stringify({ 'event-data': {} }))).json.message, 'missing signature {timestamp, token, signature}');
  assert.deepEqual(await state(sh.store, id), before);

  const sig = signature();
  assert.equal((await post(sh, 'mailgun', failed(sig))).json.status, 'applied');
  const after = await state(sh.store, id);
  assert.deepEqual(after.recipients, [['alice@example.com', 'bounced']]);
  assert.deepEqual(after.events.at(-1), ['bounced', 'alice@example.com', 'mailgun', '550 5.1.1']);
  assert.deepEqual(after.suppressions, [['alice@example.com', 'mailgun bounce: 550 5.1.1 The email account that you tried to reach does not exist.']]);
  // The same request again (a retry): its event applies once.
  assert.equal((await post(sh, 'mailgun', failed(sig))).json.status, 'duplicate');
  // The same signature on another body: a replay.
  assert.deepEqual(await post(sh, 'mailgun', failed(sig, 'another-event')),
    { status: 401, json: { statusCode: 401, name: 'unauthorized', message: 'signature token already used for another request (replayed)' } });
  assert.deepEqual(await state(sh.store, id), after);

  const delivered = JSON.stringify({ signature: signature(), 'event-data': {
    event: 'delivered', id: 'CPgfbmQMTCKtHW6uIWtuVe', timestamp: 1521472262.908181, 'log-level': 'info', recipient: 'alice@example.com',
    'delivery-status': { code: 250, message: 'OK', description: '' }, message: { headers: { 'message-id': '20130503182626.18666.16540@sandbox.mailgun.org' } } } });
  assert.equal((await post(sh, 'mailgun', delivered)).json.status, 'applied');
  const last = (await sh.store.listEvents(id)).at(-1)!;
  assert.deepEqual([last.type, last.reply], ['delivered', { code: 250, enhanced: '2.0.0', text: 'OK' }]);
  const unknown = JSON.stringify({ signature: signature(), 'event-data': { event: 'complained', id: 'x1', recipient: 'alice@example.com', message: { headers: { 'message-id': 'nope@x' } } } });
  assert.equal((await post(sh, 'mailgun', unknown)).json.status, 'ignored');
});

test('resend: email.suppressed bounces and suppresses the address; email.failed bounces without suppressing it', async (t) => {
  const sh = await start(t);
  const signer = new Webhook(RESEND_SECRET);
  const signed = (svixId: string, payload: string, at = new Date()) => ({
    'svix-id': svixId, 'svix-timestamp': String(Math.floor(at.getTime() / 1000)), 'svix-signature': signer.sign(svixId, at, payload),
  });
  const suppressedId = 'bf6a7576-c02d-4585-8b0e-8c936091884c';
  const failedId = '56761188-7520-42d8-8898-ff6fc54ce618';
  const suppressedMsg = await seedProviderDelivery(sh.store, { route: 'resend', providerMessageId: suppressedId, recipients: ['gone@example.org'] });
  const failedMsg = await seedProviderDelivery(sh.store, { route: 'resend', providerMessageId: failedId, recipients: ['fine@example.org'] });
  // resend.com/docs/webhooks/emails/suppressed: the common email envelope; `suppressed` carries Resend's words.
  const suppressed = JSON.stringify({
    type: 'email.suppressed', created_at: '2025-12-29T19:22:57.316Z',
    data: {
      created_at: '2025-12-29 19:22:57.316919+00', email_id: suppressedId, from: 'Resend <onboarding@resend.dev>', to: ['gone@example.org'], subject: 'Hello world',
      suppressed: { message: 'This email address is on your suppression list because it previously bounced.', type: 'OnAccountSuppressionList' },
    },
  });
  // resend.com/docs/webhooks/emails/failed
  const failed = JSON.stringify({
    type: 'email.failed', created_at: '2024-11-22T23:41:12.126Z',
    data: {
      broadcast_id: '8b146471-e88e-4322-86af-016cd36fd216', created_at: '2024-11-22T23:41:11.894719+00:00', email_id: failedId,
      from: 'Acme <onboarding@resend.dev>', to: ['fine@example.org'], subject: 'Sending this example', template_id: '43f68331-0622-4e15-8202-246a0388854b',
      failed: { reason: 'reached_daily_quota' }, tags: { category: 'confirm_email' },
    },
  });

  assert.deepEqual((await post(sh, 'resend', suppressed, signed('msg_s', suppressed))).json,
    { status: 'applied', events: [{ id: 'msg_s', recipient: 'gone@example.org', kind: 'suppressed', result: 'applied' }] });
  const gone = await state(sh.store, suppressedMsg);
  assert.deepEqual(gone.recipients, [['gone@example.org', 'bounced']]);
  assert.deepEqual(gone.events.slice(-1), [['bounced', 'gone@example.org', 'resend', '550 5.7.1']]);
  assert.equal((await sh.store.listEvents(suppressedMsg)).at(-1)!.detail, 'Resend did not send: the address is on its suppression list');
  assert.deepEqual(gone.suppressions,
    [['gone@example.org', 'resend suppression list: 550 5.7.1 This email address is on your suppression list because it previously bounced.']]);

  assert.deepEqual((await post(sh, 'resend', failed, signed('msg_f', failed))).json,
    { status: 'applied', events: [{ id: 'msg_f', recipient: 'fine@example.org', kind: 'failed', result: 'applied' }] });
  const fine = await state(sh.store, failedMsg);
  assert.deepEqual(fine.recipients, [['fine@example.org', 'bounced']]);
  assert.deepEqual((await sh.store.getMessageSummary(failedMsg))!.recipients[0]!.lastReply, '554 5.0.0 reached_daily_quota');
  assert.equal((await sh.store.listEvents(failedMsg)).at(-1)!.detail, 'Resend did not send it; not suppressed');
  assert.deepEqual(fine.suppressions.map(([a]) => a), ['gone@example.org'], 'a quota failure says nothing about the address');
});

test('sendgrid: dropped for a bounced, spam-reporting or invalid address suppresses it; dropped as unsubscribed or for content does not', async (t) => {
  const sh = await start(t);
  const xMessageId = '14c5d75ce93.dfd.64b470';
  const rcpts = ['bounced@test.com', 'reported@test.com', 'invalid@test.com', 'unsubscribed@test.com', 'content@test.com'];
  const id = await seedProviderDelivery(sh.store, { route: 'sendgrid', providerMessageId: xMessageId, recipients: rcpts });
  // twilio.com/docs/sendgrid/for-developers/tracking-events/event#dropped; reasons from docs.sendgrid.com/glossary/drops
  const dropped = (email: string, reason: string, n: number) => ({
    email, timestamp: 1513299569, 'smtp-id': '<14c5d75ce93.dfd.64b470@ismtpd-555>', event: 'dropped', category: 'cat facts',
    sg_event_id: `zmzJhfJgAfUSOW80yEbPyw${n}`, sg_message_id: `${xMessageId}.filter0001.16648.5515E0B88.0`, reason,
  });
  const batch = JSON.stringify([
    dropped('bounced@test.com', 'Bounced Address', 1), dropped('reported@test.com', 'Spam Reporting Address', 2), dropped('invalid@test.com', 'Invalid', 3),
    dropped('unsubscribed@test.com', 'Unsubscribed Address', 4), dropped('content@test.com', 'Spam Content', 5),
  ]);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const res = await post(sh, 'sendgrid', batch, {
    'X-Twilio-Email-Event-Webhook-Timestamp': timestamp,
    'X-Twilio-Email-Event-Webhook-Signature': sign('sha256', Buffer.from(timestamp + batch), sendgridKeys.privateKey).toString('base64'),
  });
  assert.equal(res.status, 200);
  assert.deepEqual((res.json.events as { recipient: string; kind: string; result: string }[]).map((e) => [e.recipient, e.kind, e.result]), [
    ['bounced@test.com', 'suppressed', 'applied'], ['reported@test.com', 'suppressed', 'applied'], ['invalid@test.com', 'suppressed', 'applied'],
    ['unsubscribed@test.com', 'failed', 'applied'], ['content@test.com', 'failed', 'applied'],
  ]);
  const after = await state(sh.store, id);
  assert.deepEqual(after.recipients, rcpts.map((r) => [r, 'bounced']), 'none of them was sent');
  assert.deepEqual(after.suppressions, [
    ['bounced@test.com', 'sendgrid suppression list: 550 5.7.1 Bounced Address'],
    ['invalid@test.com', 'sendgrid suppression list: 550 5.7.1 Invalid'],
    ['reported@test.com', 'sendgrid suppression list: 550 5.7.1 Spam Reporting Address'],
  ]);
  assert.deepEqual((await sh.store.getMessageSummary(id))!.recipients.map((r) => r.lastReply).slice(3),
    ['554 5.0.0 Unsubscribed Address', '554 5.0.0 Spam Content']);
});
