// SPF record syntax (RFC 7208 §4.6, §5, §6, §12) and macro expansion (§7):
// pure functions, no DNS. spf.ts walks and evaluates the parsed terms.
import { isIPv4, isIPv6 } from 'node:net';

export type Qualifier = '+' | '-' | '~' | '?';
export const MECHANISMS = ['all', 'include', 'a', 'mx', 'ptr', 'ip4', 'ip6', 'exists'] as const;
export type MechanismName = (typeof MECHANISMS)[number];

export interface Mechanism {
  kind: 'mechanism';
  qualifier: Qualifier;
  name: MechanismName;
  /** domain-spec (include, a, mx, ptr, exists) or network (ip4, ip6). */
  value?: string;
  cidr4?: number;
  cidr6?: number;
  raw: string;
}

export interface Modifier {
  kind: 'modifier';
  name: string;
  value: string;
  raw: string;
}

export interface SpfRecord {
  mechanisms: Mechanism[];
  redirect?: string;
  /** Syntax errors: any of them makes the record a permerror (RFC 7208 §4.6). */
  errors: string[];
}

/** Mechanisms that cost a DNS lookup against the limit of 10 (RFC 7208 §4.6.4). */
export const LOOKUP_MECHANISMS: ReadonlySet<MechanismName> = new Set(['include', 'a', 'mx', 'ptr', 'exists']);

export const isSpf = (txt: string) => /^v=spf1(\s|$)/i.test(txt.trim());

const QUALIFIERS = new Set(['+', '-', '~', '?']);

function parseCidr(text: string | undefined, max: number): number | undefined | null {
  if (text === undefined) return undefined;
  // RFC 7208 §5.6: no leading zeros, at most 32 or 128.
  if (!/^(0|[1-9]\d{0,2})$/.test(text) || Number(text) > max) return null;
  return Number(text);
}

export function parseSpf(record: string): SpfRecord {
  const out: SpfRecord = { mechanisms: [], errors: [] };
  const terms = record.trim().split(/\s+/).slice(1); // drop v=spf1
  let exp = false;
  for (const raw of terms) {
    const mod = /^([a-z][a-z0-9._-]*)=(.*)$/i.exec(raw);
    if (mod) {
      const name = mod[1]!.toLowerCase();
      if (name === 'redirect' || name === 'exp') {
        // RFC 7208 §6: each may appear at most once.
        if ((name === 'redirect' && out.redirect !== undefined) || (name === 'exp' && exp)) out.errors.push(`${name}= appears twice`);
        if (!mod[2]) out.errors.push(`${name}= needs a domain`);
        if (name === 'redirect') out.redirect = mod[2]!;
        else exp = true;
      }
      continue; // unknown modifiers are ignored (§6)
    }
    const qualifier = (QUALIFIERS.has(raw[0]!) ? raw[0] : '+') as Qualifier;
    const body = QUALIFIERS.has(raw[0]!) ? raw.slice(1) : raw;
    const m = /^([a-z0-9]+)(?::([^/]*))?(?:\/(\d+))?(?:\/\/(\d+))?$/i.exec(body);
    const name = m?.[1]?.toLowerCase() as MechanismName | undefined;
    if (!m || !name || !(MECHANISMS as readonly string[]).includes(name)) {
      out.errors.push(`unknown term "${raw}"`);
      continue;
    }
    const value = m[2];
    const mech: Mechanism = { kind: 'mechanism', qualifier, name, raw, ...(value !== undefined ? { value } : {}) };
    const needsValue = name === 'include' || name === 'exists' || name === 'ip4' || name === 'ip6';
    if (needsValue && !value) out.errors.push(`${name} needs a value in "${raw}"`);
    if (name === 'all' && (value !== undefined || m[3] || m[4])) out.errors.push(`"all" takes no value: "${raw}"`);
    if (name === 'ip4' || name === 'ip6') {
      // §5.6: ip4 and ip6 take one prefix length, written with a single slash.
      const max = name === 'ip4' ? 32 : 128;
      const len = parseCidr(m[3], max);
      const valid = name === 'ip4' ? isIPv4(value ?? '') : isIPv6(value ?? '');
      if (!valid || len === null || m[4]) out.errors.push(`bad ${name} network "${raw}"`);
      if (len != null) mech[name === 'ip4' ? 'cidr4' : 'cidr6'] = len;
    } else if (name === 'a' || name === 'mx') {
      const c4 = parseCidr(m[3], 32);
      const c6 = parseCidr(m[4], 128);
      if (c4 === null || c6 === null) out.errors.push(`bad prefix length in "${raw}"`);
      if (c4 != null) mech.cidr4 = c4;
      if (c6 != null) mech.cidr6 = c6;
    }
    out.mechanisms.push(mech);
  }
  return out;
}

export interface MacroContext {
  ip: string;
  /** The envelope sender (`postmaster@domain` when only a domain is known, §4.3). */
  sender: string;
  /** The domain whose record is being evaluated. */
  domain: string;
}

/** RFC 7208 §7.3: IPv4 as dotted quad, IPv6 as dot-separated nibbles. */
function macroIp(ip: string): string {
  if (isIPv4(ip)) return ip;
  const groups = ip.split('::');
  const head = groups[0] ? groups[0].split(':') : [];
  const tail = groups[1] ? groups[1].split(':') : [];
  const full = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
  return full.map((g: string) => g.padStart(4, '0')).join('').split('').join('.');
}

/** Expands %{s}, %{l}, %{o}, %{d}, %{i}, %{v}, %{h}, %{p} with digits, reversal and delimiters (§7.1–7.3). */
export function expandMacros(spec: string, ctx: MacroContext): string {
  const [local, senderDomain] = ctx.sender.includes('@') ? [ctx.sender.split('@')[0]!, ctx.sender.split('@')[1]!] : ['postmaster', ctx.sender];
  const values: Record<string, string> = {
    s: ctx.sender, l: local, o: senderDomain, d: ctx.domain, i: macroIp(ctx.ip),
    v: isIPv4(ctx.ip) ? 'in-addr' : 'ip6', h: senderDomain,
    p: 'unknown', // §7.3: "p" needs a validated PTR name; "unknown" is the defined fallback
  };
  return spec.replace(/%(?:\{([a-z])(\d*)(r?)([.\-+,/_=]*)\}|%|_|-)/gi, (whole, letter?: string, digits?: string, reverse?: string, delims?: string) => {
    if (whole === '%%') return '%';
    if (whole === '%_') return ' ';
    if (whole === '%-') return '%20';
    let parts = (values[letter!.toLowerCase()] ?? '').split(new RegExp(`[${(delims || '.').replace(/[-\]\\/]/g, '\\$&')}]`));
    if (reverse) parts = parts.reverse();
    if (digits) parts = parts.slice(-Number(digits));
    return parts.join('.');
  });
}

export const hasMacros = (spec: string) => spec.includes('%');
