// `smarthost doctor smtp` against real peers on loopback: smarthost itself,
// Postfix's smtp-sink, silent, closed and filtered ports, and TLS peers with
// expired or wrong-name certificates, AUTH before TLS and refused recipients.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePorts } from '../../src/doctor/ports.ts';
import { silent, type Check, type Report, type Section } from '../../src/doctor/report.ts';
import { doctorSmtp, type SmtpDoctorOptions } from '../../src/doctor/smtp.ts';
import { smarthostCli } from '../helpers/cli-run.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startSilentServer } from '../helpers/fake-mx.ts';
import { startFilteredPort } from '../helpers/filtered-port.ts';
import { testPki } from '../helpers/pki.ts';
import { freePort } from '../helpers/ports.ts';
import { skipWithout } from '../helpers/run.ts';
import { startTestSmarthost, TEST_PASSWORD, TEST_USER } from '../helpers/smarthost.ts';
import { startSmtpSink } from '../helpers/smtp-sink.ts';
import { startTlsSmtpPeer } from '../helpers/tls-smtp-peer.ts';

const TIMEOUT_MS = 1000;

const probe = (ports: string, more: Partial<SmtpDoctorOptions> = {}): Promise<Report> =>
  doctorSmtp('127.0.0.1', { ports: parsePorts(ports), timeoutMs: TIMEOUT_MS, ehloName: 'doctor.test', progress: silent, ...more });

function port(report: Report, n: number): Section {
  const s = report.sections.find((x) => x.title.startsWith(`port ${n} `));
  assert.ok(s, `no section for port ${n} in ${report.sections.map((x) => x.title).join(', ')}`);
  return s;
}

function find(section: Section, id: string, status?: Check['status']): Check {
  const c = section.checks.find((x) => x.id === id && (!status || x.status === status));
  assert.ok(c, `no ${status ?? ''} ${id} check in ${section.title}: ${JSON.stringify(section.checks.map((x) => [x.id, x.status, x.summary]))}`);
  return c;
}

test('smarthost itself: 587-style STARTTLS, 465-style implicit TLS and 2525, with AUTH and MAIL/RCPT', async (t) => {
  const sh = await startTestSmarthost(t);
  const { submission, smtps, alt } = sh.ports;
  const creds = { user: TEST_USER, password: TEST_PASSWORD };

  await t.test('every port works; AUTH is not offered before TLS; the recommendation names the first port', async () => {
    const r = await probe(`${submission},${smtps}:tls,${alt}`, {
      credentials: creds, envelope: { from: 'app@example.com', to: ['someone@example.org'], send: false },
    });
    assert.equal(r.ok, true, JSON.stringify(r, null, 1));
    for (const [n, mode] of [[submission, 'STARTTLS'], [smtps, 'implicit TLS'], [alt, 'STARTTLS']] as const) {
      const s = port(r, n);
      assert.equal(s.verdict, `works: ${mode}, AUTH PLAIN works`);
      if (mode === 'STARTTLS') assert.equal(find(s, 'auth.before-tls').status, 'ok', 'smarthost hides AUTH before TLS');
      find(s, 'tls.name', 'ok');
      find(s, 'tls.trust', 'warn'); // its own self-signed certificate
      find(s, 'rcpt', 'ok');
      assert.match(find(s, 'auth.mechanisms').summary, /PLAIN LOGIN/);
    }
    assert.deepEqual(r.settings, { host: '127.0.0.1', port: submission, tls: 'starttls', auth: 'PLAIN', user: TEST_USER });
  });

  await t.test('AUTH LOGIN when asked for it', async () => {
    const r = await probe(String(submission), { credentials: { ...creds, method: 'LOGIN' } });
    assert.equal(find(port(r, submission), 'auth', 'ok').summary, `AUTH LOGIN accepted for ${TEST_USER}`);
  });

  await t.test('wrong password: 535 explained, and not retried on the next port (lock-out)', async () => {
    const r = await probe(`${submission},${alt}`, { credentials: { user: TEST_USER, password: 'wrong' } });
    assert.equal(r.ok, false);
    const refused = find(port(r, submission), 'auth', 'fail');
    assert.match(refused.summary, /^AUTH PLAIN refused: 535 5\.7\.8 /);
    assert.equal(refused.category, 'auth');
    assert.match(refused.hint!, /wrong username or password.*expired nor revoked.*app password or API key/);
    assert.match(find(port(r, alt), 'auth', 'info').summary, /refused on port \d+; not retried, to avoid a lock-out/);
  });

  await t.test('wrong TLS mode: guessed mode corrected with a warning; a named wrong mode fails, explained', async () => {
    const r = await probe(`${smtps},${submission}:tls`);
    const guessed = port(r, smtps);
    assert.match(find(guessed, 'tls.mode', 'warn').summary, /speaks implicit TLS, not STARTTLS/);
    assert.match(guessed.verdict!, /^works: implicit TLS/);
    const named = find(port(r, submission), 'tls', 'fail');
    assert.equal(named.category, 'tls');
    assert.match(named.hint!, /wrong TLS mode/);
  });
});

