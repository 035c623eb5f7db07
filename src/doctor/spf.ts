// SPF for a sending domain (RFC 7208): fetch and parse the record, count the
// DNS lookups it costs across includes (limit 10, §4.6.4), and evaluate
// check_host() for the addresses smarthost's route sends from.
import type { Resolver } from 'node:dns/promises';
import { BlockList, isIPv4 } from 'node:net';
import type { SpfRequirement } from '../domains/spf-routes.ts';
import { check, type Check } from './report.ts';
import { expandMacros, hasMacros, isSpf, LOOKUP_MECHANISMS, parseSpf, type Mechanism, type SpfRecord } from './spf-record.ts';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';

const MAX_LOOKUPS = 10;
const MAX_VOID_LOOKUPS = 2;
const ABSENT = new Set(['ENOTFOUND', 'ENODATA']);
const errCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'ERROR';

type Fetched = { kind: 'record'; text: string; parsed: SpfRecord } | { kind: 'none' | 'multiple' | 'temperror'; detail: string };

/** Looks up SPF records once per run: the analysis and every evaluation share the answers. */
export class SpfLookup {
  private readonly cache = new Map<string, Promise<Fetched>>();
  constructor(readonly resolver: Resolver) {}

  fetch(domain: string): Promise<Fetched> {
    const key = domain.toLowerCase().replace(/\.$/, '');
    let hit = this.cache.get(key);
    if (!hit) this.cache.set(key, (hit = this.load(key)));
    return hit;
  }

  private async load(domain: string): Promise<Fetched> {
    let txt: string[];
    try {
      // RFC 7208 §3.3: the strings of one TXT record are concatenated without spaces.
      txt = (await this.resolver.resolveTxt(domain)).map((chunks) => chunks.join(''));
    } catch (err) {
      return ABSENT.has(errCode(err)) ? { kind: 'none', detail: errCode(err) } : { kind: 'temperror', detail: errCode(err) };
    }
    const spf = txt.filter(isSpf);
    if (spf.length === 0) return { kind: 'none', detail: 'no v=spf1 record' };
    // §4.5: more than one record is a permerror.
    if (spf.length > 1) return { kind: 'multiple', detail: `${spf.length} v=spf1 records` };
    return { kind: 'record', text: spf[0]!, parsed: parseSpf(spf[0]!) };
  }
}

export interface SpfAnalysis {
  /** DNS-querying terms evaluated for an address that matches nothing before "all" (the worst case). */
  lookups: number;
  voidLookups: number;
  /** Problems anywhere in the include tree, each a permerror for receivers. */
  errors: string[];
  /** Every domain reached through include: or redirect=. */
  includes: string[];
  usesPtr: boolean;
}

/** Walks the include/redirect tree the way an evaluation that matches nothing would. */
export async function analyseSpf(domain: string, lookup: SpfLookup): Promise<SpfAnalysis> {
  const out: SpfAnalysis = { lookups: 0, voidLookups: 0, errors: [], includes: [], usesPtr: false };
  const walk = async (name: string, path: string[]): Promise<void> => {
    if (path.includes(name)) return void out.errors.push(`include loop: ${[...path, name].join(' → ')}`);
    const f = await lookup.fetch(name);
    if (f.kind !== 'record') {
      if (f.kind === 'none' && ABSENT.has(f.detail)) out.voidLookups++;
      if (path.length) out.errors.push(`${name} (included from ${path[path.length - 1]}) has ${f.kind === 'none' ? 'no SPF record' : f.detail}`);
      return;
    }
    out.errors.push(...f.parsed.errors.map((e) => (path.length ? `${name}: ${e}` : e)));
    const all = f.parsed.mechanisms.findIndex((m) => m.name === 'all');
    // Terms after "all" are never evaluated, and redirect= is ignored when "all" is present (§6.1).
    for (const m of all >= 0 ? f.parsed.mechanisms.slice(0, all + 1) : f.parsed.mechanisms) {
      if (!LOOKUP_MECHANISMS.has(m.name)) continue;
      out.lookups++;
      if (m.name === 'ptr') out.usesPtr = true;
      if (m.name === 'mx') await countMx(m.value ?? name);
      if (m.name === 'include' && m.value && !hasMacros(m.value)) {
        out.includes.push(m.value);
        await walk(m.value, [...path, name]);
      }
    }
    if (all < 0 && f.parsed.redirect && !hasMacros(f.parsed.redirect)) {
      out.lookups++;
      out.includes.push(f.parsed.redirect);
      await walk(f.parsed.redirect, [...path, name]);
    }
  };
  const countMx = async (name: string) => {
    if (hasMacros(name)) return;
    try {
      const n = (await lookup.resolver.resolveMx(name)).length;
      if (n > MAX_LOOKUPS) out.errors.push(`mx:${name} has ${n} MX records; more than 10 is a permerror (§4.6.4)`);
    } catch (err) {
      if (ABSENT.has(errCode(err))) out.voidLookups++;
    }
  };
  await walk(domain.toLowerCase(), []);
  return out;
}

