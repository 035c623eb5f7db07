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