test('smtp-sink (no TLS) through the CLI: the message is sent, STARTTLS is missing (warning), exit 0', { skip: skipWithout('smtp-sink') }, async (t) => {
  const sink = await startSmtpSink('127.0.0.1', t);
  const r = await smarthostCli(['doctor', 'smtp', '127.0.0.1', '--port', String(sink.port), '--from', 'app@example.com',
    '--to', 'a@example.org', '--send', '--json', '--timeout', '2']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  const s = port(report, sink.port);
  find(s, 'starttls', 'warn');
  find(s, 'data', 'ok');
  assert.match(s.verdict!, /^works: no TLS/);
  assert.deepEqual((await sink.waitForMessages(1))[0]!.rcpts, ['a@example.org']);
});

test('closed, silent and filtered ports through the CLI: refused, no greeting, timed out; exit 1', async (t) => {
  const closed = await freePort();
  const quiet = await startSilentServer('127.0.0.1', 0, t);
  const filtered = await startFilteredPort(t);
  const started = Date.now();
  const r = await smarthostCli(['doctor', 'smtp', '127.0.0.1', '--port', `${closed},${quiet.port},${filtered}`, '--timeout', '1', '--json']);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(Date.now() - started < 15_000, 'bounded by the timeout');
  const report = JSON.parse(r.stdout) as Report;
  assert.equal(report.ok, false);
  assert.equal(port(report, closed).verdict, 'closed: connection refused');
  assert.equal(find(port(report, closed), 'connect', 'fail').category, 'network');
  assert.equal(port(report, quiet.port).verdict, 'not usable: connected, but no SMTP greeting');
  assert.match(find(port(report, quiet.port), 'greeting', 'fail').hint!, /sent no greeting/);
  assert.equal(port(report, filtered).verdict, 'filtered: the connection timed out');
  assert.match(find(port(report, filtered), 'connect', 'fail').hint!, /firewall silently drops/);
  assert.match(report.recommendation!, /^no port works from here; port \d+ refuses connections; port \d+ is filtered from here$/);
});

test('TLS peers: AUTH before TLS, expired and wrong-name certificates, a refused recipient, every AUTH mechanism', async (t) => {
  const pki = testPki();
  const ca = [pki.ca];
  const good = pki.issue({ cn: 'localhost', san: ['DNS:localhost', 'IP:127.0.0.1'] });
  const auth = { user: 'bob', pass: 's3cret', token: 'ya29.token' };

  await t.test('AUTH offered before STARTTLS is a warning; 550 5.7.1 on RCPT is explained as relaying denied', async (t) => {
    const peer = await startTlsSmtpPeer({ ...good, auth, rcptReply: '550 5.7.1 Relaying denied' }, t);
    const r = await probe(String(peer.port), { ca, credentials: { user: 'bob', password: 's3cret' }, envelope: { from: 'bob@example.com', to: ['x@example.net'], send: false } });
    const s = port(r, peer.port);
    assert.match(find(s, 'auth.before-tls', 'warn').summary, /AUTH offered before TLS \(PLAIN LOGIN CRAM-MD5 XOAUTH2\)/);
    find(s, 'tls.trust', 'ok');
    find(s, 'auth', 'ok');
    const rcpt = find(s, 'rcpt', 'fail');
    assert.equal(rcpt.summary, 'RCPT TO:<x@example.net> refused: 550 5.7.1 Relaying denied');
    assert.equal(rcpt.category, 'policy');
    assert.match(rcpt.hint!, /^relaying denied: .*authenticate/);
  });

  await t.test('CRAM-MD5 and XOAUTH2 log in; a bad XOAUTH2 token gets its 334 error and then 535', async (t) => {
    const peer = await startTlsSmtpPeer({ ...good, auth }, t);
    const cram = await probe(String(peer.port), { ca, credentials: { user: 'bob', password: 's3cret', method: 'CRAM-MD5' } });
    find(port(cram, peer.port), 'auth', 'ok');
    const oauth = await probe(String(peer.port), { ca, credentials: { user: 'bob', oauthToken: auth.token } });
    assert.equal(find(port(oauth, peer.port), 'auth', 'ok').summary, 'AUTH XOAUTH2 accepted for bob');
    const bad = await probe(String(peer.port), { ca, credentials: { user: 'bob', oauthToken: 'expired' } });
    assert.match(find(port(bad, peer.port), 'auth', 'fail').summary, /^AUTH XOAUTH2 refused: 535 /);
  });

  await t.test('an expired certificate on implicit TLS fails, explained', async (t) => {
    const expired = pki.issue({ cn: 'localhost', san: ['DNS:localhost', 'IP:127.0.0.1'], startDate: '20200101000000Z', endDate: '20200102000000Z' });
    const peer = await startTlsSmtpPeer({ ...expired, secure: true }, t);
    const r = await probe(`${peer.port}:tls`, { ca });
    const s = port(r, peer.port);
    const c = find(s, 'tls.expiry', 'fail');
    assert.equal(c.summary, 'certificate expired on 2020-01-02');
    assert.equal(c.category, 'tls');
    find(s, 'tls.name', 'ok');
    assert.equal(r.ok, false);
    assert.equal(s.verdict, 'problem: certificate expired on 2020-01-02');
  });

  await t.test('a certificate for another name fails the name check, the chain is fine', async (t) => {
    const other = pki.issue({ cn: 'mx.other.test', san: ['DNS:mx.other.test'] });
    const peer = await startTlsSmtpPeer(other, t);
    const r = await probe(String(peer.port), { ca });
    const s = port(r, peer.port);
    assert.equal(find(s, 'tls.name', 'fail').summary, 'certificate does not name 127.0.0.1 (it names DNS:mx.other.test)');
    find(s, 'tls.trust', 'ok');
    find(s, 'tls.expiry', 'ok');
  });
});

test('a host name that does not resolve: DNS failure, no port tried', async (t) => {
  const dns = await startDnsServer({ 'example.test': { a: ['127.0.0.1'] } }, t);
  const r = await doctorSmtp('smtp.missing.test', { ports: parsePorts('587'), timeoutMs: TIMEOUT_MS, dnsServers: [dns.server], progress: silent });
  assert.equal(r.ok, false);
  assert.deepEqual(r.sections.map((s) => s.title), ['DNS']);
  const c = r.sections[0]!.checks[0]!;
  assert.equal(c.category, 'dns');
  assert.match(c.summary, /^smtp\.missing\.test does not resolve: .*ENOTFOUND/);
});