interface EvalState {
  ip: string;
  sender: string;
  lookups: number;
  voids: number;
}

class SpfAbort extends Error {
  constructor(readonly result: 'permerror' | 'temperror', message: string) {
    super(message);
  }
}

function inNetwork(ip: string, base: string, prefix: number | undefined): boolean {
  const family = isIPv4(ip) ? 'ipv4' : 'ipv6';
  if ((isIPv4(base) ? 'ipv4' : 'ipv6') !== family) return false;
  const list = new BlockList();
  list.addSubnet(base, prefix ?? (family === 'ipv4' ? 32 : 128), family);
  return list.check(ip, family);
}

async function addresses(state: EvalState, lookup: SpfLookup, name: string): Promise<string[]> {
  try {
    return isIPv4(state.ip) ? await lookup.resolver.resolve4(name) : await lookup.resolver.resolve6(name);
  } catch (err) {
    if (!ABSENT.has(errCode(err))) throw new SpfAbort('temperror', `${name}: ${errCode(err)}`);
    // §4.6.4: more than two lookups that find nothing is a permerror.
    if (++state.voids > MAX_VOID_LOOKUPS) throw new SpfAbort('permerror', 'more than 2 void lookups');
    return [];
  }
}

async function matches(m: Mechanism, domain: string, state: EvalState, lookup: SpfLookup): Promise<boolean> {
  const target = m.value ? expandMacros(m.value, { ip: state.ip, sender: state.sender, domain }) : domain;
  const prefix = isIPv4(state.ip) ? m.cidr4 : m.cidr6;
  switch (m.name) {
    case 'all': return true;
    case 'ip4': case 'ip6': return inNetwork(state.ip, m.value!, m.name === 'ip4' ? m.cidr4 : m.cidr6);
    case 'a': return (await addresses(state, lookup, target)).some((a) => inNetwork(state.ip, a, prefix));
    case 'exists': return (await lookup.resolver.resolve4(target).catch(() => [])).length > 0;
    case 'mx': {
      const mxs = await lookup.resolver.resolveMx(target).catch((err: unknown) => {
        if (ABSENT.has(errCode(err))) return [];
        throw new SpfAbort('temperror', `mx ${target}: ${errCode(err)}`);
      });
      if (mxs.length > MAX_LOOKUPS) throw new SpfAbort('permerror', `mx:${target} has more than 10 MX records`);
      for (const mx of mxs) if ((await addresses(state, lookup, mx.exchange)).some((a) => inNetwork(state.ip, a, prefix))) return true;
      return false;
    }
    case 'ptr': { // §5.5: names from the PTR record that resolve back to the IP and end in the target
      const names = await lookup.resolver.reverse(state.ip).catch(() => [] as string[]);
      for (const name of names.slice(0, MAX_LOOKUPS)) {
        const within = name.toLowerCase() === target.toLowerCase() || name.toLowerCase().endsWith(`.${target.toLowerCase()}`);
        if (within && (await addresses(state, lookup, name)).includes(state.ip)) return true;
      }
      return false;
    }
    case 'include': {
      const r = await evaluate(target, state, lookup);
      if (r === 'pass') return true;
      if (r === 'temperror') throw new SpfAbort('temperror', `include:${target}`);
      // §5.2: an include that finds no record, or a broken one, is a permerror.
      if (r === 'none' || r === 'permerror') throw new SpfAbort('permerror', `include:${target} gave ${r}`);
      return false;
    }
  }
}

