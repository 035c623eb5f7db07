// MTA-STS (RFC 8461) and the operator's per-domain TLS policy on the mx route,
// against real peers on loopback: a DNS server (dns2) for every record, an HTTPS
// policy server and SMTP servers with certificates from a private test CA, and
// the policy cache in a real SQLite file.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { OutboundMessage, RecipientOutcome } from '../../src/delivery/outcome.ts';
import { createMxTransport } from '../../src/delivery/transports/mx/mx-transport.ts';
import type { PolicyLookup } from '../../src/delivery/transports/mx/mta-sts.ts';
import type { TlsLevel } from '../../src/delivery/transports/mx/tls-plan.ts';
import { formatReply } from '../../src/delivery/smtp-reply.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { startDnsServer, type DnsRecords } from '../helpers/dns-server.ts';
import { startFakeMx, type FakeMx } from '../helpers/fake-mx.ts';
import { testPki } from '../helpers/pki.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';
import { submit } from '../helpers/submit.ts';
import { waitFor } from '../helpers/wait.ts';

const RAW = Buffer.from('From: app@sender.test\r\nTo: user@example.com\r\nSubject: sts\r\n\r\nHello.\r\n');
const msg: OutboundMessage = { id: 'm1', sender: 'app@sender.test', raw: RAW };
const live = () => AbortSignal.timeout(15_000);
const pki = testPki();

interface PolicyAnswer {
  body?: string;
  status?: number;
  type?: string;
  headers?: Record<string, string>;
}

