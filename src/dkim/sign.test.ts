// Pins what mailauth's signer does with the header list, and that our signer oversigns From on top of it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { dkimRecordValue, generateDomainKey } from './keys.ts';
import { createSigner } from './sign.ts';

const MESSAGE = Buffer.from('From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nbody\r\n');
const hTag = (signature: string) => /\bh=([^;]+);/.exec(signature.replace(/\r\n\s+/g, ' '))?.[1]?.replace(/\s+/g, '');

test('mailauth 4.13 dkimSign lists each present field once in h=: a name repeated in the header list is not oversigned', async () => {
  const { privateKeyPem } = await generateDomainKey('rsa-sha256', 's');
  const r = await dkimSign(MESSAGE, {
    signingDomain: 'example.com', selector: 's', privateKey: privateKeyPem,
    headerList: 'From:From:To:Subject' as unknown as string[],
    signatureData: [{ signingDomain: 'example.com', selector: 's', privateKey: privateKeyPem, algorithm: 'rsa-sha256', canonicalization: 'relaxed/relaxed' }],
  });
  assert.deepEqual(r.errors, []);
  assert.equal(hTag(r.signatures), 'Subject:To:From', 'bottom-up, From once');
});

for (const [algorithm, canonicalization] of [['rsa-sha256', 'relaxed/relaxed'], ['ed25519-sha256', 'simple/relaxed']] as const) {
  test(`${algorithm} ${canonicalization}: our header list signs the fields present, bottom-up, and names From once more`, async () => {
    const { privateKeyPem } = await generateDomainKey(algorithm, 's');
    const signer = createSigner('example.com', [{ selector: 's', algorithm, pem: privateKeyPem }], canonicalization);
    const signature = await signer.sign(MESSAGE);
    assert.deepEqual(signer.selectors, ['s']);
    assert.match(signature, new RegExp(`c=${canonicalization.replace('/', '\\/')}`));
    assert.equal(hTag(signature), 'Date:Subject:To:From:From');
  });
}

test('two To: fields are both signed; the extra From follows the topmost From', async () => {
  const { privateKeyPem } = await generateDomainKey('ed25519-sha256', 's');
  const signer = createSigner('example.com', [{ selector: 's', algorithm: 'ed25519-sha256', pem: privateKeyPem }]);
  const twoTo = Buffer.from('To: b@example.org\r\nFrom: a@example.com\r\nTo: c@example.org\r\n\r\nbody\r\n');
  assert.equal(hTag(await signer.sign(twoTo)), 'To:From:From:To');
});

test('t= is read once: a signature made across a second boundary still verifies (mailauth reads the clock before and after signing)', async (t) => {
  const { privateKeyPem, publicKey } = await generateDomainKey('rsa-sha256', 's');
  const signer = createSigner('example.com', [{ selector: 's', algorithm: 'rsa-sha256', pem: privateKeyPem }], 'relaxed/relaxed');
  // Each read of the clock is 600 ms later than the one before, so any two reads fall in different seconds.
  let now = Date.UTC(2026, 10, 25, 10, 0, 0, 400);
  t.mock.method(Date, 'now', () => (now += 600));
  const signature = await signer.sign(MESSAGE);
  t.mock.restoreAll();
  const record = dkimRecordValue('rsa-sha256', publicKey);
  const { results } = await dkimVerify(Buffer.concat([Buffer.from(signature), MESSAGE]), {
    resolver: async (name: string) => (name === 's._domainkey.example.com' ? [[record]] : []),
  });
  assert.deepEqual(results.map((r) => r.status.result), ['pass']);
});
