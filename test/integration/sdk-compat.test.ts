// The official Resend and Postmark SDKs work against smarthost by changing only
// their base URL, and get smarthost's errors in the form they expect.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServerClient } from 'postmark';
import { Resend } from 'resend';
import { createApiKey } from '../../src/credentials/api-keys.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';

const NO_DELIVERY = { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9' };

test('resend SDK: emails.send and batch.send succeed; errors come back as {name, message, statusCode}', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const { key } = await createApiKey(s.store, 'sdk', ['example.com']);
  const resend = new Resend(key, { baseUrl: `http://127.0.0.1:${s.http!.port}` } as never);
  const sent = await resend.emails.send({
    from: 'App <app@example.com>', to: ['a@example.org'], subject: 'From the SDK', html: '<b>hi</b>',
    attachments: [{ filename: 'note.txt', content: Buffer.from('note') }], tags: [{ name: 'kind', value: 'sdk' }],
  });
  assert.equal(sent.error, null);
  assert.match(sent.data!.id, /^[0-9A-Z]{26}$/);
  assert.match((await s.store.getMessage(sent.data!.id))!.raw.toString(), /Subject: From the SDK/);

  const batch = await resend.batch.send([
    { from: 'app@example.com', to: 'b@example.org', subject: 'one', text: '1' },
    { from: 'app@example.com', to: 'c@example.org', subject: 'two', text: '2' },
  ]);
  assert.equal(batch.error, null);
  assert.equal(batch.data!.data.length, 2);

  const refused = await resend.emails.send({ from: 'ceo@bank.example', to: 'a@example.org', subject: 'x', text: 'x' });
  assert.equal(refused.data, null);
  assert.equal(refused.error?.name, 'validation_error');
  assert.match(refused.error!.message, /not allowed for this API key/);

  const wrongKey = new Resend('sh_wrong', { baseUrl: `http://127.0.0.1:${s.http!.port}` } as never);
  const denied = await wrongKey.emails.send({ from: 'app@example.com', to: 'a@example.org', subject: 'x', text: 'x' });
  assert.equal(denied.error?.name, 'invalid_api_key');
  assert.equal((await s.store.listMessages({ limit: 10 })).length, 3);
});

test('postmark SDK: sendEmail and sendEmailBatch succeed; errors raise with ErrorCode', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const { key } = await createApiKey(s.store, 'pm', ['example.com']);
  const client = new ServerClient(key, { useHttps: false, requestHost: `127.0.0.1:${s.http!.port}` });
  const r = await client.sendEmail({ From: 'app@example.com', To: 'a@example.org', Subject: 'Hi', TextBody: 'Hello', Tag: 'welcome' });
  assert.equal(r.ErrorCode, 0);
  assert.equal(r.Message, 'OK');
  assert.match(r.MessageID, /^[0-9A-Z]{26}$/);
  const batch = await client.sendEmailBatch([
    { From: 'app@example.com', To: 'b@example.org', Subject: '1', TextBody: '1' },
    { From: 'app@example.com', To: 'c@example.org', Subject: '2', HtmlBody: '<p>2</p>' },
  ]);
  assert.deepEqual(batch.map((x) => x.ErrorCode), [0, 0]);
  await assert.rejects(
    () => client.sendEmail({ From: 'ceo@bank.example', To: 'a@example.org', Subject: 'x', TextBody: 'x' }),
    (err: { message: string; statusCode: number }) => err.statusCode === 403 && /not allowed for this API key/.test(err.message),
  );
  const bad = new ServerClient('sh_wrong', { useHttps: false, requestHost: `127.0.0.1:${s.http!.port}` });
  await assert.rejects(() => bad.sendEmail({ From: 'app@example.com', To: 'a@example.org', Subject: 'x', TextBody: 'x' }), (err: { statusCode: number }) => err.statusCode === 401);
  assert.equal((await s.store.listMessages({ limit: 10 })).length, 3);
});
