// `smarthost doctor dns` against a local DNS server with good and broken MX,
// SPF, DKIM, DMARC and MTA-STS records, and an HTTPS policy host on loopback.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { doctorDns, sendingRoute, type DnsDoctorOptions } from '../../src/doctor/dns.ts';
import { silent, type Check, type Report } from '../../src/doctor/report.ts';
import { smarthostCli } from '../helpers/cli-run.ts';
import { startDnsServer, type DnsRecords } from '../helpers/dns-server.ts';
import { testPki } from '../helpers/pki.ts';

const rsaKey = (bits: number) =>
  generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

/** A TXT record as several character-strings of at most 200 octets (each is limited to 255). */
const chunks = (text: string) => (text.match(/.{1,200}/g) ?? []) as unknown as string;

function zone(): DnsRecords {
  const key = rsaKey(2048);
  const includes = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`i${i}.toomany.test`, { txt: [`v=spf1 ip4:10.0.0.${i} -all`] }]));
  return {
    // A domain with everything right; its DKIM key is split over two TXT strings (RFC 6376 §3.6.2.2).
    'good.test': { mx: [{ exchange: 'mx.good.test', priority: 10 }], txt: ['v=spf1 ip4:127.0.0.10 include:_spf.provider.test -all', 'google-site-verification=x'] },
    'mx.good.test': { a: ['127.0.0.10'] },
    'mail.good.test': { a: ['127.0.0.10'] },
    '_spf.provider.test': { txt: ['v=spf1 ip4:127.0.1.0/24 ~all'] },
    'sel._domainkey.good.test': { txt: [chunks(`v=DKIM1; k=rsa; p=${key}`)] },
    '_dmarc.good.test': { txt: ['v=DMARC1; p=reject; rua=mailto:dmarc@good.test'] },
    '_mta-sts.good.test': { txt: ['v=STSv1; id=20240101'] },
    'mta-sts.good.test': { a: ['127.0.0.1'] },
    // One of each mistake.
    'broken.test': { mx: [{ exchange: 'gone.broken.test', priority: 10 }], txt: ['v=spf1 ip4:300.1.1.1 foo:bar +all'] },
    'sel._domainkey.broken.test': { txt: ['v=DKIM1; k=rsa; p='] },
    'weak._domainkey.broken.test': { txt: [`v=DKIM1; p=${rsaKey(512)}`] },
    '_dmarc.broken.test': { txt: ['v=DMARC1; p=maybe'] },
    '_mta-sts.broken.test': { txt: ['v=STSv1;'] },
    'nullmx.test': { mx: [{ exchange: '', priority: 0 }], txt: ['v=spf1 -all', 'v=spf1 mx -all'] },
    // Over 255 octets: one TXT record of two strings, joined without a space (RFC 7208 §3.3).
    'toomany.test': { a: ['127.0.0.20'], txt: [chunks(`v=spf1 ${Object.keys(includes).map((d) => `include:${d}`).join(' ')} -all`)] },
    ...includes,
    // MTA-STS in enforce mode whose policy forgets the real MX.
    'sts.test': { mx: [{ exchange: 'mx2.sts.test', priority: 10 }] },
    'mx2.sts.test': { a: ['127.0.0.11'] },
    '_mta-sts.sts.test': { txt: ['v=STSv1; id=1'] },
    'mta-sts.sts.test': { a: ['127.0.0.1'] },
    // Sent through SendGrid (include on the domain) and Resend (include on send.<domain>, missing here).
    'prov.test': { mx: [{ exchange: 'mx.good.test', priority: 10 }], txt: ['v=spf1 include:sendgrid.net -all'] },
    'sendgrid.net': { txt: ['v=spf1 ip4:192.0.2.0/24 -all'] },
  };
}

const POLICIES: Record<string, string> = {
  'mta-sts.good.test': 'version: STSv1\r\nmode: enforce\r\nmx: mx.good.test\r\nmax_age: 86400\r\n',
  'mta-sts.sts.test': 'version: STSv1\nmode: enforce\nmx: *.other.test\nmax_age: 86400\n',
};

const all = (r: Report) => r.sections.flatMap((s) => s.checks);
function find(r: Report, id: string, status?: Check['status']): Check {
  const c = all(r).find((x) => x.id === id && (!status || x.status === status));
  assert.ok(c, `no ${status ?? ''} ${id} in ${JSON.stringify(all(r).map((x) => [x.id, x.status, x.summary]))}`);
  return c;
}

