// The policy fetch against a real HTTPS server on loopback (test CA) and a real
// DNS server: what RFC 8461 §3.3 allows through, and the words for what it does not.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test, type TestContext } from 'node:test';
import { childEnv, PROJECT_ROOT } from '../../../../test/helpers/child-smarthost.ts';
import { startDnsServer } from '../../../../test/helpers/dns-server.ts';
import { startSilentServer, testCertificate } from '../../../../test/helpers/fake-mx.ts';
import { testPki } from '../../../../test/helpers/pki.ts';
import { fetchPolicyFile, MAX_POLICY_BYTES } from './mta-sts-fetch.ts';
import { createResolver } from './resolve.ts';

const pki = testPki();
const execFileAsync = promisify(execFile);
const URL = 'https://mta-sts.a.test/.well-known/mta-sts.txt';
const POLICY = 'version: STSv1\r\nmode: enforce\r\nmx: mx.a.test\r\nmax_age: 86400\r\n';

async function serve(t: TestContext, answer: (res: import('node:http').ServerResponse) => void, tls?: ServerOptions) {
  const server = createServer(tls ?? pki.issue({ cn: 'mta-sts.a.test', san: ['DNS:mta-sts.a.test'] }), (_req, res) => answer(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return (server.address() as AddressInfo).port;
}

async function fetchFrom(t: TestContext, port: number, timeoutMs = 5000) {
  const dns = await startDnsServer({ 'mta-sts.a.test': { a: ['127.0.0.1'] } }, t);
  return fetchPolicyFile('a.test', { resolver: createResolver([dns.server]), timeoutMs, httpsPort: port, extraCa: [pki.ca] });
}

test('200 text/plain over a certificate valid for mta-sts.<domain>: the policy text', async (t) => {
  const port = await serve(t, (res) => res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(POLICY));
  assert.equal(await fetchFrom(t, port), POLICY);
});

test('a redirect is not followed, another status is refused', async (t) => {
  const redirect = await serve(t, (res) => res.writeHead(301, { location: 'https://elsewhere.test/p.txt' }).end());
  await assert.rejects(fetchFrom(t, redirect), {
    message: `${URL}: HTTP 301 (redirect to https://elsewhere.test/p.txt, not followed); RFC 8461 §3.3 wants 200`,
  });
  const missing = await serve(t, (res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('no'));
  await assert.rejects(fetchFrom(t, missing), { message: `${URL}: HTTP 404; RFC 8461 §3.3 wants 200` });
});

test('a policy served as another media type is refused', async (t) => {
  const port = await serve(t, (res) => res.writeHead(200, { 'content-type': 'text/html' }).end(POLICY));
  await assert.rejects(fetchFrom(t, port), { message: `${URL}: served as "text/html", not text/plain (RFC 8461 §3.3)` });
});

test('a policy larger than 64 KiB is cut off', async (t) => {
  const port = await serve(t, (res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(POLICY + 'x'.repeat(MAX_POLICY_BYTES)));
  await assert.rejects(fetchFrom(t, port), { message: `${URL}: larger than 65536 bytes` });
});

test('a certificate the CAs do not vouch for is refused, in plain words', async (t) => {
  const port = await serve(t, (res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(POLICY), testCertificate());
  await assert.rejects(fetchFrom(t, port), { message: `${URL}: the certificate is self-signed (self-signed certificate)` });
});

test('an expired certificate on the policy host, or one for another name, is refused in plain words', async (t) => {
  const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  const expired = pki.issue({
    cn: 'mta-sts.a.test', san: ['DNS:mta-sts.a.test'], startDate: stamp(Date.now() - 10 * 86_400_000), endDate: stamp(Date.now() - 86_400_000),
  });
  const ok = (res: import('node:http').ServerResponse) => res.writeHead(200, { 'content-type': 'text/plain' }).end(POLICY);
  await assert.rejects(fetchFrom(t, await serve(t, ok, expired)), { message: `${URL}: the server certificate has expired (certificate has expired)` });
  const other = await serve(t, ok, pki.issue({ cn: 'www.a.test', san: ['DNS:www.a.test'] }));
  await assert.rejects(fetchFrom(t, other), { message: new RegExp(`^${URL.replace(/[./]/g, '\\$&')}: the certificate does not name this host`) });
});

test('a server that never answers is given up after the time limit', async (t) => {
  const silent = await startSilentServer('127.0.0.1', 0, t);
  await assert.rejects(fetchFrom(t, silent.port, 300), { message: `${URL}: no complete answer within 300 ms` });
});

test('a connection cut in the middle of the policy file is a failed fetch, not a fetch that never ends', async (t) => {
  // Headers and part of the body, then the socket goes: the time limit (here far beyond the test's wait) must not be what ends it.
  const port = await serve(t, (res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(POLICY.length) });
    res.write(POLICY.slice(0, 10), () => res.socket?.destroy());
  });
  const outcome = await Promise.race([
    fetchFrom(t, port, 60_000).then(() => 'resolved', (err: Error) => err.message),
    new Promise((resolve) => setTimeout(resolve, 10_000, 'still waiting after 10 s')),
  ]);
  assert.equal(outcome, `${URL}: the connection was closed before the policy file was complete`);
});

test('the policy host is resolved through the configured resolver: no address, no fetch', async (t) => {
  const dns = await startDnsServer({}, t);
  await assert.rejects(fetchPolicyFile('a.test', { resolver: createResolver([dns.server]), timeoutMs: 5000, httpsPort: 1 }), {
    message: `${URL}: the name does not resolve (no such domain or no address) (mta-sts.a.test has no address)`,
  });
});

test('without extraCa the policy host is verified against Node\'s CAs, which NODE_EXTRA_CA_CERTS extends (as in production)', async (t) => {
  const port = await serve(t, (res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(POLICY));
  const dns = await startDnsServer({ 'mta-sts.a.test': { a: ['127.0.0.1'] } }, t);
  const caFile = join(mkdtempSync(join(tmpdir(), 'smarthost-ca-')), 'ca.pem');
  writeFileSync(caFile, pki.ca);
  const script = `import { fetchPolicyFile } from './src/delivery/transports/mx/mta-sts-fetch.ts';
    import { createResolver } from './src/delivery/transports/mx/resolve.ts';
    fetchPolicyFile('a.test', { resolver: createResolver(['${dns.server}']), timeoutMs: 5000, httpsPort: ${port} })
      .then((text) => console.log(JSON.stringify({ text })), (err) => console.log(JSON.stringify({ error: err.message })));`;
  const run = async (env: Record<string, string>) => {
    const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: PROJECT_ROOT, env: childEnv(env), timeout: 20_000,
    });
    return JSON.parse(stdout) as { text?: string; error?: string };
  };
  assert.deepEqual(await run({ NODE_EXTRA_CA_CERTS: caFile }), { text: POLICY });
  assert.deepEqual(await run({}), {
    error: `${URL}: the chain is incomplete (unable to verify the first certificate)`,
  });
});
