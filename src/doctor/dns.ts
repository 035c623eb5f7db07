// `smarthost doctor dns <domain>`: the records a sending domain needs — MX
// (where bounces go), SPF, DKIM, DMARC — and MTA-STS, each with a hint.
import type { Resolver } from 'node:dns/promises';
import { ConfigError } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { configuredRoutes, spfMechanismsForRoutes, type SendingRoute as ConfiguredRoute } from '../domains/spf-routes.ts';
import { createResolver } from '../delivery/transports/mx/resolve.ts';
import { COMMON_SELECTORS, dkimChecks } from './dkim.ts';
import { dmarcChecks } from './dmarc.ts';
import { mtaStsChecks } from './mta-sts.ts';
import { check, makeReport, type Check, type Progress, type Report } from './report.ts';
import { checkHost, SpfLookup, spfChecks, type SendingRoute } from './spf.ts';

export interface DnsDoctorOptions {
  dnsServers: readonly string[];
  timeoutMs: number;
  /** DKIM selectors to look up; COMMON_SELECTORS when empty. */
  selectors: readonly string[];
  route?: SendingRoute;
  /** Why the route is unknown, when it is. */
  routeProblem?: Check;
  mtaSts?: { httpsPort?: number; ca?: (string | Buffer)[] };
  progress: Progress;
}

const code = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);
const ABSENT = new Set(['ENOTFOUND', 'ENODATA']);

async function addresses(name: string, resolver: Resolver): Promise<string[]> {
  const found = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  return found.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
}

/** MX of a sending domain: where replies and bounces go, and what receivers check (RFC 7505 §4.2). */
async function mxChecks(domain: string, resolver: Resolver): Promise<{ checks: Check[]; hosts: string[] }> {
  let records: { exchange: string; priority: number }[];
  try {
    records = await resolver.resolveMx(domain);
  } catch (err) {
    if (code(err) === 'ENOTFOUND') return { hosts: [], checks: [check('mx', 'fail', `${domain} does not exist (NXDOMAIN)`, { category: 'dns', hint: 'check the spelling, or create the zone' })] };
    if (!ABSENT.has(code(err))) return { hosts: [], checks: [check('mx', 'fail', `MX lookup failed (${code(err)})`, { category: 'dns', hint: 'retry; check the resolver and the zone' })] };
    records = [];
  }
  // RFC 7505 §3: a single MX of "." (Node gives '') means "accepts no mail".
  if (records.length === 1 && (records[0]!.exchange === '' || records[0]!.exchange === '.')) {
    return { hosts: [], checks: [check('mx', 'fail', `${domain} publishes a null MX: it accepts no mail`, {
      category: 'dns', hint: 'receivers may refuse mail from a null-MX domain (550 5.7.27, RFC 7505 §4.2) and bounces cannot come back; publish a real MX if it sends mail',
    })] };
  }
  if (!records.length) {
    const own = await addresses(domain, resolver);
    return own.length
      ? { hosts: [domain], checks: [check('mx', 'warn', `no MX record; mail for ${domain} goes to its A/AAAA record (${own.join(', ')}), the implicit MX of RFC 5321 §5.1`, { category: 'dns', hint: 'publish an MX record naming the host that receives mail' })] }
      : { hosts: [], checks: [check('mx', 'fail', `no MX and no A/AAAA record: ${domain} cannot receive replies or bounces`, { category: 'dns', hint: 'publish an MX record' })] };
  }
  const checks: Check[] = [];
  const sorted = [...records].sort((a, b) => a.priority - b.priority);
  for (const mx of sorted) {
    const found = await addresses(mx.exchange, resolver);
    checks.push(found.length
      ? check('mx', 'ok', `MX ${mx.priority} ${mx.exchange} (${found.join(', ')})`)
      : check('mx', 'fail', `MX ${mx.priority} ${mx.exchange} has no address`, { category: 'dns', hint: 'add an A/AAAA record for it, or remove the MX (RFC 2181 §10.3: an MX names a host, not a CNAME or an address)' }));
  }
  return { checks, hosts: sorted.map((m) => m.exchange) };
}

