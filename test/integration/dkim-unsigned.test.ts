// A From: domain the sender may use but that has no DKIM key: accepted, sent unsigned and flagged on the
// message (queue show, GET /emails/:id) and in `domains list`; with SMARTHOST_REQUIRE_DKIM refused on
// both ingresses, and nothing queued.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKey } from '../../src/credentials/api-keys.ts';
import { generateDomainKey } from '../../src/dkim/keys.ts';
import { smarthostCli } from '../helpers/cli-run.ts';
import { authedSession, message, send } from '../helpers/session.ts';
import { startTestSmarthost, TEST_PASSWORD, TEST_USER } from '../helpers/smarthost.ts';

const ENV = { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9', SMARTHOST_USERS: `${TEST_USER}:${TEST_PASSWORD}:example.com;nokey.test` };

test('unsigned mail is accepted, flagged on the message and counted per domain', async (t) => {
  const s = await startTestSmarthost(t, ENV);
  const g = await generateDomainKey('rsa-sha256', 'sh202611');
  await s.store.addDomainKey({ domain: 'example.com', selector: 'sh202611', algorithm: 'rsa-sha256', privateKey: g.privateKeyPem, publicKey: g.publicKey, createdAt: 1 });
  const c = await authedSession(s.ports.submission);
  const unsigned = await send(c, 'app@nokey.test', ['rcpt@example.org'], message({ From: 'App <app@nokey.test>' }));
  const signed = await send(c, 'app@example.com', ['rcpt@example.org'], message());
  c.close();
  const unsignedId = /queued as (\S+)/.exec(unsigned.last)?.[1];
  const signedId = /queued as (\S+)/.exec(signed.last)?.[1];
  assert.ok(unsignedId && signedId, `${unsigned.last} / ${signed.last}`);
  assert.doesNotMatch((await s.store.getMessage(unsignedId))!.raw.toString('latin1'), /DKIM-Signature/i);
  assert.equal(s.logs.filter((l) => l.dkim === 'unsigned' && l.domain === 'nokey.test' && l.msg_id === unsignedId).length, 1);

  const { key } = await createApiKey(s.store, 'ops', ['example.com']);
  const get = async (id: string) =>
    (await (await fetch(`http://127.0.0.1:${s.http!.port}/emails/${id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { dkim: unknown };
  assert.deepEqual((await get(unsignedId)).dkim, { domain: 'nokey.test', status: 'unsigned', selectors: [] });
  assert.deepEqual((await get(signedId)).dkim, { domain: 'example.com', status: 'signed', selectors: ['sh202611'] });

  const env = { SMARTHOST_DATA_DIR: s.config.dataDir };
  const show = await smarthostCli(['queue', 'show', unsignedId], env);
  assert.match(show.stdout, /^dkim: unsigned: nokey\.test has no DKIM key \(add one with: smarthost domains add nokey\.test\)$/m);
  assert.match((await smarthostCli(['queue', 'show', signedId], env)).stdout, /^dkim: signed d=example\.com s=sh202611$/m);
  const list = await smarthostCli(['domains', 'list'], env);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(list.stdout.trim().split('\n'), [
    'DOMAIN\tSELECTORS\tVERIFICATION\tLAST CHECKED\tUNSIGNED MAIL',
    'example.com\tsh202611 (rsa, signing)\tnever\tnever\t0',
    'nokey.test\tno DKIM key\t-\tnever\t1',
  ]);
});

test('SMARTHOST_REQUIRE_DKIM: both HTTP dialects refuse in their own error shape, and nothing is queued', async (t) => {
  const s = await startTestSmarthost(t, { ...ENV, SMARTHOST_REQUIRE_DKIM: 'true' });
  const { key } = await createApiKey(s.store, 'ci', ['nokey.test']);
  const post = async (path: string, body: unknown, headers: Record<string, string>) => {
    const res = await fetch(`http://127.0.0.1:${s.http!.port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.status, json: await res.json() };
  };
  const text = 'Message refused: nokey.test has no DKIM key and SMARTHOST_REQUIRE_DKIM is on (add one with: smarthost domains add nokey.test)';
  assert.deepEqual(await post('/emails', { from: 'app@nokey.test', to: 'a@example.org', subject: 'x', text: 'x' }, { authorization: `Bearer ${key}` }),
    { status: 403, json: { statusCode: 403, name: 'validation_error', message: text } });
  assert.deepEqual(await post('/email', { From: 'app@nokey.test', To: 'a@example.org', Subject: 'x', TextBody: 'x' }, { 'x-postmark-server-token': key }),
    { status: 403, json: { ErrorCode: 400, Message: text } });
  const c = await authedSession(s.ports.submission);
  const r = await send(c, 'app@nokey.test', ['rcpt@example.org'], message({ From: 'app@nokey.test' }));
  c.close();
  assert.equal(r.last, `550 5.7.1 ${text}`);
  assert.equal((await s.store.listMessages({ limit: 10 })).length, 0);
});
