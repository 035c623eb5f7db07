// Where mail for a domain goes: MX records in preference order, each exchange
// turned into addresses, with the RFC answers for the edge cases (implicit MX,
// null MX, domain literals) and DNS failures classified as permanent or temporary.
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { reply, type SmtpReply } from '../../smtp-reply.ts';

export interface MxHost {
  /** The exchange name (SNI and the `relay=` label), or the literal `[192.0.2.1]`. */
  name: string;
  /** A addresses first, then AAAA. */
  addresses: string[];
}

export type MxResolution =
  | { kind: 'hosts'; hosts: MxHost[] }
  | { kind: 'permanent'; reply: SmtpReply }
  | { kind: 'temporary'; reply: SmtpReply };

/** `servers` are `ip[:port]` strings; an empty list keeps the system's resolv.conf servers. */
export function createResolver(servers: readonly string[], timeoutMs = 5000): Resolver {
  // c-ares defaults to 4 tries of 5 s each; two tries keep a dead server from
  // stalling a delivery attempt for 20 s.
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers.length > 0) resolver.setServers([...servers]);
  return resolver;
}

const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA']);

/** True for "the name or the record does not exist", false for a failure to find out. */
function isAbsent(err: unknown): boolean {
  return NOT_FOUND.has((err as NodeJS.ErrnoException).code ?? '');
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

const temporary = (domain: string, err: unknown): MxResolution => ({
  kind: 'temporary',
  reply: reply(451, '4.4.3', `DNS lookup for ${domain} failed (${errorCode(err)}), will retry`),
});

/** RFC 5321 §4.1.3: `[192.0.2.1]` or `[IPv6:2001:db8::1]` names a host, not a domain. */
function domainLiteral(domain: string): string | undefined {
  const m = /^\[(?:IPv6:)?([^\]]+)\]$/i.exec(domain);
  return m?.[1] && isIP(m[1]) ? m[1] : undefined;
}

/** A then AAAA addresses; a lookup that finds nothing gives []; other failures throw. */
async function addressesOf(name: string, resolver: Resolver): Promise<string[]> {
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  const out: string[] = [];
  for (const result of [v4, v6]) {
    if (result.status === 'fulfilled') out.push(...result.value);
    else if (!isAbsent(result.reason)) throw result.reason;
  }
  return out;
}

/** Sorts by preference, shuffling equal preferences (RFC 5321 §5.1: "SHOULD be randomized"). */
function orderByPreference<T extends { priority: number }>(records: readonly T[]): T[] {
  const keyed = records.map((r) => ({ r, tie: Math.random() }));
  keyed.sort((a, b) => a.r.priority - b.r.priority || a.tie - b.tie);
  return keyed.map((k) => k.r);
}

export async function resolveMx(domain: string, resolver: Resolver): Promise<MxResolution> {
  const literal = domainLiteral(domain);
  if (literal) return { kind: 'hosts', hosts: [{ name: domain, addresses: [literal] }] };

  let records: { exchange: string; priority: number }[];
  try {
    records = await resolver.resolveMx(domain);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOTFOUND') {
      return { kind: 'permanent', reply: reply(550, '5.1.2', `Recipient domain ${domain} does not exist (NXDOMAIN)`) };
    }
    if (code !== 'ENODATA') return temporary(domain, err);
    records = [];
  }

  // RFC 7505 §3: a single MX of "." means the domain accepts no mail. Node
  // gives the root name as ''.
  const isNull = (r: { exchange: string }) => r.exchange === '' || r.exchange === '.';
  if (records.length === 1 && records[0] && isNull(records[0])) {
    return { kind: 'permanent', reply: reply(556, '5.1.10', 'Recipient domain does not accept mail (null MX)') };
  }

  if (records.length === 0) {
    // RFC 5321 §5.1: no MX records → the domain itself is the only host (implicit MX).
    let addresses: string[];
    try {
      addresses = await addressesOf(domain, resolver);
    } catch (err) {
      return temporary(domain, err);
    }
    if (addresses.length === 0) {
      return { kind: 'permanent', reply: reply(550, '5.1.2', `Recipient domain ${domain} has no MX or address records`) };
    }
    return { kind: 'hosts', hosts: [{ name: domain, addresses }] };
  }

  // A null MX mixed with real ones is a misconfiguration; the real ones still work.
  const ordered = orderByPreference(records.filter((r) => !isNull(r)));
  const lookups = await Promise.allSettled(ordered.map((r) => addressesOf(r.exchange, resolver)));
  const hosts: MxHost[] = [];
  let failure: unknown;
  lookups.forEach((result, i) => {
    const name = ordered[i]!.exchange;
    if (result.status === 'rejected') failure = result.reason;
    else if (result.value.length > 0) hosts.push({ name, addresses: result.value });
  });
  if (hosts.length > 0) return { kind: 'hosts', hosts };
  if (failure !== undefined) return temporary(domain, failure);
  // Every exchange is a dangling name: nothing will change on retry soon.
  return {
    kind: 'permanent',
    reply: reply(550, '5.4.4', `No MX host of ${domain} has an address (unable to route)`),
  };
}