/** An HTTPS server for mta-sts.<domain> names, answering from `answers` by Host header (mutable). */
async function startPolicyServer(t: TestContext, names: string[], answers: Record<string, PolicyAnswer>) {
  const requests: string[] = [];
  const server: Server = createServer(pki.issue({ cn: names[0]!, san: names.map((n) => `DNS:${n}`) }), (req, res) => {
    const host = (req.headers.host ?? '').split(':')[0]!;
    requests.push(`${host}${req.url}`);
    const a = req.url === '/.well-known/mta-sts.txt' ? answers[host] : undefined;
    if (!a) return res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    res.writeHead(a.status ?? 200, { 'content-type': a.type ?? 'text/plain', ...a.headers }).end(a.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  t.after(close);
  return { port: (server.address() as AddressInfo).port, requests, close };
}

const policy = (mode: string, mx: string[], maxAge = 86_400) =>
  `version: STSv1\r\nmode: ${mode}\r\n${mx.map((m) => `mx: ${m}\r\n`).join('')}max_age: ${maxAge}\r\n`;

function tempStore(t: TestContext): { store: Store; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'smarthost-mta-sts-'));
  const store = openSqliteStore(dir);
  t.after(() => store.close());
  return { store, dir };
}

interface Setup {
  zone: DnsRecords;
  mxPort: number;
  store?: Store;
  httpsPort?: number;
  tlsPolicy?: Record<string, TlsLevel>;
  lookups?: PolicyLookup[];
  now?: () => number;
}

async function transportFor(t: TestContext, s: Setup) {
  const dns = await startDnsServer(s.zone, t);
  return createMxTransport({
    hostname: 'smarthost.test', dnsServers: [dns.server], port: s.mxPort, connectTimeout: 5000, replyTimeout: 5000,
    tlsPolicy: s.tlsPolicy, extraCa: [pki.ca],
    mtaSts: s.store && {
      store: s.store, timeoutMs: 5000, httpsPort: s.httpsPort, now: s.now,
      observe: (_domain, lookup) => s.lookups?.push(lookup),
    },
  });
}

function only(outcomes: RecipientOutcome[]): RecipientOutcome {
  assert.equal(outcomes.length, 1);
  return outcomes[0]!;
}

const summary = (o: RecipientOutcome) => ({ kind: o.kind, reply: formatReply(o.reply), tls: o.tls, tlsDetail: o.tlsDetail });

/** An MX on `host` with STARTTLS and a test-CA certificate for `certName`. */
function mxWithCert(t: TestContext, host: string, certName: string, port?: number): Promise<FakeMx> {
  return startFakeMx({ host, port, tls: true, certificate: pki.issue({ cn: certName, san: [`DNS:${certName}`] }) }, t);
}

test('enforce: an MX that matches the policy and shows a valid certificate gets the mail over verified TLS', async (t) => {
  const mx = await mxWithCert(t, '127.0.0.2', 'mx1.mail.example.com');
  const https = await startPolicyServer(t, ['mta-sts.example.com'], {
    'mta-sts.example.com': { body: policy('enforce', ['*.mail.example.com']) },
  });
  const { store } = tempStore(t);
  const lookups: PolicyLookup[] = [];
  const transport = await transportFor(t, {
    store, httpsPort: https.port, mxPort: mx.port, lookups,
    zone: {
      'example.com': { mx: [{ exchange: 'mx1.mail.example.com', priority: 10 }] },
      'mx1.mail.example.com': { a: ['127.0.0.2'] },
      '_mta-sts.example.com': { txt: ['v=STSv1; id=20261125'] },
      'mta-sts.example.com': { a: ['127.0.0.1'] },
    },
  });
  const o = only(await transport.send(msg, ['user@example.com'], live()));
  assert.deepEqual({ ...summary(o), reply: o.reply.code }, {
    kind: 'delivered', reply: 250, tls: 'TLSv1.3', tlsDetail: 'mta-sts enforce, certificate verified',
  });
  assert.equal(mx.messages.length, 1);
  assert.equal(mx.messages[0]!.secure, true);
  const cached = await store.getMtaStsPolicy('example.com');
  assert.deepEqual({ ...cached, fetchedAt: 0 }, {
    domain: 'example.com', id: '20261125', mode: 'enforce', mx: ['*.mail.example.com'], maxAge: 86_400, fetchedAt: 0,
  });
  // A second delivery with the same TXT id uses the cache: no new fetch.
  await transport.send(msg, ['user@example.com'], live());
  assert.deepEqual(https.requests, ['mta-sts.example.com/.well-known/mta-sts.txt']);
  assert.deepEqual(lookups.map((l) => l.result), ['fetched', 'cached']);
});

test('enforce: an MX that matches no mx pattern is never contacted; the mail is deferred with the reason', async (t) => {
  const mx = await mxWithCert(t, '127.0.0.2', 'mx.example.net');
  const https = await startPolicyServer(t, ['mta-sts.example.com'], {
    'mta-sts.example.com': { body: policy('enforce', ['*.mail.example.com']) },
  });
  const { store } = tempStore(t);
  const transport = await transportFor(t, {
    store, httpsPort: https.port, mxPort: mx.port,
    zone: {
      'example.com': { mx: [{ exchange: 'mx.example.net', priority: 10 }] },
      'mx.example.net': { a: ['127.0.0.2'] },
      '_mta-sts.example.com': { txt: ['v=STSv1; id=1'] },
      'mta-sts.example.com': { a: ['127.0.0.1'] },
    },
  });
  const o = only(await transport.send(msg, ['user@example.com'], live()));
  assert.deepEqual(summary(o), {
    kind: 'deferred', reply: '451 4.7.5 MTA-STS: mx.example.net does not match the policy for example.com (mx: *.mail.example.com)',
    tls: undefined, tlsDetail: 'mta-sts enforce',
  });
  assert.equal(mx.connections, 0);
});

/** example.com with one MX, mx1.mail.example.com on 127.0.0.2, and an MTA-STS TXT record with `id`. */
const stsZone = (id: string, mxName = 'mx1.mail.example.com'): DnsRecords => ({
  'example.com': { mx: [{ exchange: mxName, priority: 10 }] },
  [mxName]: { a: ['127.0.0.2'] },
  '_mta-sts.example.com': { txt: [`v=STSv1; id=${id}`] },
  'mta-sts.example.com': { a: ['127.0.0.1'] },
});

test('testing: a non-matching MX with an untrusted certificate still gets the mail; what enforce would refuse is recorded', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2', tls: true }, t); // self-signed CN=localhost
  const https = await startPolicyServer(t, ['mta-sts.example.com'], {
    'mta-sts.example.com': { body: policy('testing', ['*.mail.example.com']) },
  });
  const { store } = tempStore(t);
  const transport = await transportFor(t, { store, httpsPort: https.port, mxPort: mx.port, zone: stsZone('1', 'mx.example.net') });
  const o = only(await transport.send(msg, ['user@example.com'], live()));
  assert.equal(o.kind, 'delivered');
  assert.equal(o.tls, 'TLSv1.3');
  assert.equal(o.tlsDetail, 'mta-sts testing, certificate not verified: the certificate is self-signed (DEPTH_ZERO_SELF_SIGNED_CERT), '
    + 'enforce would fail: mx.example.net does not match the policy for example.com (mx: *.mail.example.com); no valid certificate');
  assert.equal(mx.messages.length, 1);
});

