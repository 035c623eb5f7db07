// `domains verify` against a local DNS server: correct, missing and wrong DKIM, SPF and DMARC records,
// each with its exact hint; the verdict is stored and shown by `domains list`.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { dkimRecordValue } from '../../src/dkim/keys.ts';

/** A TXT value as 255-octet strings, as a zone publishes a long one. */
const strings = (value: string) => value.match(/.{1,255}/g)!;
import { addDomain, describeDomain, verifyAndStore } from '../../src/domains/manage.ts';
import { openStore } from '../../src/store/open-store.ts';
import type { DomainKey, RecordVerdict } from '../../src/store/store.ts';
import { smarthostCli } from '../helpers/cli-run.ts';
import { startDnsServer, type DnsRecords } from '../helpers/dns-server.ts';
import { testPki } from '../helpers/pki.ts';

const pki = testPki();

async function setup(t: import('node:test').TestContext, env: Record<string, string> = {}) {
  const records: DnsRecords = {};
  const dns = await startDnsServer(records, t);
  const fullEnv = {
    SMARTHOST_DATA_DIR: mkdtempSync(join(tmpdir(), 'smarthost-domains-')), SMARTHOST_HOSTNAME: 'relay.test', SMARTHOST_DNS_SERVERS: dns.server, ...env,
  };
  const config = loadConfig(fullEnv);
  const store = await openStore(config);
  t.after(() => store.close());
  const keys = await addDomain(store, config, 'Example.TEST', { ed25519: true });
  const [rsa, ed] = keys as [DomainKey, DomainKey];
  const verify = async () => (await verifyAndStore(store, config, 'example.test', { timeoutMs: 2000 })).results;
  return { records, config, store, rsa, ed, verify, env: fullEnv };
}

const byRecord = (results: RecordVerdict[]) => Object.fromEntries(results.map((r) => [`${r.record} ${r.name}`, r]));

function publishAll(records: DnsRecords, rsa: DomainKey, ed: DomainKey) {
  records[`${rsa.selector}._domainkey.example.test`] = { txt: [strings(dkimRecordValue('rsa-sha256', rsa.publicKey))] };
  records[`${ed.selector}._domainkey.example.test`] = { txt: [dkimRecordValue('ed25519-sha256', ed.publicKey)] };
  records['example.test'] = { txt: ['v=spf1 a:relay.test ~all', 'google-site-verification=abc'] };
  records['_dmarc.example.test'] = { txt: ['v=DMARC1; p=none; rua=mailto:dmarc@example.test'] };
}

test('correct records: every record ok, the verdict is stored, and `domains list` shows it', async (t) => {
  const { records, rsa, ed, verify, store, env } = await setup(t);
  publishAll(records, rsa, ed);
  const results = await verify();
  assert.deepEqual(results.map((r) => [r.record, r.name, r.status]), [
    ['dkim', `${rsa.selector}._domainkey.example.test`, 'ok'],
    ['dkim', `${ed.selector}._domainkey.example.test`, 'ok'],
    ['spf', 'example.test', 'ok'],
    ['dmarc', '_dmarc.example.test', 'ok'],
  ]);
  const [check] = await store.listDomainChecks('example.test');
  assert.equal(check?.ok, true);
  await store.close();

  const list = await smarthostCli(['domains', 'list'], env);
  assert.equal(list.code, 0, list.stderr);
  const line = list.stdout.split('\n').find((l) => l.startsWith('example.test\t'));
  assert.match(line ?? '', new RegExp(`^example\\.test\\t${rsa.selector} \\(rsa, signing\\), ${ed.selector} \\(ed25519, signing\\)\\tverified\\t\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\t0$`));

  const cli = await smarthostCli(['domains', 'verify', 'example.test'], env);
  assert.equal(cli.code, 0, cli.stdout + cli.stderr);
  assert.match(cli.stdout, /✔ all 4 records are published as they should be\n$/);
});

test('missing records: each is reported missing with what to publish; the CLI exits 1', async (t) => {
  const { records, rsa, ed, verify, env } = await setup(t);
  records['example.test'] = { txt: ['google-site-verification=abc'] };
  const r = byRecord(await verify());
  assert.equal(r[`dkim ${rsa.selector}._domainkey.example.test`]?.hint,
    `DKIM record missing: publish ${rsa.selector}._domainkey.example.test TXT as printed by: smarthost domains show example.test`);
  assert.equal(r[`dkim ${ed.selector}._domainkey.example.test`]?.status, 'missing');
  assert.equal(r['spf example.test']?.status, 'missing');
  assert.equal(r['spf example.test']?.hint, 'SPF missing at example.test: publish "v=spf1 a:relay.test ~all"');
  assert.equal(r['dmarc _dmarc.example.test']?.hint, 'DMARC missing: publish _dmarc.example.test TXT "v=DMARC1; p=none; rua=mailto:dmarc@example.test"');

  const cli = await smarthostCli(['domains', 'verify', 'example.test'], env);
  assert.equal(cli.code, 1);
  assert.match(cli.stdout, /^✖ spf\texample\.test\tmissing\n {4}→ SPF missing at example\.test: publish "v=spf1 a:relay\.test ~all"$/m);
  assert.match(cli.stdout, /✖ 4 of 4 records need attention\n$/);
  const list = await smarthostCli(['domains', 'list'], env);
  assert.match(list.stdout, /^example\.test\t.*\tfailing\t/m);
});

