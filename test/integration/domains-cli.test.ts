// The domains commands as an operator types them: add, rotate, retire-selector, remove, with the exact
// messages and exit codes of their error paths.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { smarthostCli } from '../helpers/cli-run.ts';

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
