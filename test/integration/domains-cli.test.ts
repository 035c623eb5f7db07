// The domains commands as an operator types them: add, rotate, retire-selector, remove, with the exact
// messages and exit codes of their error paths.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { smarthostCli } from '../helpers/cli-run.ts';
import { startDnsServer } from '../helpers/dns-server.ts';

test('domains add, rotate, retire-selector and remove from the command line', async () => {
  const env = { SMARTHOST_DATA_DIR: mkdtempSync(join(tmpdir(), 'smarthost-domains-cli-')), SMARTHOST_HOSTNAME: 'relay.test', SMARTHOST_SECRET_KEY: 's3cret' };
  const cli = (...args: string[]) => smarthostCli(['domains', ...args], env);

  const bad = await cli('add', 'not_a domain');
  assert.deepEqual([bad.code, bad.stderr], [2, 'not a domain name: "not_a domain"\n']);
  const added = await cli('add', 'Example.com');
  assert.equal(added.code, 0, added.stderr);
  const selector = /^(sh\d{6})\._domainkey\.example\.com\. TXT "v=DKIM1; k=rsa; p=[^"]{200,}" "[^"]+"    ; DKIM RSA key sh\d{6}$/m.exec(added.stdout)?.[1];
  assert.ok(selector, added.stdout);
  assert.match(added.stdout, /^example\.com\. TXT "v=spf1 a:relay\.test ~all"    ; SPF for MX delivery from this host \(SMARTHOST_HOSTNAME relay\.test\)/m);
  assert.doesNotMatch(added.stdout + added.stderr, /PRIVATE KEY|enc:v1:/);
  const again = await cli('add', 'example.com');
  assert.deepEqual([again.code, again.stderr], [2, 'example.com already has DKIM keys; see them with: smarthost domains show example.com\n']);

  const rotated = await cli('rotate', 'example.com');
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.match(rotated.stdout, new RegExp(`^example\\.com signs with ${selector}-2 from now on\\. Publish:$`, 'm'));
  assert.match(rotated.stdout, new RegExp(`then: smarthost domains retire-selector example\\.com ${selector}$`, 'm'));

  const signing = await cli('retire-selector', 'example.com', `${selector}-2`);
  assert.deepEqual([signing.code, signing.stderr],
    [2, `${selector}-2 still signs example.com's mail: rotate first (smarthost domains rotate example.com)\n`]);
  const unknown = await cli('retire-selector', 'example.com', 'nope');
  assert.deepEqual([unknown.code, unknown.stderr], [1, 'example.com has no selector nope\n']);
  const retired = await cli('retire-selector', 'example.com', selector);
  assert.equal(retired.code, 0, retired.stderr);
  assert.equal(retired.stdout, `${selector} retired: its key is deleted; remove ${selector}._domainkey.example.com from DNS\n`);
  const list = await cli('list');
  assert.match(list.stdout, new RegExp(`^example\\.com\\t${selector}-2 \\(rsa, signing\\)\\tnever\\tnever\\t0$`, 'm'));

  assert.equal((await cli('remove', 'example.com')).code, 0);
  const gone = await cli('remove', 'example.com');
  assert.deepEqual([gone.code, gone.stderr], [1, 'no domain example.com\n']);
  const show = await cli('show', 'example.com');
  assert.deepEqual([show.code, show.stderr], [1, 'no domain example.com (add it with: smarthost domains add example.com)\n']);
});

test('domains add --mta-sts: MTA-STS and TLS-RPT records, and the policy file naming the MX hosts from DNS', async (t) => {
  const dns = await startDnsServer({
    'example.com': { mx: [{ exchange: 'mx2.example.com', priority: 20 }, { exchange: 'mx1.example.com', priority: 10 }] },
  }, t);
  const env = { SMARTHOST_DATA_DIR: mkdtempSync(join(tmpdir(), 'smarthost-domains-cli-')), SMARTHOST_HOSTNAME: 'relay.test', SMARTHOST_DNS_SERVERS: dns.server };
  const added = await smarthostCli(['domains', 'add', 'example.com', '--mta-sts'], env);
  assert.equal(added.code, 0, added.stderr);
  const id = /^_mta-sts\.example\.com\. TXT "v=STSv1; id=([0-9a-f]{20})"    ; MTA-STS: serve the policy below at https:\/\/mta-sts\.example\.com\/\.well-known\/mta-sts\.txt; id= changes with the policy$/m
    .exec(added.stdout)?.[1];
  assert.ok(id, added.stdout);
  assert.match(added.stdout, /^_smtp\._tls\.example\.com\. TXT "v=TLSRPTv1; rua=mailto:tls-reports@example\.com"    ; TLS-RPT: daily reports of TLS failures$/m);
  const policy = added.stdout.slice(added.stdout.indexOf('\npolicy file for ') + 1).split('\n').slice(0, 6).map((l) => l.trimEnd());
  assert.deepEqual(policy, [
    'policy file for https://mta-sts.example.com/.well-known/mta-sts.txt (HTTPS with a valid certificate):',
    'version: STSv1', 'mode: testing', 'mx: mx1.example.com', 'mx: mx2.example.com', 'max_age: 604800',
  ]);
  assert.match(added.stdout, /^note: SMARTHOST_SECRET_KEY is not set, so the private key is stored unencrypted$/m);

  // `show` prints the same records again; without --mta-sts they are left out.
  const shown = await smarthostCli(['domains', 'show', 'example.com', '--mta-sts'], env);
  assert.ok(shown.stdout.includes(`_mta-sts.example.com. TXT "v=STSv1; id=${id}"`), shown.stdout);
  assert.doesNotMatch((await smarthostCli(['domains', 'show', 'example.com'], env)).stdout, /_mta-sts|_smtp\._tls|policy file/);
});
