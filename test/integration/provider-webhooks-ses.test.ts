// Amazon SES notifications through SNS, end to end with real TLS: smarthost runs as a child process
// that trusts the test CA (NODE_EXTRA_CA_CERTS, as an operator would); a loopback HTTPS server plays
// the SNS host, serving the signing certificate and answering the subscription confirmation. Each
// SNS message is signed here with the test RSA key, the way SNS documents it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqliteStore, SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { spawnSmarthost } from '../helpers/child-smarthost.ts';
import { testPki } from '../helpers/pki.ts';
import { freePort } from '../helpers/ports.ts';
import { seedProviderDelivery } from '../helpers/provider-delivery.ts';
import { requireProgram } from '../helpers/run.ts';

const TOPIC = 'arn:aws:sns:us-west-2:123456789012:ses-events';
const SES_MESSAGE_ID = '00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000';

test('ses: SNS subscription confirmed by GET; signed Bounce, Complaint and Delivery notifications applied once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smarthost-ses-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  // The signing certificate: RSA, as SNS's are. It is trusted because it comes over HTTPS from the SNS host.
  execFileSync(requireProgram('openssl'), ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=sns.amazonaws.com', '-days', '2',
    '-keyout', join(dir, 'sns.key'), '-out', join(dir, 'sns.pem')], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
  const signingKey = readFileSync(join(dir, 'sns.key'));
  const pki = testPki();
  writeFileSync(join(dir, 'ca.pem'), pki.ca);
  const tls = pki.issue({ cn: 'localhost', san: ['DNS:localhost', 'IP:127.0.0.1'] });
  const requests: string[] = [];
  const sns = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    requests.push(req.url!);
    if (req.url === '/SimpleNotificationService-test.pem') return res.end(readFileSync(join(dir, 'sns.pem')));
    if (req.url!.startsWith('/?Action=ConfirmSubscription&')) return res.end('<ConfirmSubscriptionResponse><ConfirmSubscriptionResult><SubscriptionArn>x</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>');
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => sns.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => sns.close(() => resolve())));
  const snsHost = `localhost:${(sns.address() as { port: number }).port}`;

  // The delivery SES accepted: three recipients under one SES MessageId.
  const dataDir = join(dir, 'data');
  const seed = openSqliteStore(dataDir);
  const id = await seedProviderDelivery(seed, { route: 'ses', providerMessageId: SES_MESSAGE_ID, recipients: ['jane@example.com', 'mary@example.com', 'richard@example.com'] });
  await seed.close();

  const http = await freePort();
  await spawnSmarthost(t, {
    NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'),
    SMARTHOST_DATA_DIR: dataDir, SMARTHOST_HOSTNAME: 'relay.test', SMARTHOST_LISTEN: '127.0.0.1',
    SMARTHOST_SUBMISSION_PORT: String(await freePort()), SMARTHOST_SMTPS_PORT: String(await freePort()), SMARTHOST_ALT_PORT: String(await freePort()),
    SMARTHOST_HTTP_PORT: String(http), SMARTHOST_DNS_SERVERS: '127.0.0.1:9', SMARTHOST_MIN_FREE_DISK: '0',
    SMARTHOST_SES_SNS_TOPIC_ARN: TOPIC, SMARTHOST_SES_SNS_CERT_HOST: snsHost,
  }, { readyPort: http, readyTimeoutMs: 60_000 });

  // docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html: "Name\nvalue\n" for these fields, in this order.
  const signed = (m: Record<string, string>, version: '1' | '2' = '2') => {
    const fields = m.Type === 'Notification' ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
    const text = fields.filter((f) => f in m).map((f) => `${f}\n${m[f]}\n`).join('');
    const signature = sign(version === '1' ? 'sha1' : 'sha256', Buffer.from(text), signingKey).toString('base64');
    return { ...m, SignatureVersion: version, Signature: signature, SigningCertURL: `https://${snsHost}/SimpleNotificationService-test.pem` };
  };
  const post = async (m: Record<string, string>) => {
    const res = await fetch(`http://127.0.0.1:${http}/providers/ses/webhook`, {
      method: 'POST', body: JSON.stringify(m), headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': m.Type ?? '' },
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const notification = (messageId: string, message: object) => ({
    Type: 'Notification', MessageId: messageId, TopicArn: TOPIC, Message: JSON.stringify(message), Timestamp: new Date().toISOString(),
    UnsubscribeURL: `https://${snsHost}/?Action=Unsubscribe&SubscriptionArn=${TOPIC}:c9135db0-26c4-47ec-8998-413945fb5a96`,
  });
  const mail = { timestamp: '2016-01-27T14:59:38.237Z', source: 'john@example.com', messageId: SES_MESSAGE_ID, destination: ['jane@example.com', 'mary@example.com', 'richard@example.com'] };

  // SubscriptionConfirmation (docs.aws.amazon.com/sns/latest/dg/http-subscription-confirmation-json.html).
  const token = '2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736';
  const subscribeUrl = `https://${snsHost}/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=${token}`;
  const confirmation = { Type: 'SubscriptionConfirmation', MessageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b', Token: token, TopicArn: TOPIC,
    Message: `You have chosen to subscribe to the topic ${TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
    SubscribeURL: subscribeUrl, Timestamp: new Date().toISOString() };
  assert.deepEqual(await post({ ...signed(confirmation), SubscribeURL: `https://127.0.0.1:9/?Action=ConfirmSubscription` }),
    { status: 401, json: { statusCode: 401, name: 'unauthorized', message: 'invalid SNS signature: The message signature is invalid.' } });
  assert.deepEqual(await post(signed({ ...confirmation, SubscribeURL: 'https://127.0.0.1:9/?Action=ConfirmSubscription' })),
    { status: 401, json: { statusCode: 401, name: 'unauthorized', message: `SubscribeURL is not on https://${snsHost}` } });
  assert.equal(requests.filter((u) => u.startsWith('/?Action=ConfirmSubscription')).length, 0);
  // Our side failing (certificate or confirmation unreachable) is a 500: SNS retries.
  const internal = { status: 500, json: { statusCode: 500, name: 'internal_server_error', message: 'Internal server error; the request may be retried' } };
  assert.deepEqual(await post({ ...signed(confirmation), SigningCertURL: `https://${snsHost}/SimpleNotificationService-missing.pem` }), internal);
  const unconfirmable = `https://${snsHost}/?Action=Nope`;
  assert.deepEqual(await post(signed({ ...confirmation, SubscribeURL: unconfirmable })), internal);
  assert.deepEqual(await post(signed(confirmation)),
    { status: 200, json: { status: 'confirmed', events: [], note: `subscribed to ${TOPIC}` } });
  assert.ok(requests.includes(new URL(subscribeUrl).pathname + new URL(subscribeUrl).search), `SubscribeURL was fetched: ${requests.join(', ')}`);

  // Bounce (docs.aws.amazon.com/ses/latest/dg/notification-examples.html), SignatureVersion 2.
  const bounce = notification('22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324', {
    notificationType: 'Bounce',
    bounce: {
      bounceType: 'Permanent', reportingMTA: 'dns; email.example.com', bounceSubType: 'General', timestamp: '2016-01-27T14:59:38.237Z',
      feedbackId: '00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000', remoteMtaIp: '127.0.2.0',
      bouncedRecipients: [{ emailAddress: 'jane@example.com', status: '5.1.1', action: 'failed', diagnosticCode: 'smtp; 550 5.1.1 <jane@example.com>... User unknown' }],
    },
    mail,
  });
  const db = () => new SqliteStore(join(dataDir, 'smarthost.db'));
  const snapshot = async () => {
    const s = db();
    try {
      return { recipients: (await s.getMessageSummary(id))!.recipients.map((r) => [r.address, r.status]), events: (await s.listEvents(id)).length,
        suppressions: (await s.listSuppressions()).map((x) => [x.address, x.reason]) };
    } finally {
      await s.close();
    }
  };
  const before = await snapshot();
  assert.deepEqual(await post({ ...signed(bounce), Message: bounce.Message.replace('Permanent', 'Transient') }),
    { status: 401, json: { statusCode: 401, name: 'unauthorized', message: 'invalid SNS signature: The message signature is invalid.' } });
  assert.deepEqual(await post({ ...signed(bounce), SigningCertURL: 'https://127.0.0.1:9/SimpleNotificationService-test.pem' }),
    { status: 401, json: { statusCode: 401, name: 'unauthorized', message: 'invalid SNS signature: The certificate is located on an invalid domain.' } });
  const otherTopic = 'arn:aws:sns:us-west-2:123456789012:someone-else';
  assert.deepEqual(await post(signed({ ...bounce, TopicArn: otherTopic })),
    { status: 401, json: { statusCode: 401, name: 'unauthorized', message: `SNS message from topic ${otherTopic}, not ${TOPIC}` } });
  assert.deepEqual(await snapshot(), before, 'refused messages change nothing');

  assert.deepEqual(await post(signed(bounce)), { status: 200, json: { status: 'applied', events: [
    { id: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324', recipient: 'jane@example.com', kind: 'bounce', result: 'applied' }] } });
  assert.equal((await post(signed(bounce))).json.status, 'duplicate', 'SNS retries with the same MessageId');

  // Complaint, SignatureVersion 1 (SHA1withRSA).
  const complaint = notification('8fe4d4a4-0a5b-5b4d-8f4e-9b6e0c1a2b3c', {
    notificationType: 'Complaint',
    complaint: { userAgent: 'AnyCompany Feedback Loop (V0.01)', complainedRecipients: [{ emailAddress: 'richard@example.com' }], complaintFeedbackType: 'abuse',
      arrivalDate: '2016-01-27T14:59:38.237Z', timestamp: '2016-01-27T14:59:38.237Z', feedbackId: '000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000' },
    mail,
  });
  assert.equal((await post(signed(complaint, '1'))).json.status, 'applied');
  // Delivery, with the remote server's reply.
  const delivery = notification('5f2f7d58-2f0e-4d4b-9a51-6c6f3b8d9e01', {
    notificationType: 'Delivery', mail,
    delivery: { timestamp: '2014-05-28T22:41:01.184Z', processingTimeMillis: 546, recipients: ['mary@example.com'], smtpResponse: '250 ok:  Message 64111812 accepted', reportingMTA: 'a8-70.smtp-out.amazonses.com' },
  });
  assert.equal((await post(signed(delivery))).json.status, 'applied');
  const unknown = notification('0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6', { notificationType: 'Delivery', mail: { ...mail, messageId: 'not-ours' }, delivery: { recipients: ['mary@example.com'] } });
  assert.equal((await post(signed(unknown))).json.status, 'ignored');
  assert.deepEqual(await post(signed({ ...bounce, Message: 'Hello world!' })),
    { status: 400, json: { statusCode: 400, name: 'validation_error', message: 'body is not JSON: Unexpected token \'H\', "Hello world!" is not valid JSON' } });

  const s = db();
  t.after(() => s.close());
  assert.deepEqual((await s.getMessageSummary(id))!.recipients.map((r) => [r.address, r.status]),
    [['jane@example.com', 'bounced'], ['mary@example.com', 'delivered'], ['richard@example.com', 'delivered']]);
  assert.deepEqual((await s.listEvents(id)).slice(-3).map((e) => [e.type, e.recipient, e.route, e.reply && `${e.reply.code} ${e.reply.enhanced} ${e.reply.text}`]), [
    ['bounced', 'jane@example.com', 'ses', '550 5.1.1 <jane@example.com>... User unknown'],
    ['complained', 'richard@example.com', 'ses', undefined],
    ['delivered', 'mary@example.com', 'ses', '250 2.0.0 ok: Message 64111812 accepted'],
  ]);
  assert.deepEqual((await s.listSuppressions()).map((x) => [x.address, x.reason]),
    [['jane@example.com', 'ses bounce: 550 5.1.1 <jane@example.com>... User unknown'], ['richard@example.com', 'ses complaint: abuse']]);
});