const RESULT: Record<string, SpfResult> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };

async function evaluate(domain: string, state: EvalState, lookup: SpfLookup): Promise<SpfResult> {
  const f = await lookup.fetch(domain);
  // §4.5: no record → none; several → permerror; a failed lookup → temperror.
  if (f.kind !== 'record') return f.kind === 'none' ? 'none' : f.kind === 'multiple' ? 'permerror' : 'temperror';
  if (f.parsed.errors.length) return 'permerror';
  for (const m of f.parsed.mechanisms) {
    if (LOOKUP_MECHANISMS.has(m.name) && ++state.lookups > MAX_LOOKUPS) throw new SpfAbort('permerror', 'more than 10 DNS lookups');
    if (await matches(m, domain, state, lookup)) return RESULT[m.qualifier]!;
  }
  if (f.parsed.redirect) {
    if (++state.lookups > MAX_LOOKUPS) throw new SpfAbort('permerror', 'more than 10 DNS lookups');
    const r = await evaluate(expandMacros(f.parsed.redirect, { ip: state.ip, sender: state.sender, domain }), state, lookup);
    return r === 'none' ? 'permerror' : r; // §6.1
  }
  return 'neutral';
}

/** RFC 7208 §4: check_host(ip, domain, sender) → result. */
export async function checkHost(ip: string, domain: string, lookup: SpfLookup, sender = `postmaster@${domain}`): Promise<SpfResult> {
  try {
    return await evaluate(domain, { ip, sender, lookups: 0, voids: 0 }, lookup);
  } catch (err) {
    if (err instanceof SpfAbort) return err.result;
    throw err;
  }
}

/** Where smarthost's mail leaves from: addresses to authorise, and the relay host when there is one. */
export interface SendingRoute {
  label: string;
  ips: string[];
  relayHost?: string;
  /** Provider routes: the include each provider documents, and the name whose SPF record must hold it. */
  providers?: SpfRequirement[];
}

/** The registrable-looking tail of a host name (no public suffix list: the last two labels). */
const baseDomain = (host: string) => host.toLowerCase().split('.').slice(-2).join('.');

function routeHint(result: SpfResult, ip: string): string {
  if (result === 'permerror') return 'the record is broken (see above), which authorises nobody: fix it first';
  if (result === 'temperror') return 'a DNS lookup failed during the evaluation; retry, then check the zones involved';
  if (result === 'none') return 'publish an SPF record';
  return `authorise it: add "${isIPv4(ip) ? 'ip4' : 'ip6'}:${ip}" (or your provider's include:) before the "all"`;
}

