// With SMARTHOST_TLS_CERT/KEY set, the HTTP API speaks HTTPS with that
// certificate (and SMTP uses it too); without them it is plain HTTP for a
// platform that terminates TLS in front.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { test } from 'node:test';
import { testPki } from '../helpers/pki.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';

test('a configured certificate serves the API over HTTPS, verified against its CA', async (t) => {
  const pki = testPki();
  const leaf = pki.issue({ cn: 'relay.test', san: ['DNS:relay.test', 'IP:127.0.0.1'] });
  const dir = mkdtempSync(join(tmpdir(), 'smarthost-tls-'));
  writeFileSync(join(dir, 'cert.pem'), leaf.cert);
  writeFileSync(join(dir, 'key.pem'), leaf.key);
  const s = await startTestSmarthost(t, {
    SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9', SMARTHOST_TLS_CERT: join(dir, 'cert.pem'), SMARTHOST_TLS_KEY: join(dir, 'key.pem'),
  });
  const { status, body, cert } = await new Promise<{ status: number; body: string; cert: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: s.http!.port, path: '/healthz', ca: pki.ca, agent: false }, (res) => {
      const cert = (res.socket as TLSSocket).getPeerCertificate().subject.CN as string;
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, cert }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 200);
  assert.deepEqual(JSON.parse(body), { status: 'ok' });
  assert.equal(cert, 'relay.test');
  await assert.rejects(fetch(`http://127.0.0.1:${s.http!.port}/healthz`), 'plain HTTP must not be answered on the TLS port');
});

test('without a certificate the API is plain HTTP', async (t) => {
  const s = await startTestSmarthost(t, { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9' });
  assert.equal((await fetch(`http://127.0.0.1:${s.http!.port}/healthz`)).status, 200);
});
