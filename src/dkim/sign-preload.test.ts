// With DKIM keys stored, checkDomainKeys loads mailauth's signer at start (sign.ts), so the first signed
// message does not wait for it; with none, nothing loads. Its own file: a module, once loaded, stays.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { generateDomainKey } from './keys.ts';
import { createSecretBox } from './secret.ts';
import { checkDomainKeys } from './sign.ts';
import { loadedModules } from '../../test/helpers/loaded-modules.ts';

const signerLoaded = () => loadedModules(/node_modules\/mailauth\/lib\/tools\b/).length > 0;

test('checkDomainKeys loads the signer at start when keys are stored, and not when none are', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smarthost-dkim-preload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = openSqliteStore(dir);
  t.after(() => store.close());
  const box = createSecretBox(undefined);
  const logger = pino({ level: 'silent' });

  await checkDomainKeys(store, box, logger);
  assert.equal(signerLoaded(), false, 'no keys: the signer stays unloaded');

  const key = await generateDomainKey('ed25519-sha256', 's');
  await store.addDomainKey({ domain: 'example.com', selector: 's', algorithm: 'ed25519-sha256', privateKey: key.privateKeyPem, publicKey: key.publicKey, createdAt: Date.now() });
  await checkDomainKeys(store, box, logger);
  assert.equal(signerLoaded(), true, 'keys stored: the signer is loaded at start');
});