export async function spfChecks(domain: string, lookup: SpfLookup, route?: SendingRoute): Promise<Check[]> {
  const f = await lookup.fetch(domain);
  if (f.kind === 'none') {
    return [check('spf.record', 'fail', `no SPF record at ${domain}`, {
      category: 'dmarc', hint: 'publish a TXT record like "v=spf1 mx include:<your relay provider> -all"; Gmail and Yahoo require SPF or DKIM',
    })];
  }
  if (f.kind !== 'record') {
    return [check('spf.record', 'fail', `SPF at ${domain}: ${f.detail}`, {
      category: f.kind === 'multiple' ? 'dmarc' : 'dns',
      hint: f.kind === 'multiple' ? 'merge them into one: more than one v=spf1 record is a permerror (RFC 7208 §4.5)' : 'the DNS lookup failed; retry, then check the zone',
    })];
  }
  const checks: Check[] = [];
  const a = await analyseSpf(domain, lookup);
  checks.push(check('spf.record', a.errors.length ? 'fail' : 'ok', a.errors.length ? `SPF record is broken: ${a.errors.join('; ')}` : `SPF: ${f.text}`, {
    ...(a.errors.length ? { category: 'dmarc' as const, hint: 'receivers treat a broken record as permerror (RFC 7208 §4.6): fix the terms named' } : {}),
    data: { record: f.text, includes: a.includes },
  }));
  const over = a.lookups > MAX_LOOKUPS;
  checks.push(check('spf.lookups', over ? 'fail' : 'ok', `${a.lookups} of at most 10 DNS lookups${a.voidLookups ? `, ${a.voidLookups} void` : ''}`, {
    ...(over ? { category: 'dmarc' as const, hint: 'more than 10 is a permerror (RFC 7208 §4.6.4): remove unused includes or replace some with ip4:/ip6:' } : {}),
  }));
  if (a.voidLookups > MAX_VOID_LOOKUPS) {
    checks.push(check('spf.void', 'fail', `${a.voidLookups} lookups find nothing; more than 2 is a permerror (RFC 7208 §4.6.4)`, { category: 'dmarc', hint: 'remove terms that name missing domains' }));
  }
  if (a.usesPtr) checks.push(check('spf.ptr', 'warn', 'uses "ptr", which RFC 7208 §5.5 says not to use', { hint: 'slow and unreliable; list the addresses with ip4:/ip6: instead' }));

  const all = f.parsed.mechanisms.find((m) => m.name === 'all');
  if (all?.qualifier === '+') checks.push(check('spf.all', 'fail', '"+all" authorises every host on the Internet to send as this domain', { category: 'dmarc', hint: 'end with "-all" or "~all"' }));
  else if (!all && !f.parsed.redirect) checks.push(check('spf.all', 'warn', 'no "all" at the end: unlisted hosts get neutral', { hint: 'end the record with "~all" or "-all"' }));
  else if (all?.qualifier === '?') checks.push(check('spf.all', 'warn', '"?all": unlisted hosts get neutral, which protects nothing', { hint: 'use "~all" or "-all"' }));

  if (!route) return checks;
  for (const ip of route.ips) {
    const result = await checkHost(ip, domain, lookup);
    checks.push(check('spf.route', result === 'pass' ? 'ok' : 'fail', `SPF ${result} for ${ip} (${route.label})`, {
      data: { ip, result },
      ...(result === 'pass' ? {} : { category: 'dmarc' as const, hint: routeHint(result, ip) }),
    }));
  }
  if (route.relayHost && !route.ips.length) {
    const base = baseDomain(route.relayHost);
    const included = a.includes.some((d) => baseDomain(d) === base);
    checks.push(check('spf.route', included ? 'ok' : 'warn', included ? `SPF includes ${base}, the relay's domain` : `SPF has no include under ${base}, the relay's domain`, {
      ...(included ? {} : { category: 'dmarc' as const, hint: `add the include your relay provider documents (often include:${base} or include:_spf.${base})` }),
    }));
  }
  for (const p of route.providers ?? []) {
    const target = p.mechanism.replace(/^include:/, '');
    const at = p.at === domain ? a : await analyseSpf(p.at, lookup);
    const included = at.includes.some((d) => d.toLowerCase() === target);
    checks.push(check('spf.route', included ? 'ok' : 'warn', included ? `SPF at ${p.at} includes ${target}, for ${p.why}` : `SPF at ${p.at} has no ${p.mechanism}, needed by ${p.why}`, {
      ...(included ? {} : { category: 'dmarc' as const, hint: `add "${p.mechanism}" to the SPF record at ${p.at}, as ${p.route} documents` }),
    }));
  }
  return checks;
}
