import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { generate } from 'selfsigned';
import { loadOrCreateCertificate } from './self-signed.ts';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'smarthost-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const DAY = 24 * 3600 * 1000;

test('generates a self-signed certificate for the hostname, then reuses the same bytes', async (t) => {
  const dataDir = tempDir(t);
  const first = await loadOrCreateCertificate({ dataDir, hostname: 'mail.example.test' });
  assert.equal(first.selfSigned, true);
  assert.equal(first.certPath, join(dataDir, 'tls', 'selfsigned.crt'));
  assert.equal(first.keyPath, join(dataDir, 'tls', 'selfsigned.key'));
  assert.equal(readFileSync(first.certPath, 'utf8'), first.cert);
  assert.equal(readFileSync(first.keyPath, 'utf8'), first.key);
  assert.equal(statSync(first.keyPath).mode & 0o777, 0o600);

  const x509 = new X509Certificate(first.cert);
  assert.match(x509.subject, /CN=mail\.example\.test/);
  assert.equal(x509.subjectAltName, 'DNS:mail.example.test, DNS:localhost, IP Address:127.0.0.1');
  assert.equal(x509.publicKey.asymmetricKeyType, 'rsa');
  assert.equal(x509.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  assert.equal(x509.verify(x509.publicKey), true); // self-signed
  const lifetime = Date.parse(x509.validTo) - Date.now();
  assert.ok(lifetime > 364 * DAY && lifetime <= 365 * DAY, `valid for ${lifetime / DAY} days`);

  const second = await loadOrCreateCertificate({ dataDir, hostname: 'mail.example.test' });
  assert.deepEqual(second, first);
});

test('a stored certificate expiring within 7 days is replaced', async (t) => {
  const dataDir = tempDir(t);
  mkdirSync(join(dataDir, 'tls'));
  const old = await generate([{ name: 'commonName', value: 'mail.example.test' }], {
    notBeforeDate: new Date(Date.now() - 300 * DAY),
    notAfterDate: new Date(Date.now() + 6 * DAY),
  });
  writeFileSync(join(dataDir, 'tls', 'selfsigned.crt'), old.cert);
  writeFileSync(join(dataDir, 'tls', 'selfsigned.key'), old.private);

  const loaded = await loadOrCreateCertificate({ dataDir, hostname: 'mail.example.test' });
  assert.notEqual(loaded.cert, old.cert);
  assert.ok(Date.parse(new X509Certificate(loaded.cert).validTo) - Date.now() > 300 * DAY);
});

test('a stored certificate for another hostname, or with a foreign key, is replaced', async (t) => {
  const dataDir = tempDir(t);
  const first = await loadOrCreateCertificate({ dataDir, hostname: 'old.example.test' });
  const renamed = await loadOrCreateCertificate({ dataDir, hostname: 'new.example.test' });
  assert.notEqual(renamed.cert, first.cert);
  assert.ok(new X509Certificate(renamed.cert).checkHost('new.example.test'));

  writeFileSync(renamed.keyPath, first.key); // a key that does not match the certificate
  const repaired = await loadOrCreateCertificate({ dataDir, hostname: 'new.example.test' });
  assert.notEqual(repaired.cert, renamed.cert);
  assert.ok(new X509Certificate(repaired.cert).checkPrivateKey(createPrivateKey(repaired.key)));
});

test('configured files are read as given and not marked self-signed', async (t) => {
  const dir = tempDir(t);
  const made = await loadOrCreateCertificate({ dataDir: dir, hostname: 'relay.example.test' });
  const loaded = await loadOrCreateCertificate({
    dataDir: join(dir, 'unused'),
    hostname: 'ignored.example.test',
    certPath: made.certPath,
    keyPath: made.keyPath,
  });
  assert.deepEqual(loaded, { ...made, selfSigned: false });
});

test('empty configured paths count as unset (the config default)', async (t) => {
  const dataDir = tempDir(t);
  const loaded = await loadOrCreateCertificate({ dataDir, hostname: 'mail.example.test', certPath: '', keyPath: '' });
  assert.equal(loaded.selfSigned, true);
});

test('a configured file that cannot be read gives an error naming it', async (t) => {
  const dir = tempDir(t);
  const made = await loadOrCreateCertificate({ dataDir: dir, hostname: 'mail.example.test' });
  const missing = join(dir, 'nope', 'cert.pem');
  await assert.rejects(
    loadOrCreateCertificate({ dataDir: dir, hostname: 'x', certPath: missing, keyPath: made.keyPath }),
    (err: Error) => err.message.includes(missing) && err.message.includes('ENOENT'),
  );
  const missingKey = join(dir, 'nope', 'key.pem');
  await assert.rejects(
    loadOrCreateCertificate({ dataDir: dir, hostname: 'x', certPath: made.certPath, keyPath: missingKey }),
    (err: Error) => err.message.includes(missingKey),
  );
});

test('only one of certificate and key configured is an error naming what is missing', async (t) => {
  const dataDir = tempDir(t);
  await assert.rejects(
    loadOrCreateCertificate({ dataDir, hostname: 'x', certPath: '/etc/ssl/relay.crt' }),
    /SMARTHOST_TLS_KEY.*\/etc\/ssl\/relay\.crt/,
  );
  await assert.rejects(loadOrCreateCertificate({ dataDir, hostname: 'x', keyPath: '/etc/ssl/relay.key' }), /\/etc\/ssl\/relay\.key/);
});

test('configured files that are not PEM, or do not belong together, are refused by name', async (t) => {
  const dir = tempDir(t);
  const a = await loadOrCreateCertificate({ dataDir: join(dir, 'a'), hostname: 'a.example.test' });
  const b = await loadOrCreateCertificate({ dataDir: join(dir, 'b'), hostname: 'b.example.test' });
  await assert.rejects(
    loadOrCreateCertificate({ dataDir: dir, hostname: 'x', certPath: a.certPath, keyPath: b.keyPath }),
    (err: Error) => err.message.includes(a.certPath) && err.message.includes(b.keyPath) && /does not belong/.test(err.message),
  );
  const junk = join(dir, 'junk.pem');
  writeFileSync(junk, 'not a certificate\n');
  await assert.rejects(
    loadOrCreateCertificate({ dataDir: dir, hostname: 'x', certPath: junk, keyPath: a.keyPath }),
    (err: Error) => err.message.includes(junk),
  );
  await assert.rejects(
    loadOrCreateCertificate({ dataDir: dir, hostname: 'x', certPath: a.certPath, keyPath: junk }),
    (err: Error) => err.message.includes(junk),
  );
});
