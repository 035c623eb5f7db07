// Pins what mailauth's signer does with the header list, which decides whether From can be oversigned.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import { generateDomainKey } from './keys.ts';
import { createSigner } from './sign.ts';

const MESSAGE = Buffer.from('From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nbody\r\n');
const hTag = (signature: string) => /\bh=([^;]+);/.exec(signature.replace(/\r\n\s+/g, ' '))?.[1]?.replace(/\s+/g, '');

test('mailauth 4.13 lists each present field once in h=: a name repeated in the header list is not oversigned', async () => {
  const { privateKeyPem } = await generateDomainKey('rsa-sha256', 's');
  const r = await dkimSign(MESSAGE, {
    signingDomain: 'example.com', selector: 's', privateKey: privateKeyPem,
    headerList: 'From:From:To:Subject' as unknown as string[],
    signatureData: [{ signingDomain: 'example.com', selector: 's', privateKey: privateKeyPem, algorithm: 'rsa-sha256', canonicalization: 'relaxed/relaxed' }],
  });
  assert.deepEqual(r.errors, []);
  assert.equal(hTag(r.signatures), 'Subject:To:From', 'bottom-up, From once');
});

test('our header list signs From, To, Subject and Date of this message, absent fields left out', async () => {
  const { privateKeyPem } = await generateDomainKey('ed25519-sha256', 's');
  const signer = createSigner('example.com', [{ selector: 's', algorithm: 'ed25519-sha256', pem: privateKeyPem }], 'simple/relaxed');
  const signature = await signer.sign(MESSAGE);
  assert.deepEqual(signer.selectors, ['s']);
  assert.match(signature, /c=simple\/relaxed/);
  assert.equal(hTag(signature), 'Date:Subject:To:From');
});