/**
 * Which addresses smarthost's mail from `domain` leaves from, by the routes it may take (SMARTHOST_ROUTE,
 * routes rules, auto's candidates — the table `serve` builds): --ip when given; for `mx`, this host's
 * SMARTHOST_HOSTNAME addresses; for `relay`, the relay's domain (its own outbound IPs are the operator's);
 * for a provider, the include its documentation asks for (domains/spf-routes.ts).
 */
export async function sendingRoute(
  config: Config | undefined, ips: readonly string[], dnsServers: readonly string[], timeoutMs: number, domain = '',
): Promise<{ route?: SendingRoute; problem?: Check }> {
  if (ips.length) return { route: { label: 'given with --ip', ips: [...ips] } };
  if (!config) return { problem: check('spf.route', 'warn', 'the configuration does not load, so the sending route is unknown', { hint: 'pass --ip <address smarthost sends from>' }) };
  let routes: ConfiguredRoute[];
  try {
    routes = configuredRoutes(config, domain.toLowerCase());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { problem: check('spf.route', 'warn', `the routes are misconfigured, so the sending route is unknown: ${err.problems.join('; ')}`, { hint: 'fix the routes (smarthost routes), or pass --ip' }) };
  }
  const relay = routes.find((r) => r.kind === 'relay');
  const providers = spfMechanismsForRoutes(routes.filter((r) => r.kind === 'provider'), config, domain.toLowerCase());
  const labels = [...(relay ? [`relay ${relay.host}`] : []), ...providers.map((p) => p.route)];
  const route = (ips_: string[], mx: boolean): SendingRoute => ({
    label: [...(mx ? [`MX delivery from ${config.hostname}`] : []), ...labels].join(', '), ips: ips_,
    ...(relay && { relayHost: relay.host }), ...(providers.length && { providers }),
  });
  if (!routes.some((r) => r.kind === 'mx')) return { route: route([], false) };
  const resolver = createResolver(dnsServers, timeoutMs);
  const own = await addresses(config.hostname, resolver).catch(() => []);
  if (own.length) return { route: route(own, true) };
  const problem = check('spf.route', 'warn', `SMARTHOST_HOSTNAME ${config.hostname} has no public address in DNS, so the sending address is unknown`, {
    hint: 'pass --ip <address smarthost sends from>; receivers also expect the EHLO name to resolve',
  });
  return labels.length ? { route: route([], false), problem } : { problem };
}

export async function doctorDns(domain: string, opts: DnsDoctorOptions): Promise<Report> {
  const resolver = createResolver(opts.dnsServers, opts.timeoutMs);
  const name = domain.toLowerCase().replace(/\.$/, '');
  opts.progress(`looking up MX, SPF, DKIM, DMARC and MTA-STS records of ${name}…`);

  const mx = await mxChecks(name, resolver);
  const spfLookup = new SpfLookup(resolver);
  const spf = await spfChecks(name, spfLookup, opts.route);
  if (opts.routeProblem) spf.push(opts.routeProblem);
  const explicit = opts.selectors.length > 0;
  const dkim = await dkimChecks(name, explicit ? opts.selectors : COMMON_SELECTORS, explicit, resolver);

  let spfPass: boolean | undefined;
  if (opts.route?.ips.length) {
    const results = await Promise.all(opts.route.ips.map((ip) => checkHost(ip, name, spfLookup)));
    spfPass = results.every((r) => r === 'pass');
  }
  const dmarc = await dmarcChecks(name, resolver, { spfPass, dkimSelectors: dkim.keys.filter((k) => k.usable).map((k) => k.selector) });
  const sts = await mtaStsChecks(name, mx.hosts, { resolver, timeoutMs: opts.timeoutMs, ...opts.mtaSts });

  return makeReport('doctor dns', name, [
    { title: 'MX', checks: mx.checks },
    { title: 'SPF', checks: spf },
    { title: 'DKIM', checks: dkim.checks },
    { title: 'DMARC', checks: dmarc },
    { title: 'MTA-STS', checks: sts },
  ]);
}
