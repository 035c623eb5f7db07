// The outbound part of `smarthost doctor`: the routing table `serve` builds
// (SMARTHOST_ROUTE, routes rules, auto) and a section per route in it — the
// same routes `smarthost routes` checks. MX and relay get the doctor's full
// SMTP probe (each step explained); a provider gets its harmless API call.
import { ConfigError } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { checkRoute } from '../delivery/routing/check-route.ts';
import { buildRouteTable, describeTable, type RouteTable } from '../delivery/routing/route-table.ts';
import { createResolver, resolveMx } from '../delivery/transports/mx/resolve.ts';
import type { Transport } from '../delivery/outcome.ts';
import { explainError } from './explain.ts';
import { probePort, relaxTls } from './ports.ts';
import { check, type Check, type Progress, type Section } from './report.ts';
import { resolveHost } from './smtp.ts';

export interface RouteCheckOptions {
  timeoutMs: number;
  /** Domain whose MX tests outbound port 25 on the mx route. */
  mxProbeDomain: string;
  progress: Progress;
}

export async function routeSections(config: Config, opts: RouteCheckOptions): Promise<Section[]> {
  let table: RouteTable;
  try {
    table = buildRouteTable(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return [{ title: 'routing', checks: err.problems.map((p) => check('routes', 'fail', p, { hint: 'smarthost will not start until this is fixed' })) }];
  }
  const routing: Section = { title: 'routing', checks: describeTable(table).map((line) => check('routes', 'info', line)) };
  const checked: { name: string; section: Section }[] = [];
  try {
    for (const [name, transport] of table.transports) {
      opts.progress(`checking the route ${name}…`);
      checked.push({ name, section: await routeSection(name, transport, table, config, opts) });
    }
  } finally {
    await Promise.all([...table.transports.values()].map((t) => t.close?.()));
  }
  // A route only `auto` may pick is allowed to fail (port 25 blocked is why auto exists), as long as one works.
  const listed = new Set([...table.default, ...table.rules.flatMap((r) => r.routes)]);
  const works = (s: Section) => s.checks.every((c) => c.status !== 'fail');
  if (checked.some((c) => table.autoCandidates?.includes(c.name) && works(c.section)))
    for (const c of checked) if (!listed.has(c.name) && !works(c.section)) c.section.checks = skippedByAuto(c.section.checks);
  return [routing, ...checked.map((c) => c.section)];
}

/** A failure on a route auto skips is a warning: mail leaves by another route. */
const skippedByAuto = (checks: Check[]): Check[] =>
  checks.map((c) => (c.status === 'fail' ? { ...c, status: 'warn', hint: `${c.hint ? `${c.hint}; ` : ''}SMARTHOST_ROUTE=auto skips this route while it fails` } : c));

function routeSection(name: string, transport: Transport, table: RouteTable, config: Config, opts: RouteCheckOptions): Promise<Section> {
  if (name === 'mx') return mxSection(config, opts);
  if (name === 'relay') return relaySection(config, opts);
  return apiSection(name, transport, table, config);
}

/** A provider (or any route with a check): its harmless call, one line. */
async function apiSection(name: string, transport: Transport, table: RouteTable, config: Config): Promise<Section> {
  const result = await checkRoute(transport, config.routeProbeTimeout);
  return {
    title: `route: ${name} (${table.describe(name)})`,
    checks: [result.ok
      ? check('route.check', 'ok', result.detail)
      : check('route.check', 'fail', result.detail, { hint: `check the ${name} settings (SMARTHOST_${name.toUpperCase()}_*) and that this host reaches its API` })],
  };
}

async function relaySection(config: Config, opts: RouteCheckOptions): Promise<Section> {
  const url = config.relayUrl!;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const secure = url.protocol === 'smtps:';
  const port = Number(url.port || (secure ? 465 : 587));
  const title = `route: relay ${host}:${port}`;
  let address: string;
  try {
    address = (await resolveHost(host, undefined, opts.timeoutMs))[0]!;
  } catch (err) {
    const why = explainError(err);
    return { title, checks: [check('dns', 'fail', `${host} does not resolve: ${(err as Error).message}`, { category: why.category, hint: why.remedy })] };
  }
  const credentials = url.username ? { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : undefined;
  const probe = await probePort({ port, mode: secure ? 'implicit' : 'starttls', explicitMode: true },
    { timeoutMs: opts.timeoutMs, ehloName: config.hostname, progress: opts.progress, host, address, credentials });
  let checks = config.relayTlsVerify ? probe.section.checks : relaxTls(probe.section.checks, 'SMARTHOST_RELAY_TLS_VERIFY is off');
  if (!probe.failure && probe.tls === 'none')
    checks = [...checks, check('starttls', 'fail', 'the relay offers no STARTTLS, which smarthost requires before AUTH', { category: 'tls', hint: 'use smtps:// on 465 or a relay with STARTTLS' })];
  return { title, checks, verdict: probe.section.verdict };
}

async function mxSection(config: Config, opts: RouteCheckOptions): Promise<Section> {
  const title = `route: MX delivery (port ${config.mxPort}), tried with ${opts.mxProbeDomain}`;
  const mx = await resolveMx(opts.mxProbeDomain, createResolver(config.dnsServers, opts.timeoutMs));
  if (mx.kind !== 'hosts') return { title, checks: [check('dns', 'fail', `no MX for ${opts.mxProbeDomain}: ${mx.reply.text}`, { category: 'dns' })] };
  const target = mx.hosts[0]!;
  const probe = await probePort({ port: config.mxPort, mode: 'starttls', explicitMode: true },
    { timeoutMs: opts.timeoutMs, ehloName: config.hostname, progress: opts.progress, host: target.name, address: target.addresses[0]! });
  // MX delivery is opportunistic TLS (RFC 7435): an unverifiable certificate does not stop it.
  return { title, checks: relaxTls(probe.section.checks, 'MX delivery does not verify certificates'), verdict: probe.section.verdict };
}
