// `smarthost doctor` with no argument: a running smarthost checks itself —
// configuration, certificate, store, listeners, resolver and outbound route.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silent, type Check, type Report } from '../../src/doctor/report.ts';
import { selfCheck } from '../../src/doctor/self-check.ts';
import { smarthostCli } from '../helpers/cli-run.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startFakeMx } from '../helpers/fake-mx.ts';
import { startFakeProvider } from '../helpers/fake-providers.ts';
import { testPki } from '../helpers/pki.ts';
import { freePort } from '../helpers/ports.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';
import { startTlsSmtpPeer } from '../helpers/tls-smtp-peer.ts';

const checks = (r: Report, title: RegExp): Check[] => {
  const s = r.sections.find((x) => title.test(x.title));
  assert.ok(s, `no section ${title} in ${r.sections.map((x) => x.title).join(', ')}`);
  return s.checks;
};
const statuses = (list: Check[]) => list.map((c) => `${c.id}:${c.status}`);

test('a running smarthost passes its own check through the CLI (MX route to a loopback MX), exit 0', async (t) => {
  const dns = await startDnsServer({
    'relay.test': { a: ['127.0.0.1'] },
    'probe.test': { mx: [{ exchange: 'mx.probe.test', priority: 10 }] },
    'mx.probe.test': { a: ['127.0.0.1'] },
  }, t);
  const mx = await startFakeMx({ host: '127.0.0.1', tls: true }, t);
  const sh = await startTestSmarthost(t, { SMARTHOST_DNS_SERVERS: dns.server, SMARTHOST_MX_PORT: String(mx.port) });
  const env = {
    SMARTHOST_DATA_DIR: sh.config.dataDir, SMARTHOST_HOSTNAME: 'relay.test', SMARTHOST_LISTEN: '127.0.0.1',
    SMARTHOST_SUBMISSION_PORT: String(sh.ports.submission), SMARTHOST_SMTPS_PORT: String(sh.ports.smtps), SMARTHOST_ALT_PORT: String(sh.ports.alt),
    SMARTHOST_DNS_SERVERS: dns.server, SMARTHOST_MX_PORT: String(mx.port), SMARTHOST_MIN_FREE_DISK: '0',
  };
  const r = await smarthostCli(['doctor', '--json', '--timeout', '1', '--mx-probe', 'probe.test'], env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  assert.deepEqual(statuses(checks(report, /^configuration/)), ['config:ok']);
  assert.deepEqual(statuses(checks(report, /^certificate/)), ['cert.expiry:ok', 'cert.self-signed:warn']);
  assert.deepEqual(statuses(checks(report, /^store/)), ['store:ok', 'store.disk:ok']);
  for (const name of ['submission', 'smtps', 'alt']) {
    const s = report.sections.find((x) => x.title.startsWith(`listener ${name} `))!;
    assert.match(s.verdict!, /^works: (STARTTLS|implicit TLS), AUTH PLAIN\/LOGIN$/, s.title);
  }
  assert.deepEqual(statuses(checks(report, /^DNS resolver/)), ['resolver:ok']);
  const route = checks(report, /^route: MX delivery/);
  // MX delivery is opportunistic: the MX's wrong-name certificate is a warning, not a failure.
  assert.equal(route.find((c) => c.id === 'tls.name')!.status, 'warn');
  assert.ok(route.some((c) => c.id === 'greeting' && c.status === 'ok'));
});

test('nothing listening, and a relay that refuses the credentials: both explained, report fails', async (t) => {
  const dns = await startDnsServer({}, t);
  const pki = testPki();
  const relay = await startTlsSmtpPeer({ ...pki.issue({ cn: 'localhost', san: ['IP:127.0.0.1'] }), secure: true, auth: { user: 'bob', pass: 'right' } }, t);
  const closed = await freePort();
  const r = await selfCheck({
    SMARTHOST_DATA_DIR: join(mkdtempSync(join(tmpdir(), 'doctor-self-')), 'data'), SMARTHOST_HOSTNAME: 'relay.test', SMARTHOST_LISTEN: '127.0.0.1',
    SMARTHOST_SUBMISSION_PORT: String(closed), SMARTHOST_SMTPS_PORT: '0', SMARTHOST_ALT_PORT: '0', SMARTHOST_DNS_SERVERS: dns.server,
    SMARTHOST_RELAY_URL: `smtps://bob:wrong@127.0.0.1:${relay.port}`, SMARTHOST_RELAY_TLS_VERIFY: 'false',
  }, { timeoutMs: 1000, mxProbeDomain: 'unused.test', progress: silent });
  assert.equal(r.ok, false);
  assert.match(checks(r, /^store/)[0]!.summary, /does not exist yet/);
  const listener = checks(r, /^listener submission/)[0]!;
  assert.equal(listener.status, 'fail');
  assert.match(listener.hint!, /is smarthost running/);
  assert.deepEqual(statuses(checks(r, /^DNS resolver/)), ['resolver:ok', 'resolver.hostname:warn']);
  const auth = checks(r, /^route: relay 127\.0\.0\.1/).find((c) => c.id === 'auth')!;
  assert.equal(auth.status, 'fail');
  assert.match(auth.summary, /535 5\.7\.8/);
  assert.equal(auth.category, 'auth');
  assert.ok(checks(r, /^configuration/).some((c) => c.id === 'config.relay-verify' && c.status === 'warn'));
});

test('a bad configuration: every problem is a failed check', async () => {
  const r = await selfCheck({ SMARTHOST_SUBMISSION_PORT: 'abc', SMARTHOST_TRUSTED_NETWORKS: '10.0.0.0/99' }, { timeoutMs: 1000, mxProbeDomain: 'x.test', progress: silent });
  assert.equal(r.ok, false);
  assert.deepEqual(r.sections.map((s) => s.title), ['configuration']);
  assert.equal(r.sections[0]!.checks.length, 2);
  assert.match(r.sections[0]!.checks.map((c) => c.summary).join('\n'), /SMARTHOST_SUBMISSION_PORT: [\s\S]*SMARTHOST_TRUSTED_NETWORKS: /);
});

test('provider routes from SMARTHOST_ROUTE: each checked with its API call, a refused token explained; under auto a blocked port 25 is only a warning', async (t) => {
  const dns = await startDnsServer({ 'relay.test': { a: ['127.0.0.1'] }, 'probe.test': { mx: [{ exchange: 'mx.probe.test', priority: 10 }] }, 'mx.probe.test': { a: ['127.0.0.1'] } }, t);
  // Plain http on loopback: selfCheck runs in this process, which cannot be told to trust the test CA.
  const resend = await startFakeProvider('resend', t, { key: 're_test_key', plain: true });
  const postmark = await startFakeProvider('postmark', t, { key: 'pm-right-token', plain: true });
  const refused = await freePort();
  const env = {
    SMARTHOST_DATA_DIR: join(mkdtempSync(join(tmpdir(), 'doctor-self-')), 'data'), SMARTHOST_HOSTNAME: 'relay.test', SMARTHOST_LISTEN: '127.0.0.1',
    SMARTHOST_SUBMISSION_PORT: '0', SMARTHOST_SMTPS_PORT: '0', SMARTHOST_ALT_PORT: '0', SMARTHOST_DNS_SERVERS: dns.server, SMARTHOST_MX_PORT: String(refused),
    SMARTHOST_RESEND_API_KEY: 're_test_key', SMARTHOST_RESEND_API_URL: resend.url,
    SMARTHOST_POSTMARK_SERVER_TOKEN: 'pm-wrong-token', SMARTHOST_POSTMARK_API_URL: postmark.url,
  };
  const opts = { timeoutMs: 1000, mxProbeDomain: 'probe.test', progress: silent };
  const routeTitles = (r: Report) => r.sections.map((s) => s.title).filter((x) => /^rout/.test(x));

  const listed = await selfCheck({ ...env, SMARTHOST_ROUTE: 'resend,postmark' }, opts);
  assert.equal(listed.ok, false);
  assert.match(checks(listed, /^configuration/)[0]!.summary, /, route resend, postmark$/);
  assert.deepEqual(routeTitles(listed), ['routing', 'route: resend (through resend over plain HTTP on loopback)', 'route: postmark (through postmark over plain HTTP on loopback)']);
  assert.deepEqual(checks(listed, /^routing$/).map((c) => [c.status, c.summary]), [['info', 'default: resend, postmark']]);
  assert.deepEqual(checks(listed, /^route: resend/).map((c) => [c.status, c.summary]), [['ok', 'API key accepted (domains: example.com verified)']]);
  const pm = checks(listed, /^route: postmark/);
  assert.deepEqual(pm.map((c) => [c.status, c.summary]), [['fail',
    'the Postmark server token was refused (HTTP 401: The Server Token you provided in the X-Postmark-Server-Token request header was invalid.)']]);
  assert.equal(pm[0]!.hint, 'check the postmark settings (SMARTHOST_POSTMARK_*) and that this host reaches its API');

  // auto: port 25 refuses, Postmark's token is wrong, Resend works — mail leaves through Resend, so the others only warn.
  const auto = await selfCheck({ ...env, SMARTHOST_ROUTE: 'auto' }, opts);
  assert.equal(auto.ok, true, JSON.stringify(auto.sections.filter((s) => s.checks.some((c) => c.status === 'fail'))));
  assert.deepEqual(checks(auto, /^routing$/).map((c) => c.summary), ['default: auto', 'auto probes, in order: mx, resend, postmark']);
  assert.deepEqual(routeTitles(auto), ['routing', 'route: MX delivery (port ' + refused + '), tried with probe.test',
    'route: resend (through resend over plain HTTP on loopback)', 'route: postmark (through postmark over plain HTTP on loopback)']);
  const connect = checks(auto, /^route: MX delivery/).find((c) => c.id === 'connect')!;
  assert.equal(connect.status, 'warn');
  assert.match(connect.hint!, /SMARTHOST_ROUTE=auto skips this route while it fails$/);
  assert.equal(checks(auto, /^route: postmark/)[0]!.status, 'warn');
  assert.deepEqual([resend.requests.length, postmark.requests.length], [0, 0], 'checks send no mail');
});
