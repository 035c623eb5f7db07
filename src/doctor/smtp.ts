// `smarthost doctor smtp <host>`: resolve the host, probe each port, and end
// with a verdict per port and the settings to give the application.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { createResolver } from '../delivery/transports/mx/resolve.ts';
import type { Credentials } from './auth.ts';
import type { Envelope } from './envelope.ts';
import { explainError } from './explain.ts';
import { probePort, type PortProbe, type PortSpec } from './ports.ts';
import { check, makeReport, type Progress, type Report, type Section } from './report.ts';

export interface SmtpDoctorOptions {
  ports: PortSpec[];
  timeoutMs: number;
  credentials?: Credentials;
  envelope?: Envelope;
  /** Our EHLO name; default the OS host name. */
  ehloName?: string;
  /** Resolvers (`ip[:port]`); default the system's getaddrinfo, as applications use. */
  dnsServers?: string[];
  ca?: Buffer[];
  progress: Progress;
}

/** Addresses of `host`, IPv4 first (most applications and clouds still prefer it). */
export async function resolveHost(host: string, dnsServers: readonly string[] | undefined, timeoutMs: number): Promise<string[]> {
  if (isIP(host)) return [host];
  if (!dnsServers?.length) return (await lookup(host, { all: true, order: 'ipv4first' })).map((a) => a.address);
  const resolver = createResolver(dnsServers, timeoutMs);
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
  const found = [v4, v6].flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
  if (found.length) return found;
  throw v4.status === 'rejected' ? v4.reason : new Error(`queryA ENOTFOUND ${host}`);
}

// Applications should submit on 587 (RFC 6409) or 465 (RFC 8314); 25 is for MX-to-MX.
const PREFERENCE = [587, 465, 2525];
const rank = (p: PortProbe) => (p.tls === 'none' ? 100 : 0) + (p.spec.port === 25 ? 50 : PREFERENCE.includes(p.spec.port) ? PREFERENCE.indexOf(p.spec.port) : 10);

function recommend(host: string, probes: PortProbe[], creds?: Credentials): { text: string; settings?: Record<string, unknown> } {
  const notes = probes
    .filter((p) => p.failure === 'timeout' || p.failure === 'refused')
    .map((p) => p.failure === 'timeout'
      ? `port ${p.spec.port} is filtered from here${p.spec.port === 25 ? ', as on most clouds' : ''}`
      : `port ${p.spec.port} refuses connections`);
  const best = probes.filter((p) => p.usable).sort((a, b) => rank(a) - rank(b))[0];
  if (!best) return { text: ['no port works from here', ...notes].join('; ') };
  const tls = best.tls === 'implicit' ? 'implicit TLS (SSL/TLS, secure=true)' : best.tls === 'starttls' ? 'STARTTLS (secure=false)' : 'no TLS';
  const auth = best.authMethod ?? (best.mechanisms.includes('PLAIN') ? 'PLAIN' : best.mechanisms[0]);
  const login = auth ? ` and AUTH ${auth}${creds ? ` as ${creds.user}` : ''}` : '';
  return {
    text: [`use ${host} port ${best.spec.port} with ${tls}${login}`, ...notes].join('; '),
    settings: { host, port: best.spec.port, tls: best.tls, ...(auth ? { auth } : {}), ...(creds ? { user: creds.user } : {}) },
  };
}

export async function doctorSmtp(host: string, opts: SmtpDoctorOptions): Promise<Report> {
  const dns: Section = { title: 'DNS', checks: [] };
  opts.progress(`resolving ${host}…`);
  let addresses: string[];
  try {
    addresses = await resolveHost(host, opts.dnsServers, opts.timeoutMs);
    dns.checks.push(check('dns', isIP(host) ? 'info' : 'ok', isIP(host) ? `${host} is an address` : `${host} resolves to ${addresses.join(', ')}${addresses.length > 1 ? `; probing ${addresses[0]}` : ''}`, { data: { addresses } }));
  } catch (err) {
    const why = explainError(err);
    dns.checks.push(check('dns', 'fail', `${host} does not resolve: ${(err as Error).message}`, { category: why.category, hint: `${why.meaning}; ${why.remedy}` }));
    return makeReport('doctor smtp', host, [dns], 'fix the host name first: no port can be tried');
  }

  const probes: PortProbe[] = [];
  let refusedOn: number | undefined;
  for (const spec of opts.ports) {
    const probe = await probePort(spec, {
      host, address: addresses[0]!, timeoutMs: opts.timeoutMs, ehloName: opts.ehloName ?? osHostname(), ca: opts.ca,
      credentials: opts.credentials, envelope: opts.envelope, progress: opts.progress,
      ...(refusedOn !== undefined ? { skipAuthReason: `the credentials were refused on port ${refusedOn}; not retried, to avoid a lock-out` } : {}),
    });
    if (probe.authRejected) refusedOn ??= spec.port;
    probes.push(probe);
  }
  const { text, settings } = recommend(host, probes, opts.credentials);
  const report = makeReport('doctor smtp', host, [dns, ...probes.map((p) => p.section)], text);
  return settings ? { ...report, settings } : report;
}
