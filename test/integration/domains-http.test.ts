// /domains over the API: create, get, verify, rotate, retire a selector, delete; errors in the
// Resend shape; private keys never in an answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKey } from '../../src/credentials/api-keys.ts';
import { dkimRecordValue } from '../../src/dkim/keys.ts';
import { startDnsServer, type DnsRecords } from '../helpers/dns-server.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test('/domains: the whole life of a domain over the API', async (t) => {
  const zone: DnsRecords = {};
  const dns = await startDnsServer(zone, t);
  const s = await startTestSmarthost(t, { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9', SMARTHOST_DNS_SERVERS: dns.server, SMARTHOST_SECRET_KEY: 'sealed' });
  const { key } = await createApiKey(s.store, 'ops', ['example.com']);
  const call = async (method: string, path: string, body?: unknown, token = key) => {
    const res = await fetch(`http://127.0.0.1:${s.http!.port}${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, json: (text ? JSON.parse(text) : undefined) as Json };
  };

  assert.deepEqual((await call('GET', '/domains', undefined, 'nope')).json, { statusCode: 401, name: 'invalid_api_key', message: 'API key is invalid or revoked' });
  assert.deepEqual((await call('POST', '/domains', { name: 'not a domain' })).json,
    { statusCode: 422, name: 'validation_error', message: 'not a domain name: "not a domain"' });

  const created = await call('POST', '/domains', { name: 'Example.COM', ed25519: true });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.name, 'example.com');
  assert.equal(created.json.status, 'not_verified');
  const [rsa, ed] = created.json.selectors as Json[];
  assert.deepEqual([rsa!.algorithm, rsa!.signing, ed!.algorithm, ed!.selector], ['rsa-sha256', true, 'ed25519-sha256', `${rsa!.selector}e`]);
  assert.deepEqual((created.json.records as Json[]).map((r) => [r.record, r.name]), [
    ['dkim', `${rsa!.selector}._domainkey.example.com`], ['dkim', `${ed!.selector}._domainkey.example.com`],
    ['spf', 'example.com'], ['dmarc', '_dmarc.example.com'],
  ]);
  assert.equal((created.json.records as Json[])[2]!.value, 'v=spf1 ip4:127.0.0.1 ~all');
  // No private key in any form: neither the PEM nor its sealed form from the store.
  const stored = await s.store.listDomainKeys('example.com');
  assert.ok(stored[0]!.privateKey.startsWith('enc:v1:'));
  for (const k of stored) assert.ok(!created.text.includes(k.privateKey));
  assert.doesNotMatch(created.text, /PRIVATE KEY|enc:v1:|private/i);

  assert.deepEqual((await call('POST', '/domains', { name: 'example.com' })).json,
    { statusCode: 409, name: 'conflict', message: 'example.com already has DKIM keys; see them with: smarthost domains show example.com' });

  for (const k of stored) zone[`${k.selector}._domainkey.example.com`] = { txt: [dkimRecordValue(k.algorithm, k.publicKey).match(/.{1,255}/g)!] };
  zone['example.com'] = { txt: ['v=spf1 ip4:127.0.0.1 ~all'] };
  const verified = await call('POST', '/domains/example.com/verify', {});
  assert.equal(verified.status, 200, verified.text);
  assert.equal(verified.json.ok, false);
  assert.deepEqual((verified.json.records as Json[]).map((r) => [r.record, r.status]), [['dkim', 'ok'], ['dkim', 'ok'], ['spf', 'ok'], ['dmarc', 'missing']]);
  assert.equal((verified.json.records as Json[])[3]!.hint, 'DMARC missing: publish _dmarc.example.com TXT "v=DMARC1; p=none; rua=mailto:dmarc@example.com"');
  zone['_dmarc.example.com'] = { txt: ['v=DMARC1; p=none; rua=mailto:dmarc@example.com'] };
  assert.equal((await call('POST', '/domains/example.com/verify', {})).json.ok, true);

  const shown = await call('GET', '/domains/example.com');
  assert.equal(shown.json.status, 'verified');
  assert.equal(shown.json.verification.ok, true);
  assert.doesNotMatch(shown.text, /PRIVATE KEY|enc:v1:/);

  const rotated = await call('POST', '/domains/example.com/rotate');
  assert.equal(rotated.status, 200, rotated.text);
  assert.deepEqual(rotated.json.signing, [`${rsa!.selector}-2`, `${rsa!.selector}-2e`]);
  assert.deepEqual(rotated.json.rotated_out, [rsa!.selector, ed!.selector]);
  assert.deepEqual((rotated.json.records as Json[]).map((r) => r.name), [`${rsa!.selector}-2._domainkey.example.com`, `${rsa!.selector}-2e._domainkey.example.com`]);
  assert.deepEqual((await call('DELETE', `/domains/example.com/selectors/${rsa!.selector}-2`)).json, {
    statusCode: 409, name: 'conflict', message: `${rsa!.selector}-2 still signs example.com's mail: rotate first (smarthost domains rotate example.com)`,
  });
  assert.deepEqual((await call('DELETE', '/domains/example.com/selectors/nope')).json,
    { statusCode: 404, name: 'not_found', message: 'example.com has no selector nope' });
  assert.equal((await call('DELETE', `/domains/example.com/selectors/${rsa!.selector}`)).status, 204);
  const list = await call('GET', '/domains');
  assert.deepEqual(list.json.data.map((d: Json) => [d.name, d.selectors.map((k: Json) => [k.selector, k.signing])]), [
    ['example.com', [[ed!.selector, false], [`${rsa!.selector}-2`, true], [`${rsa!.selector}-2e`, true]]],
  ]);

  assert.equal((await call('DELETE', '/domains/example.com')).status, 204);
  assert.deepEqual((await call('DELETE', '/domains/example.com')).json,
    { statusCode: 404, name: 'not_found', message: 'no domain example.com' });
  assert.deepEqual(await s.store.listDomainKeys('example.com'), []);

  const doc = (await call('GET', '/openapi.json')).json;
  assert.deepEqual(Object.keys(doc.paths).filter((p) => p.startsWith('/domains')),
    ['/domains', '/domains/{name}', '/domains/{name}/verify', '/domains/{name}/rotate', '/domains/{name}/selectors/{selector}']);
});