test('enforce: an MX whose certificate names another host is not trusted: deferred 4.7.5, no mail sent', async (t) => {
  const mx = await mxWithCert(t, '127.0.0.2', 'other.example.org');
  const https = await startPolicyServer(t, ['mta-sts.example.com'], {
    'mta-sts.example.com': { body: policy('enforce', ['*.mail.example.com']) },
  });
  const { store } = tempStore(t);
  const transport = await transportFor(t, { store, httpsPort: https.port, mxPort: mx.port, zone: stsZone('1') });
  const o = only(await transport.send(msg, ['user@example.com'], live()));
  assert.deepEqual(summary(o), {
    kind: 'deferred',
    reply: `451 4.7.5 MTA-STS: TLS with mx1.mail.example.com[127.0.0.2]:${mx.port} failed: the certificate does not name this host `
      + "(Host: mx1.mail.example.com. is not in the cert's altnames: DNS:other.example.org)",
    tls: undefined, tlsDetail: 'mta-sts enforce',
  });
  assert.equal(mx.messages.length, 0);
});

test('enforce: an MX without STARTTLS is deferred, never sent the mail in plaintext', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2' }, t);
  const https = await startPolicyServer(t, ['mta-sts.example.com'], {
    'mta-sts.example.com': { body: policy('enforce', ['mx1.mail.example.com']) },
  });
  const { store } = tempStore(t);
  const transport = await transportFor(t, { store, httpsPort: https.port, mxPort: mx.port, zone: stsZone('1') });
  const o = only(await transport.send(msg, ['user@example.com'], live()));
  assert.deepEqual(summary(o), {
    kind: 'deferred',
    reply: `451 4.7.5 MTA-STS: mx1.mail.example.com[127.0.0.2]:${mx.port} does not offer STARTTLS (500 5.0.0 Error: command not recognized); TLS is required`,
    tls: undefined, tlsDetail: 'mta-sts enforce',
  });
  assert.equal(mx.messages.length, 0);
});

test('unreachable policy and nothing cached: delivered as without MTA-STS (RFC 8461 §5), the failure recorded', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2' }, t); // no STARTTLS: enforce would refuse it
  const https = await startPolicyServer(t, ['mta-sts.example.com'], {});
  await https.close();
  const { store } = tempStore(t);
  const lookups: PolicyLookup[] = [];
  const transport = await transportFor(t, { store, httpsPort: https.port, mxPort: mx.port, zone: stsZone('1'), lookups });
  const o = only(await transport.send(msg, ['user@example.com'], live()));
  assert.equal(o.kind, 'delivered');
  assert.equal(o.tlsDetail, 'opportunistic, MTA-STS policy of example.com unavailable: https://mta-sts.example.com/.well-known/mta-sts.txt: '
    + 'connection refused: nothing listens on that port, or a firewall actively rejects it '
    + `(connect ECONNREFUSED 127.0.0.1:${https.port}), no TLS: the server does not offer STARTTLS`);
  assert.deepEqual(lookups.map((l) => l.result), ['failed']);
  assert.equal(await store.getMtaStsPolicy('example.com'), undefined);
});