test('doctor dns', async (t) => {
  const dns = await startDnsServer(zone(), t);
  const pki = testPki();
  const https = createServer(pki.issue({ cn: 'mta-sts.good.test', san: ['DNS:mta-sts.good.test', 'DNS:mta-sts.sts.test'] }), (req, res) => {
    const body = req.url === '/.well-known/mta-sts.txt' ? POLICIES[(req.headers.host ?? '').split(':')[0]!] : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'text/plain' }).end(body ?? 'not found');
  });
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => https.close(() => resolve())));
  const base: DnsDoctorOptions = {
    dnsServers: [dns.server], timeoutMs: 1000, selectors: [], progress: silent,
    mtaSts: { httpsPort: (https.address() as AddressInfo).port, ca: [pki.ca] },
  };

  await t.test('a good domain passes every check, including the relay include and the MTA-STS policy', async () => {
    const r = await doctorDns('good.test', { ...base, selectors: ['sel'], route: { label: 'given with --ip', ips: ['127.0.0.10', '127.0.1.5'] } });
    assert.equal(r.ok, true, JSON.stringify(all(r), null, 1));
    assert.deepEqual(all(r).filter((c) => c.status === 'warn'), []);
    assert.equal(find(r, 'spf.lookups', 'ok').summary, '1 of at most 10 DNS lookups');
    assert.deepEqual(all(r).filter((c) => c.id === 'spf.route').map((c) => c.summary), ['SPF pass for 127.0.0.10 (given with --ip)', 'SPF pass for 127.0.1.5 (given with --ip)']);
    assert.equal(find(r, 'dkim.key', 'ok').summary, 'sel._domainkey.good.test: RSA 2048 bits');
    assert.match(find(r, 'dmarc.policy', 'ok').summary, /p=reject/);
    assert.match(find(r, 'dmarc.alignment', 'ok').summary, /DKIM can align: d=good\.test with selector sel; SPF passes too/);
    assert.equal(find(r, 'mta-sts.policy', 'ok').summary, 'policy: mode enforce, mx mx.good.test, max_age 86400');
  });

  await t.test('an address outside SPF fails the route check with the term to add', async () => {
    const r = await doctorDns('good.test', { ...base, selectors: ['sel'], route: { label: 'MX delivery from mail.good.test', ips: ['127.0.2.1'] } });
    const c = find(r, 'spf.route', 'fail');
    assert.equal(c.summary, 'SPF fail for 127.0.2.1 (MX delivery from mail.good.test)');
    assert.match(c.hint!, /add "ip4:127\.0\.2\.1"/);
  });

  await t.test('the route comes from the configuration: MX delivery from SMARTHOST_HOSTNAME, or the relay domain', async () => {
    const mx = await sendingRoute(loadConfig({ SMARTHOST_HOSTNAME: 'mail.good.test' }), [], [dns.server], 1000);
    assert.deepEqual(mx.route, { label: 'MX delivery from mail.good.test', ips: ['127.0.0.10'] });
    const relay = await sendingRoute(loadConfig({ SMARTHOST_HOSTNAME: 'x.test', SMARTHOST_RELAY_URL: 'smtp://u:p@smtp.provider.test:587' }), [], [dns.server], 1000);
    const r = await doctorDns('good.test', { ...base, selectors: ['sel'], route: relay.route });
    assert.equal(find(r, 'spf.route', 'ok').summary, "SPF includes provider.test, the relay's domain");
    const unknown = await sendingRoute(loadConfig({ SMARTHOST_HOSTNAME: 'nowhere.test' }), [], [dns.server], 1000);
    assert.match(unknown.problem!.summary, /nowhere\.test has no public address/);
  });

  await t.test('SMARTHOST_ROUTE with providers: each provider route needs the include it documents, at the name it documents', async () => {
    const config = loadConfig({ SMARTHOST_HOSTNAME: 'x.test', SMARTHOST_ROUTE: 'sendgrid,resend', SMARTHOST_SENDGRID_API_KEY: 'SG.k', SMARTHOST_RESEND_API_KEY: 're_k' });
    const { route, problem } = await sendingRoute(config, [], [dns.server], 1000, 'prov.test');
    assert.equal(problem, undefined);
    assert.equal(route!.label, 'sendgrid, resend');
    assert.deepEqual(route!.ips, [], 'no MX route: this host\'s addresses do not send');
    const r = await doctorDns('prov.test', { ...base, route });
    const spf = all(r).filter((c) => c.id === 'spf.route').map((c) => [c.status, c.summary, c.hint]);
    assert.deepEqual(spf, [
      ['ok', 'SPF at prov.test includes sendgrid.net, for the sendgrid route', undefined],
      ['warn', 'SPF at send.prov.test has no include:amazonses.com, needed by the resend route (resend sends with the return path send.prov.test)',
        'add "include:amazonses.com" to the SPF record at send.prov.test, as resend documents'],
    ]);
  });

  await t.test('a broken domain through the CLI: each mistake explained, exit 1', async () => {
    const cli = await smarthostCli(['doctor', 'dns', 'broken.test', '--dns', dns.server, '--selector', 'sel', '--selector', 'weak', '--ip', '127.0.0.10', '--json', '--timeout', '1']);
    assert.equal(cli.code, 1, cli.stderr);
    const r = JSON.parse(cli.stdout) as Report;
    assert.equal(find(r, 'mx', 'fail').summary, 'MX 10 gone.broken.test has no address');
    assert.match(find(r, 'spf.record', 'fail').summary, /bad ip4 network "ip4:300\.1\.1\.1"; unknown term "foo:bar"/);
    assert.match(find(r, 'spf.all', 'fail').summary, /\+all/);
    assert.match(find(r, 'dkim.key', 'fail').summary, /sel\._domainkey\.broken\.test: p= is empty: the key is revoked/);
    assert.match(all(r).filter((c) => c.id === 'dkim.key')[1]!.summary, /RSA key of 512 bits/);
    assert.match(find(r, 'dmarc.record', 'fail').summary, /p=maybe is not none, quarantine or reject/);
    assert.match(find(r, 'dmarc.alignment', 'fail').summary, /neither DKIM nor SPF aligns/);
    assert.match(find(r, 'mta-sts.record', 'fail').summary, /id= is missing/);
  });

  await t.test('null MX, two SPF records, more than 10 lookups, no DMARC, implicit MX', async () => {
    const nullMx = await doctorDns('nullmx.test', base);
    assert.match(find(nullMx, 'mx', 'fail').summary, /publishes a null MX/);
    assert.match(find(nullMx, 'mx', 'fail').hint!, /5\.7\.27/);
    assert.match(find(nullMx, 'spf.record', 'fail').summary, /2 v=spf1 records/);
    assert.match(find(nullMx, 'dmarc.record', 'warn').summary, /no DMARC record/);
    assert.match(find(nullMx, 'dkim.missing', 'warn').summary, /no DKIM key for selector\(s\) smarthost, default/);

    const many = await doctorDns('toomany.test', { ...base, route: { label: 'given with --ip', ips: ['10.0.0.10'] } });
    assert.equal(find(many, 'spf.lookups', 'fail').summary, '11 of at most 10 DNS lookups');
    assert.equal(find(many, 'spf.route', 'fail').summary, 'SPF permerror for 10.0.0.10 (given with --ip)');
    assert.match(find(many, 'mx', 'warn').summary, /implicit MX/);
  });

  await t.test('an MTA-STS policy in enforce mode that does not cover the MX fails', async () => {
    const r = await doctorDns('sts.test', base);
    assert.equal(find(r, 'mta-sts.mx', 'fail').summary, "MX mx2.sts.test is not covered by the policy's mx patterns");
  });
});

test('doctor dns checks the selectors smarthost signs the domain with, without --selector', async (t) => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const env = { SMARTHOST_DATA_DIR: mkdtempSync(join(tmpdir(), 'smarthost-doctor-dkim-')) };
  const added = await smarthostCli(['domains', 'add', 'signed.test'], env);
  assert.equal(added.code, 0, added.stderr);
  const selector = /(sh\d{6})\._domainkey\.signed\.test/.exec(added.stdout)?.[1];
  assert.ok(selector, added.stdout);
  const dns = await startDnsServer({ 'signed.test': { mx: [{ exchange: 'mx.signed.test', priority: 10 }] }, 'mx.signed.test': { a: ['127.0.0.10'] } }, t);
  const r = await smarthostCli(['doctor', 'dns', 'signed.test', '--dns', dns.server, '--json'], env);
  assert.equal(r.code, 1, 'an unpublished signing key is a failure');
  const checks = (JSON.parse(r.stdout) as Report).sections.flatMap((s) => s.checks);
  const dkim = checks.find((c) => c.id.startsWith('dkim') && c.status === 'fail' && c.summary.includes(selector));
  assert.ok(dkim, JSON.stringify(checks.filter((c) => c.id.includes('dkim'))));
});
