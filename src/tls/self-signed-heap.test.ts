// The certificate generator runs in a worker thread, so its libraries never load into the server's
// own heap (self-signed.ts, generateInWorker). This file imports nothing that loads selfsigned itself.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadOrCreateCertificate } from './self-signed.ts';

test('a self-signed certificate is made without loading selfsigned or @peculiar/x509 into this process', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'smarthost-tls-heap-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const made = await loadOrCreateCertificate({ dataDir, hostname: 'relay.example.test' });
  assert.match(new X509Certificate(made.cert).subject, /CN=relay\.example\.test/);
  const loaded = Object.keys(createRequire(import.meta.url).cache).filter((path) => /node_modules\/(selfsigned|@peculiar)\//.test(path));
  assert.deepEqual(loaded, []);
});
