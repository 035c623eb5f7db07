// `smarthost doctor` with no argument: this smarthost itself — configuration,
// certificate, store, listeners, DNS resolver and each outbound route — checked
// with the same settings `serve` reads.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { defaultRoutes } from '../delivery/routing/route-table.ts';
import { createResolver } from '../delivery/transports/mx/resolve.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import { explainError } from './explain.ts';
import { probePort } from './ports.ts';
import { check, makeReport, type Check, type Progress, type Report, type Section } from './report.ts';
import { routeSections } from './route-checks.ts';

export interface SelfCheckOptions {
  timeoutMs: number;
  /** Domain whose MX tests outbound port 25 when delivering directly (no relay). */
  mxProbeDomain: string;
  progress: Progress;
}

const DAY_MS = 24 * 3600 * 1000;

function configChecks(config: Config): Check[] {
  const checks = [check('config', 'ok', `configuration valid: hostname ${config.hostname}, data in ${config.dataDir}, route ${defaultRoutes(config).join(', ')}`)];
  if (config.trustedNetworks.some((n) => /^(0\.0\.0\.0|::)\/0$/.test(n)))
    checks.push(check('config.trusted', 'fail', 'SMARTHOST_TRUSTED_NETWORKS contains the whole Internet: this is an open relay', { category: 'policy', hint: 'list only your own networks' }));
  if (config.allowInsecureAuth)
    checks.push(check('config.insecure-auth', 'warn', 'SMARTHOST_ALLOW_INSECURE_AUTH is on: passwords may cross the network in clear', { category: 'tls', hint: 'turn it off unless every client is on a trusted network' }));
  if (config.relayUrl && !config.relayTlsVerify)
    checks.push(check('config.relay-verify', 'warn', 'SMARTHOST_RELAY_TLS_VERIFY is off: the relay password goes to whoever answers', { category: 'tls', hint: 'only for a private relay you reach over a trusted network' }));
  // RFC 5321 §4.1.1.1: the EHLO name should be the fully qualified domain name.
  if (!config.hostname.includes('.'))
    checks.push(check('config.hostname', 'warn', `SMARTHOST_HOSTNAME "${config.hostname}" is not a fully qualified name`, { category: 'dns', hint: 'receivers distrust EHLO names like "localhost"; set it to a name that resolves to this host' }));
  return checks;
}

async function certificateChecks(config: Config): Promise<Check[]> {
  const own = !!config.tlsCert;
  const certPath = own ? config.tlsCert : join(config.dataDir, 'tls', 'selfsigned.crt');
  const keyPath = own ? config.tlsKey : join(config.dataDir, 'tls', 'selfsigned.key');
  if (!own && !existsSync(certPath)) return [check('cert', 'info', `no certificate yet: a self-signed one is made in ${certPath} at first start`)];
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(await readFile(certPath));
    if (!x509.checkPrivateKey(createPrivateKey(await readFile(keyPath)))) throw new Error(`the key ${keyPath} does not belong to the certificate`);
  } catch (err) {
    return [check('cert', 'fail', `certificate ${certPath}: ${(err as Error).message}`, { category: 'tls', hint: 'set SMARTHOST_TLS_CERT and SMARTHOST_TLS_KEY to a matching PEM pair' })];
  }
  const daysLeft = Math.floor((Date.parse(x509.validTo) - Date.now()) / DAY_MS);
  const checks: Check[] = [];
  if (daysLeft < 0) checks.push(check('cert.expiry', 'fail', `certificate ${certPath} expired on ${x509.validTo}`, { category: 'tls', hint: own ? 'renew it and restart' : 'restart smarthost: it makes a new one' }));
  else checks.push(check('cert.expiry', daysLeft < 14 ? 'warn' : 'ok', `certificate ${certPath} valid for ${daysLeft} more day(s)`, daysLeft < 14 ? { category: 'tls', hint: 'renew it now' } : {}));
  if (!x509.checkHost(config.hostname) && !x509.checkIP(config.hostname))
    checks.push(check('cert.name', 'fail', `the certificate does not name ${config.hostname}`, { category: 'tls', hint: 'clients that verify certificates refuse it; get one for SMARTHOST_HOSTNAME' }));
  if (!own) checks.push(check('cert.self-signed', 'warn', 'self-signed certificate: clients must not verify it', { category: 'tls', hint: 'set SMARTHOST_TLS_CERT/SMARTHOST_TLS_KEY to a CA-issued certificate (e.g. Let\'s Encrypt) for SMARTHOST_HOSTNAME' }));
  return checks;
}