test('/domains with mta_sts: the records and policy file on create and show, and their check on verify', async (t) => {
  const zone: DnsRecords = { 'example.com': { mx: [{ exchange: 'mx1.example.com', priority: 10 }] } };
  const dns = await startDnsServer(zone, t);
  const s = await startTestSmarthost(t, { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9', SMARTHOST_DNS_SERVERS: dns.server });
  const { key } = await createApiKey(s.store, 'ops', ['example.com']);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${s.http!.port}${path}`, {
      method, headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Json };
  };
  const created = await call('POST', '/domains', { name: 'example.com', mta_sts: true });
  assert.equal(created.status, 201);
  const [sts, rpt] = (created.json.records as Json[]).slice(-2);
  assert.match(sts!.value, /^v=STSv1; id=[0-9a-f]{20}$/);
  assert.deepEqual([sts!.name, sts!.policy], ['_mta-sts.example.com', 'version: STSv1\r\nmode: testing\r\nmx: mx1.example.com\r\nmax_age: 604800\r\n']);
  assert.deepEqual([rpt!.name, rpt!.value, rpt!.policy], ['_smtp._tls.example.com', 'v=TLSRPTv1; rua=mailto:tls-reports@example.com', undefined]);
  assert.deepEqual(((await call('GET', '/domains/example.com?mta_sts=true')).json.records as Json[]).slice(-2), [sts, rpt]);
  assert.equal(((await call('GET', '/domains/example.com')).json.records as Json[]).some((r) => r.record === 'mta-sts'), false);
  assert.deepEqual((await call('GET', '/domains/example.com?mta_sts=yes')).json,
    { statusCode: 422, name: 'validation_error', message: 'mta_sts: Invalid option: expected one of "true"|"false"' });

  const verified = await call('POST', '/domains/example.com/verify', { mta_sts: true });
  const byRecord = Object.fromEntries((verified.json.records as Json[]).map((r) => [r.record, [r.status, r.hint]]));
  assert.deepEqual([byRecord['mta-sts'], byRecord['tls-rpt']], [
    ['missing', `MTA-STS record missing: publish _mta-sts.example.com TXT "${sts!.value}"`],
    ['missing', 'TLS-RPT record missing: publish _smtp._tls.example.com TXT "v=TLSRPTv1; rua=mailto:tls-reports@example.com"'],
  ]);
});