test('a still-valid cached policy is kept when the refetch fails (new id, server down); an expired one is not', async (t) => {
  const mx = await mxWithCert(t, '127.0.0.2', 'mx.example.net');
  const https = await startPolicyServer(t, ['mta-sts.example.com'], {
    'mta-sts.example.com': { body: policy('enforce', ['*.mail.example.com'], 3600) },
  });
  const { store } = tempStore(t);
  let clock = Date.now();
  const lookups: PolicyLookup[] = [];
  const zone = stsZone('1', 'mx.example.net');
  const transport = await transportFor(t, { store, httpsPort: https.port, mxPort: mx.port, zone, lookups, now: () => clock });
  assert.equal(only(await transport.send(msg, ['user@example.com'], live())).kind, 'deferred');

  zone['_mta-sts.example.com'] = { txt: ['v=STSv1; id=2'] };
  await https.close();
  const kept = only(await transport.send(msg, ['user@example.com'], live()));
  assert.equal(formatReply(kept.reply), '451 4.7.5 MTA-STS: mx.example.net does not match the policy for example.com (mx: *.mail.example.com)');
  assert.match(lookups[1]!.problem ?? '', /^MTA-STS policy of example\.com unavailable: https:\/\/mta-sts\.example\.com\/\.well-known\/mta-sts\.txt: connection refused/);

  // The TXT record unreadable or gone: the cached policy still applies until max_age runs out (RFC 8461 §5.1).
  zone['_mta-sts.example.com'] = { servfail: true };
  assert.equal(only(await transport.send(msg, ['user@example.com'], live())).kind, 'deferred');
  assert.equal(lookups[2]!.problem, '_mta-sts.example.com: DNS lookup failed (ESERVFAIL)');
  delete zone['_mta-sts.example.com'];
  assert.equal(only(await transport.send(msg, ['user@example.com'], live())).kind, 'deferred');

  clock += 3601_000; // max_age over: the expired policy no longer applies
  const after = only(await transport.send(msg, ['user@example.com'], live()));
  assert.equal(after.kind, 'delivered');
  assert.equal(after.tlsDetail, 'opportunistic, certificate verified');
  assert.deepEqual(lookups.map((l) => l.result), ['fetched', 'kept', 'kept', 'kept', 'absent']);
  assert.equal(mx.messages.length, 1);
});

test('an expired cached policy with the same id is fetched again; when that fails the mail goes without a policy', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2' }, t);
  const https = await startPolicyServer(t, ['mta-sts.example.com'], {
    'mta-sts.example.com': { body: policy('enforce', ['*.mail.example.com'], 60) },
  });
  const { store } = tempStore(t);
  let clock = Date.now();
  const lookups: PolicyLookup[] = [];
  const transport = await transportFor(t, { store, httpsPort: https.port, mxPort: mx.port, zone: stsZone('1'), lookups, now: () => clock });
  assert.equal(only(await transport.send(msg, ['user@example.com'], live())).kind, 'deferred'); // no STARTTLS under enforce
  clock += 61_000;
  await https.close();
  const o = only(await transport.send(msg, ['user@example.com'], live()));
  assert.equal(o.kind, 'delivered');
  assert.match(o.tlsDetail ?? '', /^opportunistic, MTA-STS policy of example\.com unavailable: .*, no TLS: the server does not offer STARTTLS$/);
  assert.deepEqual(lookups.map((l) => l.result), ['fetched', 'failed']);
});

test('the cached policy survives a restart: the policy server is down afterwards and the policy is still enforced', async (t) => {
  const mx = await mxWithCert(t, '127.0.0.2', 'mx.example.net');
  const https = await startPolicyServer(t, ['mta-sts.example.com'], {
    'mta-sts.example.com': { body: policy('enforce', ['*.mail.example.com']) },
  });
  const dir = mkdtempSync(join(tmpdir(), 'smarthost-mta-sts-'));
  const zone = stsZone('1', 'mx.example.net');
  const first = openSqliteStore(dir);
  const before = await transportFor(t, { store: first, httpsPort: https.port, mxPort: mx.port, zone });
  assert.equal(only(await before.send(msg, ['user@example.com'], live())).kind, 'deferred');
  await first.close();
  await https.close();

  const second = openSqliteStore(dir);
  t.after(() => second.close());
  const lookups: PolicyLookup[] = [];
  const after = await transportFor(t, { store: second, httpsPort: https.port, mxPort: mx.port, zone, lookups });
  const o = only(await after.send(msg, ['user@example.com'], live()));
  assert.equal(formatReply(o.reply), '451 4.7.5 MTA-STS: mx.example.net does not match the policy for example.com (mx: *.mail.example.com)');
  assert.deepEqual(lookups.map((l) => l.result), ['cached']);
  assert.equal(mx.connections, 0);
});