async function storeChecks(config: Config): Promise<Check[]> {
  if (!existsSync(config.dataDir)) return [check('store', 'info', `${config.dataDir} does not exist yet: created at first start`)];
  const probe = join(config.dataDir, `.doctor-${process.pid}`);
  try {
    await writeFile(probe, 'ok');
    await rm(probe);
  } catch (err) {
    return [check('store', 'fail', `${config.dataDir} is not writable (${(err as NodeJS.ErrnoException).code ?? err})`, { hint: 'give the smarthost user write access to SMARTHOST_DATA_DIR' })];
  }
  const checks: Check[] = [];
  try {
    const store = openSqliteStore(config.dataDir);
    try {
      checks.push(check('store', 'ok', `SQLite store in ${config.dataDir} opens; ${await store.countPending()} recipient(s) pending`));
    } finally {
      await store.close();
    }
  } catch (err) {
    checks.push(check('store', 'fail', `the store does not open: ${(err as Error).message}`, { hint: 'check the file permissions and that the disk is not full' }));
  }
  const fs = await statfs(config.dataDir);
  const free = fs.bavail * fs.bsize;
  checks.push(free < config.minFreeDisk
    ? check('store.disk', 'fail', `${Math.round(free / 2 ** 20)} MiB free, below SMARTHOST_MIN_FREE_DISK: new mail gets 452 4.3.1`, { hint: 'free disk space' })
    : check('store.disk', 'ok', `${Math.round(free / 2 ** 20)} MiB free`));
  return checks;
}

async function resolverChecks(config: Config, timeoutMs: number): Promise<Check[]> {
  const resolver = createResolver(config.dnsServers, timeoutMs);
  const which = config.dnsServers.length ? config.dnsServers.join(', ') : 'the system resolver';
  try {
    const found = await resolver.resolve4(config.hostname);
    return [check('resolver', 'ok', `${which} answers; ${config.hostname} is ${found.join(', ')}`)];
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') {
      return [check('resolver', 'ok', `${which} answers`), check('resolver.hostname', 'warn', `${config.hostname} has no A record`, {
        category: 'dns', hint: 'receivers check that the EHLO name resolves (and matches the PTR of the sending IP)',
      })];
    }
    const why = explainError(err);
    return [check('resolver', 'fail', `${which} does not answer (${code})`, { category: 'dns', hint: `${why.meaning}; ${why.remedy}` })];
  }
}

export async function selfCheck(env: NodeJS.ProcessEnv, opts: SelfCheckOptions): Promise<Report> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return makeReport('doctor', undefined, [{ title: 'configuration', checks: err.problems.map((p) => check('config', 'fail', p, { hint: 'smarthost will not start until this is fixed' })) }]);
  }
  const sections: Section[] = [
    { title: 'configuration', checks: configChecks(config) },
    { title: 'certificate', checks: await certificateChecks(config) },
    { title: 'store', checks: await storeChecks(config) },
  ];
  // A wildcard listen address is reached on loopback from this host.
  const address = config.listen === '0.0.0.0' ? '127.0.0.1' : config.listen === '::' ? '::1' : config.listen;
  const listeners = [
    { name: 'submission', port: config.submissionPort, secure: false },
    { name: 'smtps', port: config.smtpsPort, secure: true },
    { name: 'alt', port: config.altPort, secure: false },
  ].filter((l) => l.port !== 0);
  for (const l of listeners) {
    const probe = await probePort({ port: l.port, mode: l.secure ? 'implicit' : 'starttls', explicitMode: true },
      { host: config.hostname, address, timeoutMs: opts.timeoutMs, ehloName: config.hostname, progress: opts.progress });
    const checks = probe.failure === 'refused'
      ? probe.section.checks.map((c) => ({ ...c, hint: `nothing listens on ${address}:${l.port}: is smarthost running (npm start)?` }))
      : probe.section.checks;
    sections.push({ title: `listener ${l.name} ${address}:${l.port} (${l.secure ? 'implicit TLS' : 'STARTTLS'})`, checks, verdict: probe.section.verdict });
  }
  opts.progress('checking the DNS resolver…');
  sections.push({ title: 'DNS resolver', checks: await resolverChecks(config, opts.timeoutMs) });
  sections.push(...await routeSections(config, opts));
  return makeReport('doctor', config.hostname, sections);
}
