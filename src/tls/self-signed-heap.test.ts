// The certificate generator runs in a worker thread, so its libraries never load into the server's
// own heap (self-signed.ts, generateInWorker). This file imports nothing that loads selfsigned itself.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadedModules } from '../../test/helpers/loaded-modules.ts';
import { generateInWorker, loadOrCreateCertificate } from './self-signed.ts';

test('a self-signed certificate is made without loading selfsigned or @peculiar/x509 into this process', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'smarthost-tls-heap-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const made = await loadOrCreateCertificate({ dataDir, hostname: 'relay.example.test' });
  assert.match(new X509Certificate(made.cert).subject, /CN=relay\.example\.test/);
  assert.deepEqual(loadedModules(/node_modules\/(selfsigned|@peculiar)\//), []);
});

test("a failure inside the certificate worker reaches the caller in words", async () => {
  // RSA with a 100-bit modulus: WebCrypto refuses it inside the worker.
  await assert.rejects(generateInWorker([{ name: 'commonName', value: 'relay.example.test' }], { keyType: 'rsa', keySize: 100 }),
    /^Error: TLS: generating the self-signed certificate failed: /);
});