test('mode none replaces the cached policy: nothing is enforced any more, even with the policy server down', async (t) => {
  const mx = await mxWithCert(t, '127.0.0.2', 'mx.example.net');
  const answers: Record<string, PolicyAnswer> = { 'mta-sts.example.com': { body: policy('enforce', ['*.mail.example.com']) } };
  const https = await startPolicyServer(t, ['mta-sts.example.com'], answers);
  const { store } = tempStore(t);
  const zone = stsZone('1', 'mx.example.net');
  const transport = await transportFor(t, { store, httpsPort: https.port, mxPort: mx.port, zone });
  assert.equal(only(await transport.send(msg, ['user@example.com'], live())).kind, 'deferred');

  answers['mta-sts.example.com'] = { body: 'version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n' };
  zone['_mta-sts.example.com'] = { txt: ['v=STSv1; id=2'] };
  const o = only(await transport.send(msg, ['user@example.com'], live()));
  assert.equal(o.kind, 'delivered');
  assert.equal(o.tlsDetail, 'opportunistic, certificate verified');
  assert.equal((await store.getMtaStsPolicy('example.com'))?.mode, 'none');

  await https.close();
  assert.equal(only(await transport.send(msg, ['user@example.com'], live())).kind, 'delivered');
  assert.equal(mx.messages.length, 2);
});

/** partner.test with one MX, mx.partner.test on 127.0.0.2 (no MTA-STS record). */
const partnerZone: DnsRecords = {
  'partner.test': { mx: [{ exchange: 'mx.partner.test', priority: 10 }] },
  'mx.partner.test': { a: ['127.0.0.2'] },
};

async function sendUnder(t: TestContext, level: TlsLevel, mx: FakeMx): Promise<RecipientOutcome> {
  const { store } = tempStore(t);
  const transport = await transportFor(t, { store, mxPort: mx.port, zone: partnerZone, tlsPolicy: { 'partner.test': level } });
  return only(await transport.send(msg, ['user@partner.test'], live()));
}

test('TLS policy verify: a valid certificate for the MX name → delivered; a self-signed one → deferred 4.7.5', async (t) => {
  const good = await mxWithCert(t, '127.0.0.2', 'mx.partner.test');
  const o = await sendUnder(t, 'verify', good);
  assert.deepEqual({ ...summary(o), reply: o.reply.code }, { kind: 'delivered', reply: 250, tls: 'TLSv1.3', tlsDetail: 'tls policy verify, certificate verified' });
  await good.close();

  const selfSigned = await startFakeMx({ host: '127.0.0.2', tls: true }, t);
  const bad = await sendUnder(t, 'verify', selfSigned);
  assert.deepEqual(summary(bad), {
    kind: 'deferred',
    reply: `451 4.7.5 TLS policy verify: TLS with mx.partner.test[127.0.0.2]:${selfSigned.port} failed: the certificate is self-signed (self-signed certificate)`,
    tls: undefined, tlsDetail: 'tls policy verify',
  });
  assert.equal(selfSigned.messages.length, 0);
});

test('TLS policy encrypt: a self-signed certificate is enough → delivered; no STARTTLS → deferred 4.7.5', async (t) => {
  const selfSigned = await startFakeMx({ host: '127.0.0.2', tls: true }, t);
  const o = await sendUnder(t, 'encrypt', selfSigned);
  assert.deepEqual({ ...summary(o), reply: o.reply.code }, {
    kind: 'delivered', reply: 250, tls: 'TLSv1.3',
    tlsDetail: 'tls policy encrypt, certificate not verified: the certificate is self-signed (DEPTH_ZERO_SELF_SIGNED_CERT)',
  });
  await selfSigned.close();

  const plain = await startFakeMx({ host: '127.0.0.2' }, t);
  const bad = await sendUnder(t, 'encrypt', plain);
  assert.deepEqual(summary(bad), {
    kind: 'deferred',
    reply: `451 4.7.5 TLS policy encrypt: mx.partner.test[127.0.0.2]:${plain.port} does not offer STARTTLS (500 5.0.0 Error: command not recognized); TLS is required`,
    tls: undefined, tlsDetail: 'tls policy encrypt',
  });
  assert.equal(plain.messages.length, 0);
});

