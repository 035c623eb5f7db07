// DKIM signing at accept, checked by an independent verifier: Debian's python3-dkim (dkimpy), which
// looks the public keys up itself (through dnspython) on the test's own DNS server on loopback.
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { createApiKey } from '../../src/credentials/api-keys.ts';
import { dkimRecordName, dkimRecordValue, generateDomainKey } from '../../src/dkim/keys.ts';
import { createSecretBox } from '../../src/dkim/secret.ts';
import { createSigner } from '../../src/dkim/sign.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { retireSelector, rotateDomain } from '../../src/domains/manage.ts';
import type { DkimAlgorithm, Store } from '../../src/store/store.ts';
import { startDnsServer, type DnsRecords, type TestDnsServer } from '../helpers/dns-server.ts';
import { run } from '../helpers/run.ts';
import { authedSession, message, send } from '../helpers/session.ts';
import { startTestSmarthost, type TestSmarthost } from '../helpers/smarthost.ts';

const NO_DELIVERY = { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9' };
const PYTHON = '/usr/bin/python3'; // Debian's, where python3-dkim lives (a pyenv python3 on PATH may lack it)

// Verifies every DKIM-Signature, top first, with dkimpy's own DNS lookup pointed at argv[2] (ip:port);
// prints [[selector, true or why it failed], …].
const VERIFY = `
import sys, json, dkim, dns.resolver
host, port = sys.argv[2].rsplit(':', 1)
resolver = dns.resolver.Resolver(configure=False)
resolver.nameservers = [host]
resolver.port = int(port)
dns.resolver.default_resolver = resolver
msg = open(sys.argv[1], 'rb').read()
d = dkim.DKIM(msg)
count = sum(1 for k, v in d.headers if k.lower() == b'dkim-signature')
out = []
for i in range(count):
    try:
        ok = bool(d.verify(idx=i))
    except dkim.DKIMException as e:
        ok = str(e)
    out.append([d.selector.decode(), ok])
print(json.dumps(out))
`;

// One DNS server for the file; each verify() publishes exactly the records it is given.
const zone: DnsRecords = {};
let dnsServer: Promise<TestDnsServer> | undefined;
after(async () => (await dnsServer)?.close());

/** Public records by name, as a resolver would return them. */
type Records = Record<string, string>;

async function addKey(store: Store, records: Records, domain: string, algorithm: DkimAlgorithm, selector: string, secret?: string) {
  const g = await generateDomainKey(algorithm, selector);
  await store.addDomainKey({
    domain, selector, algorithm, privateKey: createSecretBox(secret).seal(g.privateKeyPem), publicKey: g.publicKey, createdAt: Date.now(),
  });
  records[dkimRecordName(selector, domain)] = dkimRecordValue(algorithm, g.publicKey);
  return g;
}

async function verify(raw: Buffer, records: Records): Promise<[string, true | string][]> {
  const file = join(mkdtempSync(join(tmpdir(), 'smarthost-dkim-')), 'message.eml');
  writeFileSync(file, raw);
  for (const name of Object.keys(zone)) delete zone[name];
  // Published as a zone would: 255-octet strings that the verifier joins (RFC 6376 §3.6.2.2).
  for (const [name, value] of Object.entries(records)) zone[name] = { txt: [value.match(/.{1,255}/g)!] };
  const dns = await (dnsServer ??= startDnsServer(zone));
  const r = await run(PYTHON, ['-c', VERIFY, file, dns.server]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as [string, true | string][];
}

async function submitSmtp(s: TestSmarthost, data: string | Buffer): Promise<Buffer> {
  const c = await authedSession(s.ports.submission);
  const r = await send(c, 'app@example.com', ['rcpt@example.org'], data);
  c.close();
  const id = /queued as (\S+)/.exec(r.last)?.[1];
  assert.ok(id, r.last);
  return (await s.store.getMessage(id))!.raw;
}

const MULTIPART_8BIT = Buffer.from(
  'From: App <app@example.com>\r\nTo: rcpt@example.org\r\nSubject: Grüße mit Anhang\r\nMIME-Version: 1.0\r\n' +
  'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n' +
  '--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln, 8-bit   body  \r\n\r\n' +
  '--b1\r\nContent-Type: application/octet-stream; name="a.bin"\r\nContent-Transfer-Encoding: base64\r\n' +
  `Content-Disposition: attachment; filename="a.bin"\r\n\r\n${Buffer.alloc(300, 0xa5).toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n--b1--\r\n`,
  'utf8',
);

test('SMTP: RSA and Ed25519 signatures on an 8-bit message with an attachment verify with python3-dkim', async (t) => {
  const s = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_SECRET_KEY: 'test secret' });
  const records: Records = {};
  await addKey(s.store, records, 'example.com', 'rsa-sha256', 'sh202611', 'test secret');
  await addKey(s.store, records, 'example.com', 'ed25519-sha256', 'sh202611e', 'test secret');
  const raw = await submitSmtp(s, MULTIPART_8BIT);
  assert.match(raw.toString('latin1'), /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.com;/);
  assert.ok(raw.includes(Buffer.from('Grüße aus Köln', 'utf8')), 'the 8-bit body is unchanged');
  assert.deepEqual(await verify(raw, records), [['sh202611', true], ['sh202611e', true]]);
});