test('wrong records: truncated DKIM key, wrong k=, two SPF records, a broken DMARC policy', async (t) => {
  const { records, rsa, ed, verify } = await setup(t);
  publishAll(records, rsa, ed);
  // Only the first 255-octet string of the RSA record was pasted.
  records[`${rsa.selector}._domainkey.example.test`] = { txt: [dkimRecordValue('rsa-sha256', rsa.publicKey).slice(0, 255)] };
  records[`${ed.selector}._domainkey.example.test`] = { txt: [`v=DKIM1; k=rsa; p=${ed.publicKey}`] };
  records['example.test'] = { txt: ['v=spf1 a:relay.test ~all', 'v=spf1 include:other.test -all'] };
  records['_dmarc.example.test'] = { txt: ['v=DMARC1; p=maybe'] };
  const r = byRecord(await verify());
  assert.equal(r[`dkim ${rsa.selector}._domainkey.example.test`]?.status, 'mismatch');
  assert.equal(r[`dkim ${rsa.selector}._domainkey.example.test`]?.hint,
    'DKIM key differs from the one in the store (was the record truncated? check the 255-octet split)');
  assert.equal(r[`dkim ${ed.selector}._domainkey.example.test`]?.hint, 'k=rsa, but the key is ed25519: publish k=ed25519');
  assert.equal(r['spf example.test']?.hint,
    'two SPF records at example.test (2 v=spf1 records): merge them into one, as more than one is a permerror (RFC 7208 §3.2)');
  assert.equal(r['dmarc _dmarc.example.test']?.status, 'mismatch');
  assert.equal(r['dmarc _dmarc.example.test']?.hint,
    '_dmarc.example.test: p=maybe is not none, quarantine or reject; a broken record is ignored by receivers; e.g. "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.test"');
});

test('SPF: a record without this host is flagged; an ip4: covering its address or an include reaching the mechanism passes', async (t) => {
  const { records, rsa, ed, verify } = await setup(t);
  publishAll(records, rsa, ed);
  records['relay.test'] = { a: ['192.0.2.25'] };
  records['example.test'] = { txt: ['v=spf1 include:_spf.mail.test ~all'] };
  records['_spf.mail.test'] = { txt: ['v=spf1 ip4:198.51.100.0/24 -all'] };
  let spf = byRecord(await verify())['spf example.test']!;
  assert.equal(spf.status, 'mismatch');
  assert.equal(spf.found, 'v=spf1 include:_spf.mail.test ~all');
  assert.equal(spf.hint, 'SPF record lacks a:relay.test for the mx route (or an ip4:/ip6: covering its addresses): add it before the "all"');

  records['example.test'] = { txt: ['v=spf1 ip4:192.0.2.0/24 ~all'] };
  spf = byRecord(await verify())['spf example.test']!;
  assert.equal(spf.status, 'ok', spf.hint);
});

test('SPF per route: a relay through Resend needs include:amazonses.com on send.<domain>; a plain relay its host', async (t) => {
  await t.test('resend', async (t) => {
    const { records, rsa, ed, verify } = await setup(t, { SMARTHOST_RELAY_URL: 'smtp://resend:re_x@smtp.resend.com:587' });
    publishAll(records, rsa, ed);
    records['send.example.test'] = { txt: ['v=spf1 ~all'] };
    let spf = byRecord(await verify())['spf send.example.test']!;
    assert.equal(spf.hint, 'SPF record lacks include:amazonses.com for the resend route: add it before the "all"');
    records['send.example.test'] = { txt: ['v=spf1 include:amazonses.com ~all'] };
    records['amazonses.com'] = { txt: ['v=spf1 ip4:199.255.192.0/22 -all'] };
    spf = byRecord(await verify())['spf send.example.test']!;
    assert.equal(spf.status, 'ok', spf.hint);
  });
  await t.test('relay', async (t) => {
    const { records, rsa, ed, verify } = await setup(t, { SMARTHOST_RELAY_URL: 'smtp://u:p@smtp.upstream.test:587' });
    publishAll(records, rsa, ed);
    const spf = byRecord(await verify())['spf example.test']!;
    assert.equal(spf.hint, 'SPF record lacks a:smtp.upstream.test for the relay smtp.upstream.test route (or an ip4:/ip6: covering its addresses): add it before the "all"');
  });
  await t.test('relay by IPv6 address', async (t) => {
    const { records, rsa, ed, verify } = await setup(t, { SMARTHOST_RELAY_URL: 'smtp://u:p@[2001:db8::7]:587' });
    publishAll(records, rsa, ed);
    records['example.test'] = { txt: ['v=spf1 ip6:2001:db8::7 -all'] };
    const spf = byRecord(await verify())['spf example.test']!;
    assert.deepEqual([spf.expected, spf.status], ['ip6:2001:db8::7', 'ok']);
  });
});