test('TLS policy may: TLS when offered; a failed handshake falls back to plaintext on the same host', async (t) => {
  const selfSigned = await startFakeMx({ host: '127.0.0.2', tls: true }, t);
  const o = await sendUnder(t, 'may', selfSigned);
  assert.deepEqual({ ...summary(o), reply: o.reply.code }, {
    kind: 'delivered', reply: 250, tls: 'TLSv1.3',
    tlsDetail: 'tls policy may, certificate not verified: the certificate is self-signed (DEPTH_ZERO_SELF_SIGNED_CERT)',
  });
  await selfSigned.close();

  const broken = await startFakeMx({ host: '127.0.0.2', tls: 'broken' }, t);
  const fallback = await sendUnder(t, 'may', broken);
  assert.equal(fallback.kind, 'delivered');
  assert.equal(fallback.tls, undefined);
  assert.match(fallback.tlsDetail ?? '', /^tls policy may, no TLS: TLS handshake failed \(.+\), sent in plaintext$/);
  assert.equal(broken.messages[0]?.secure, false);
});

test('a configured TLS policy wins over the domain\'s MTA-STS policy, which is then not even looked up', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2' }, t);
  const https = await startPolicyServer(t, ['mta-sts.example.com'], {
    'mta-sts.example.com': { body: policy('enforce', ['*.mail.example.com']) },
  });
  const { store } = tempStore(t);
  const lookups: PolicyLookup[] = [];
  const transport = await transportFor(t, {
    store, httpsPort: https.port, mxPort: mx.port, zone: stsZone('1', 'mx.example.net'), lookups, tlsPolicy: { 'example.com': 'may' },
  });
  const o = only(await transport.send(msg, ['user@example.com'], live()));
  assert.equal(o.kind, 'delivered');
  assert.equal(o.tlsDetail, 'tls policy may, no TLS: the server does not offer STARTTLS');
  assert.deepEqual(lookups, []);
  assert.deepEqual(https.requests, []);
});

test('end to end: SMARTHOST_TLS_POLICY and MTA-STS decide each delivery; events, log lines and metrics say what was applied', async (t) => {
  const plain = await startFakeMx({ host: '127.0.0.2' }, t);
  const dns = await startDnsServer({
    'partner.test': { mx: [{ exchange: 'mx.partner.test', priority: 10 }] },
    'mx.partner.test': { a: ['127.0.0.2'] },
    'other.test': { mx: [{ exchange: 'mx.other.test', priority: 10 }] },
    'mx.other.test': { a: ['127.0.0.2'] },
    // A TXT record but no policy host: the fetch fails, the mail goes as without MTA-STS.
    'broken.test': { mx: [{ exchange: 'mx.other.test', priority: 10 }] },
    '_mta-sts.broken.test': { txt: ['v=STSv1; id=7'] },
  }, t);
  const s = await startTestSmarthost(t, {
    SMARTHOST_DNS_SERVERS: dns.server, SMARTHOST_MX_PORT: String(plain.port), SMARTHOST_TLS_POLICY: 'partner.test=encrypt',
  });
  const id = await submit(s.ports.submission, { to: ['a@partner.test', 'b@other.test', 'c@broken.test'] });
  const events = await waitFor('three attempts', async () => {
    const list = (await s.store.listEvents(id)).filter((e) => e.type === 'deferred' || e.type === 'delivered');
    return list.length === 3 && list;
  });
  const byRcpt = Object.fromEntries(events.map((e) => [e.recipient, [e.type, e.reply && formatReply(e.reply), e.detail]]));
  assert.deepEqual(byRcpt, {
    'a@partner.test': ['deferred',
      `451 4.7.5 TLS policy encrypt: mx.partner.test[127.0.0.2]:${plain.port} does not offer STARTTLS (500 5.0.0 Error: command not recognized); TLS is required`,
      'tls policy encrypt'],
    'b@other.test': ['delivered', byRcpt['b@other.test']?.[1], 'opportunistic, no TLS: the server does not offer STARTTLS'],
    'c@broken.test': ['delivered', byRcpt['c@broken.test']?.[1], 'opportunistic, MTA-STS policy of broken.test unavailable: '
      + 'https://mta-sts.broken.test/.well-known/mta-sts.txt: the name does not resolve (no such domain or no address) '
      + '(mta-sts.broken.test has no address), no TLS: the server does not offer STARTTLS'],
  });
  const warning = s.logs.find((l) => l.event === 'mta-sts');
  assert.deepEqual([warning?.level, warning?.domain, warning?.result], [40, 'broken.test', 'failed']);
  const line = s.logs.find((l) => l.event === 'delivery' && l.to === 'a@partner.test');
  assert.equal(line?.tls_detail, 'tls policy encrypt');
  // other.test publishes no MTA-STS record; partner.test's configured policy means no lookup at all.
  const metrics = await s.metrics.registry.metrics();
  assert.match(metrics, /^smarthost_mta_sts_policy_total\{mode="none",result="absent"\} 1$/m);
  assert.match(metrics, /^smarthost_mta_sts_policy_total\{mode="none",result="failed"\} 1$/m);
});