test('HTTP POST /emails: the message built from the JSON fields is signed and verifies', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const records: Records = {};
  await addKey(s.store, records, 'example.com', 'rsa-sha256', 'sh202611');
  await addKey(s.store, records, 'example.com', 'ed25519-sha256', 'sh202611e');
  const { key } = await createApiKey(s.store, 'ci', ['example.com']);
  const res = await fetch(`http://127.0.0.1:${s.http!.port}/emails`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      from: 'App <app@example.com>', to: 'a@example.org', subject: 'Hallo Wörld', text: 'Grüße', html: '<p>Grüße</p>',
      attachments: [{ filename: 'a.txt', content: Buffer.from('attached bytes').toString('base64'), content_type: 'text/plain' }],
    }),
  });
  assert.equal(res.status, 200);
  const { id } = (await res.json()) as { id: string };
  const raw = (await s.store.getMessage(id))!.raw;
  assert.deepEqual(await verify(raw, records), [['sh202611', true], ['sh202611e', true]]);
  // The verifier really checks: one changed body byte fails both.
  const tampered = Buffer.from(raw);
  tampered[tampered.length - 5]! ^= 1;
  const failed = await verify(tampered, records);
  assert.equal(failed.length, 2);
  for (const [, why] of failed) assert.match(String(why), /body hash mismatch/);
});

test('a message the application signed keeps its signature below ours, and both verify', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const records: Records = {};
  await addKey(s.store, records, 'example.com', 'rsa-sha256', 'sh202611');
  const app = await generateDomainKey('rsa-sha256', 'app');
  records[dkimRecordName('app', 'example.com')] = dkimRecordValue('rsa-sha256', app.publicKey);
  const original = Buffer.from(message({ 'Message-ID': '<1@example.com>', Date: 'Wed, 25 Nov 2026 10:00:00 +0000' }, 'Signed by the app.\r\n'));
  const appSignature = await createSigner('example.com', [{ selector: 'app', algorithm: 'rsa-sha256', pem: app.privateKeyPem }]).sign(original);
  const raw = await submitSmtp(s, Buffer.concat([Buffer.from(appSignature), original]));
  assert.ok(raw.includes(Buffer.from(appSignature + original.toString())), 'the application signature and message are byte for byte unchanged');
  assert.deepEqual(await verify(raw, records), [['sh202611', true], ['app', true]]);
});

test('From is oversigned: the signature verifies, and a From: added after signing, above or below, makes it fail', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const records: Records = {};
  const rsa = await addKey(s.store, records, 'example.com', 'rsa-sha256', 'sh202611');
  await addKey(s.store, records, 'example.com', 'ed25519-sha256', 'sh202611e');
  const raw = await submitSmtp(s, message({ Subject: 'oversigned' }));
  assert.match(raw.toString('latin1').replace(/\r\n\s+/g, ' '), /^DKIM-Signature: [^\r]*\bh=[^;]*\bFrom: From;/);
  assert.deepEqual(await verify(raw, records), [['sh202611', true], ['sh202611e', true]]);

  const forged = 'From: "Your Bank" <ceo@bank.example>\r\n';
  const fromAt = raw.indexOf('\r\nFrom:') + 2;
  const onTop = Buffer.concat([Buffer.from(forged), raw]);
  const belowTheOriginal = Buffer.concat([raw.subarray(0, fromAt), Buffer.from(forged), raw.subarray(fromAt)]);
  for (const tampered of [onTop, belowTheOriginal]) {
    const failed = await verify(tampered, records);
    assert.deepEqual(failed.map(([selector]) => selector), ['sh202611', 'sh202611e']);
    for (const [, why] of failed) assert.notEqual(why, true);
  }

  // Why it matters: dkimpy checks one From more than h= names anyway (its bug #644046), but a verifier that reads
  // h= as written, like mailauth's, passes a stock signature (From named once) under a From: added on top.
  const key = { signingDomain: 'example.com', selector: 'sh202611', privateKey: rsa.privateKeyPem };
  const stock = await dkimSign(raw, { ...key, headerList: 'From:To:Subject' as unknown as string[], signatureData: [key] });
  assert.match(stock.signatures, /\bh=Subject: To: From;/);
  const resolver = new Resolver();
  resolver.setServers([(await dnsServer)!.server]);
  const byMailauth = async (m: Buffer) => (await dkimVerify(m, { resolver: (name, type) => resolver.resolve(name, type) as never }))
    .results.map((r) => [r.selector, r.status.result]);
  assert.deepEqual(await byMailauth(raw), [['sh202611', 'pass'], ['sh202611e', 'pass']]);
  assert.deepEqual(await byMailauth(Buffer.concat([Buffer.from(forged), Buffer.from(stock.signatures), raw])),
    [['sh202611', 'pass'], ['sh202611', 'fail'], ['sh202611e', 'fail']], 'the forged From rides on the stock signature, not on ours');
});