test('MTA-STS and TLS-RPT, when asked for: missing, then well-formed, and the policy file served and covering the MX', async (t) => {
  const { records, rsa, ed, store, config } = await setup(t);
  publishAll(records, rsa, ed);
  records['example.test']!.mx = [{ exchange: 'mx1.example.test', priority: 10 }];
  const policy = { body: '' };
  const https = createServer(pki.issue({ cn: 'mta-sts.example.test', san: ['DNS:mta-sts.example.test'] }), (_req, res) =>
    res.writeHead(200, { 'content-type': 'text/plain' }).end(policy.body));
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => https.close(() => resolve())));
  const policyFile = { httpsPort: (https.address() as AddressInfo).port, ca: [pki.ca] };
  const verify = async () => byRecord((await verifyAndStore(store, config, 'example.test', { mtaSts: true, timeoutMs: 2000, policyFile })).results);

  let r = await verify();
  assert.match(r['mta-sts _mta-sts.example.test']?.hint ?? '', /^MTA-STS record missing: publish _mta-sts\.example\.test TXT "v=STSv1; id=[0-9a-f]{20}"$/);
  assert.equal(r['tls-rpt _smtp._tls.example.test']?.hint, 'TLS-RPT record missing: publish _smtp._tls.example.test TXT "v=TLSRPTv1; rua=mailto:tls-reports@example.test"');
  records['_mta-sts.example.test'] = { txt: ['v=STSv1; id=20261125'] };
  records['_smtp._tls.example.test'] = { txt: ['v=TLSRPTv1; rua=mailto:tls@example.test'] };

  // The record alone is not enough: the policy host does not resolve yet.
  r = await verify();
  assert.equal(r['mta-sts _mta-sts.example.test']?.status, 'mismatch');
  assert.match(r['mta-sts _mta-sts.example.test']?.hint ?? '',
    /^cannot fetch https:\/\/mta-sts\.example\.test\/\.well-known\/mta-sts\.txt: .*: senders that find the TXT record but no policy keep the old one or none; /);
  records['mta-sts.example.test'] = { a: ['127.0.0.1'] };
  policy.body = 'version: STSv1\r\nmode: enforce\r\nmx: *.mail.example.test\r\nmax_age: 86400\r\n';
  r = await verify();
  assert.equal(r['mta-sts _mta-sts.example.test']?.hint,
    'MX mx1.example.test is not covered by the policy\'s mx patterns: senders that enforce MTA-STS will not deliver to it: add an mx: line and change the TXT id');

  // The policy file `domains show --mta-sts` prints passes.
  policy.body = (await describeDomain(store, config, 'example.test', { mtaSts: true })).records.find((x) => x.policy)!.policy!;
  assert.match(policy.body, /^mx: mx1\.example\.test\r$/m);
  r = await verify();
  assert.equal(r['mta-sts _mta-sts.example.test']?.status, 'ok', r['mta-sts _mta-sts.example.test']?.hint);
  assert.equal(r['tls-rpt _smtp._tls.example.test']?.status, 'ok');

  records['_mta-sts.example.test'] = { txt: ['v=STSv1; id=2026-11-25'] };
  records['_smtp._tls.example.test'] = { txt: ['v=TLSRPTv1; rua=tls@example.test'] };
  r = await verify();
  assert.deepEqual([r['mta-sts _mta-sts.example.test']?.status, r['mta-sts _mta-sts.example.test']?.hint],
    ['mismatch', 'id= must be 1 to 32 letters and digits (RFC 8461 §3.1)']);
  assert.deepEqual([r['tls-rpt _smtp._tls.example.test']?.status, r['tls-rpt _smtp._tls.example.test']?.hint],
    ['mismatch', 'rua= must be a mailto: or https: address for the reports (RFC 8460 §3)']);
  records['_mta-sts.example.test'] = { txt: ['v=STSv1; id=1', 'v=STSv1; id=2'] };
  r = await verify();
  assert.equal(r['mta-sts _mta-sts.example.test']?.hint, '2 records at _mta-sts.example.test: keep one');
});