test('enforce: an expired MX certificate → deferred 4.7.5; an invalid policy file → no policy, the reason recorded', async (t) => {
  const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  const expired = pki.issue({
    cn: 'mx1.mail.example.com', san: ['DNS:mx1.mail.example.com'],
    startDate: stamp(Date.now() - 10 * 86_400_000), endDate: stamp(Date.now() - 86_400_000),
  });
  const mx = await startFakeMx({ host: '127.0.0.2', tls: true, certificate: expired }, t);
  const answers: Record<string, PolicyAnswer> = { 'mta-sts.example.com': { body: policy('enforce', ['*.mail.example.com']) } };
  const https = await startPolicyServer(t, ['mta-sts.example.com'], answers);
  const { store } = tempStore(t);
  const zone = stsZone('1');
  const transport = await transportFor(t, { store, httpsPort: https.port, mxPort: mx.port, zone });
  const o = only(await transport.send(msg, ['user@example.com'], live()));
  assert.equal(formatReply(o.reply),
    `451 4.7.5 MTA-STS: TLS with mx1.mail.example.com[127.0.0.2]:${mx.port} failed: the server certificate has expired (certificate has expired)`);

  const { store: fresh } = tempStore(t);
  answers['mta-sts.example.com'] = { body: 'version: STSv1\r\nmode: strict\r\nmx: *.mail.example.com\r\nmax_age: 86400\r\n' };
  const lenient = await transportFor(t, { store: fresh, httpsPort: https.port, mxPort: mx.port, zone });
  const sent = only(await lenient.send(msg, ['user@example.com'], live()));
  assert.equal(sent.kind, 'delivered');
  assert.equal(sent.tlsDetail, 'opportunistic, MTA-STS policy of example.com is invalid: Invalid mode field (RFC 8461 §3.2), '
    + 'certificate not verified: the server certificate has expired (CERT_HAS_EXPIRED)');
});

test('several v=STSv1 records mean no policy; a policy cache that cannot be read defers rather than downgrade', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2' }, t);
  const { store } = tempStore(t);
  const lookups: PolicyLookup[] = [];
  const zone = stsZone('1');
  zone['_mta-sts.example.com'] = { txt: ['v=STSv1; id=1', 'v=STSv1; id=2'] };
  const transport = await transportFor(t, { store, mxPort: mx.port, zone, lookups });
  const o = only(await transport.send(msg, ['user@example.com'], live()));
  assert.equal(o.kind, 'delivered');
  assert.equal(o.tlsDetail, 'opportunistic, _mta-sts.example.com: several v=STSv1 TXT records (RFC 8461 §3.1: none applies), '
    + 'no TLS: the server does not offer STARTTLS');

  await store.close();
  const failed = only(await transport.send(msg, ['user@example.com'], live()));
  assert.deepEqual(summary(failed), {
    kind: 'deferred', reply: '451 4.3.0 MTA-STS policy cache unavailable: The database connection is not open', tls: undefined, tlsDetail: undefined,
  });
  assert.equal(mx.messages.length, 1);
});