test('SMARTHOST_REQUIRE_DKIM refuses a From: domain without a key, with a hint', async (t) => {
  const s = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_REQUIRE_DKIM: 'true' });
  const c = await authedSession(s.ports.submission);
  const r = await send(c, 'app@example.com', ['rcpt@example.org'], message());
  c.close();
  assert.equal(r.last, '550 5.7.1 Message refused: example.com has no DKIM key and SMARTHOST_REQUIRE_DKIM is on (add one with: smarthost domains add example.com)');
  assert.equal((await s.store.listMessages({ limit: 10 })).length, 0);
});

test('SMARTHOST_REQUIRE_DKIM: a key added from another process a moment after a refusal is used at once, not refused from memory', async (t) => {
  const s = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_REQUIRE_DKIM: 'true' });
  const c = await authedSession(s.ports.submission);
  t.after(() => c.close());
  assert.match((await send(c, 'app@example.com', ['rcpt@example.org'], message())).last, /^550 5\.7\.1 /);
  // The CLI's `domains add`: another connection to the same file, unseen by the server's own store.
  const cli = openSqliteStore(s.config.dataDir);
  const records: Records = {};
  await addKey(cli, records, 'example.com', 'rsa-sha256', 'sh202611');
  await cli.close();
  const r = await send(c, 'app@example.com', ['rcpt@example.org'], message());
  assert.match(r.last, /^250 /);
  const [stored] = await s.store.listMessages({ limit: 1 });
  assert.deepEqual(await verify((await s.store.getMessage(stored!.id))!.raw, records), [['sh202611', true]]);
});

test('a wrong SMARTHOST_SECRET_KEY stops the start with an error naming it; plain keys give one warning', async (t) => {
  const first = await startTestSmarthost(undefined, { ...NO_DELIVERY, SMARTHOST_SECRET_KEY: 'right' });
  await addKey(first.store, {}, 'example.com', 'rsa-sha256', 'sh202611', 'right');
  await first.close();
  const env = { ...NO_DELIVERY, SMARTHOST_DATA_DIR: first.config.dataDir };
  await assert.rejects(startTestSmarthost(t, { ...env, SMARTHOST_SECRET_KEY: 'wrong' }),
    /cannot decrypt the DKIM key of example\.com \(selector sh202611\): SMARTHOST_SECRET_KEY is not the key it was encrypted with/);
  await assert.rejects(startTestSmarthost(t, env), /the DKIM key of example\.com \(selector sh202611\) is encrypted, but SMARTHOST_SECRET_KEY is not set/);

  const plain = await startTestSmarthost(t, NO_DELIVERY);
  await addKey(plain.store, {}, 'example.com', 'rsa-sha256', 'sh202611');
  await plain.close();
  const again = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_DATA_DIR: plain.config.dataDir });
  assert.deepEqual(again.logs.filter((l) => /stored unencrypted/.test(String(l.msg))).map((l) => [l.level, l.msg, l.domains]), [
    [40, 'DKIM private keys are stored unencrypted: set SMARTHOST_SECRET_KEY to encrypt keys added from now on', ['example.com']],
  ]);
  await again.close();
  // The secret set later: the old plain key still signs, and the warning says how to replace it.
  const later = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_DATA_DIR: plain.config.dataDir, SMARTHOST_SECRET_KEY: 'now set' });
  assert.deepEqual(later.logs.filter((l) => /stored unencrypted/.test(String(l.msg))).map((l) => l.msg), [
    'DKIM private keys added before SMARTHOST_SECRET_KEY was set are stored unencrypted: rotate those domains and retire their old selectors',
  ]);
});

