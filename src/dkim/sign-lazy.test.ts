// mailauth's signer and tools load at the first signature (oversign.ts), not with the server: a relay
// with no DKIM keys never holds them. This file imports nothing else that loads mailauth.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateDomainKey } from './keys.ts';
import { createSigner } from './sign.ts';
import { loadedModules } from '../../test/helpers/loaded-modules.ts';

const loaded = () => loadedModules(/node_modules\/(mailauth\/lib\/tools|joi|tldts)\b/);

test("mailauth's DKIM signer, joi and tldts load at the first signature, not before", async () => {
  const { privateKeyPem } = await generateDomainKey('ed25519-sha256', 's');
  const signer = createSigner('example.com', [{ selector: 's', algorithm: 'ed25519-sha256', pem: privateKeyPem }]);
  assert.deepEqual(loaded(), []);
  const signature = await signer.sign(Buffer.from('From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n'));
  assert.match(signature, /^DKIM-Signature: v=1; a=ed25519-sha256;/);
  assert.ok(loaded().some((path) => path.includes('mailauth/lib/tools')), 'signing loaded the signer');
});