// Long header lines, folded (RFC 5322 §2.2.3): simple canonicalization must hash them exactly as they are,
// relaxed must unfold them the same way the verifier does.
const FOLDED = Buffer.from(
  'From: "A sender with a rather long display name" <app@example.com>\r\n' +
  `To: ${Array.from({ length: 12 }, (_, i) => `recipient-number-${i}@example.org`).join(',\r\n  ')}\r\n` +
  `Subject: ${'a subject line that goes on and on '.repeat(6)}\r\n\t${'and is folded with a tab '.repeat(4)}\r\n` +
  `X-Long-Unfolded: ${'x'.repeat(900)}\r\n` +
  'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' +
  'Zeile mit Umlauten: äöü ß   and trailing spaces   \r\n\r\n\r\n',
  'utf8',
);

for (const canonicalization of ['simple/simple', 'relaxed/relaxed', 'relaxed/simple'] as const) {
  test(`SMARTHOST_DKIM_CANONICALIZATION=${canonicalization}: RSA and Ed25519 verify on folded long headers and on 8-bit MIME with an attachment`, async (t) => {
    const s = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_DKIM_CANONICALIZATION: canonicalization });
    const records: Records = {};
    await addKey(s.store, records, 'example.com', 'rsa-sha256', 'sh202611');
    await addKey(s.store, records, 'example.com', 'ed25519-sha256', 'sh202611e');
    for (const data of [FOLDED, MULTIPART_8BIT]) {
      const raw = await submitSmtp(s, data);
      const c = canonicalization.replace('/', '\\/');
      assert.match(raw.toString('latin1'), new RegExp(`^DKIM-Signature: v=1; a=rsa-sha256; c=${c}; d=example\\.com;`));
      const split = data.indexOf('\r\n\r\n') + 2;
      assert.ok(raw.includes(data.subarray(0, split)), 'the header fields are unchanged (trace fields are added around them)');
      assert.ok(raw.subarray(raw.length - (data.length - split)).equals(data.subarray(split)), 'the body is unchanged');
      assert.deepEqual(await verify(raw, records), [['sh202611', true], ['sh202611e', true]]);
    }
  });
}

test('the application signed with simple/simple and we sign relaxed: both verify', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const records: Records = {};
  await addKey(s.store, records, 'example.com', 'ed25519-sha256', 'sh202611e');
  const app = await generateDomainKey('rsa-sha256', 'app');
  records[dkimRecordName('app', 'example.com')] = dkimRecordValue('rsa-sha256', app.publicKey);
  const original = Buffer.concat([Buffer.from('Message-ID: <2@example.com>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n'), FOLDED]);
  const appSignature = await createSigner('example.com', [{ selector: 'app', algorithm: 'rsa-sha256', pem: app.privateKeyPem }], 'simple/simple').sign(original);
  const raw = await submitSmtp(s, Buffer.concat([Buffer.from(appSignature), original]));
  assert.deepEqual(await verify(raw, records), [['sh202611e', true], ['app', true]]);
});

test('rotation: new mail carries the new selector; older mail verifies with the old one until it is retired', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const records: Records = {};
  const cfg = { ...s.config };
  await addKey(s.store, records, 'example.com', 'rsa-sha256', 'sh202611');
  const before = await submitSmtp(s, message({ Subject: 'before' }));

  const { added, rotatedOut } = await rotateDomain(s.store, cfg, 'example.com', new Date('2026-11-25T12:00:00Z'));
  assert.deepEqual([added.map((k) => k.selector), rotatedOut], [['sh202611-2'], ['sh202611']]);
  for (const k of added) records[dkimRecordName(k.selector, 'example.com')] = dkimRecordValue(k.algorithm, k.publicKey);
  const after = await submitSmtp(s, message({ Subject: 'after' }));
  assert.match(after.toString('latin1'), /^DKIM-Signature: [^]*?s=sh202611-2;/);
  assert.equal((after.toString('latin1').match(/^DKIM-Signature:/gm) ?? []).length, 1, 'the rotated-out key signs no more');
  assert.deepEqual(await verify(after, records), [['sh202611-2', true]]);
  assert.deepEqual(await verify(before, records), [['sh202611', true]], 'the old key is still published and verifies older mail');

  await assert.rejects(retireSelector(s.store, 'example.com', 'sh202611-2'), /sh202611-2 still signs example\.com's mail: rotate first/);
  await retireSelector(s.store, 'example.com', 'sh202611');
  assert.deepEqual((await s.store.listDomainKeys('example.com')).map((k) => k.selector), ['sh202611-2']);
  delete records[dkimRecordName('sh202611', 'example.com')];
  const later = await submitSmtp(s, message({ Subject: 'later' }));
  assert.deepEqual(await verify(later, records), [['sh202611-2', true]]);
  const [[, oldNow]] = (await verify(before, records)) as [[string, true | string]];
  assert.notEqual(oldNow, true, 'once retired and unpublished, the old selector verifies nothing');
});
