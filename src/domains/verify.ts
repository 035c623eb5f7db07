// `domains verify`: looks up what a sending domain publishes through the configured resolver and compares it,
// record by record, with what it should publish (records.ts), with one hint per mismatch.
import type { Resolver } from 'node:dns/promises';
import { judgePolicy } from '../doctor/dmarc.ts';
import { mtaStsChecks, type MtaStsOptions } from '../doctor/mta-sts.ts';
import { analyseSpf, checkHost, SpfLookup } from '../doctor/spf.ts';
import { parseTagList } from '../doctor/tag-list.ts';
import type { DomainCheck, RecordVerdict } from '../store/store.ts';
import type { ExpectedRecord } from './records.ts';

const errCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);
const isAbsent = (code: string) => code === 'ENOTFOUND' || code === 'ENODATA';

type Lookup = { found: string[] } | { error: string };

/** TXT records at `name`, each record's strings joined (RFC 7208 §3.3, RFC 6376 §3.6.2.2); absent = none. */
async function txt(resolver: Resolver, name: string): Promise<Lookup> {
  try {
    return { found: (await resolver.resolveTxt(name)).map((chunks) => chunks.join('')) };
  } catch (err) {
    return isAbsent(errCode(err)) ? { found: [] } : { error: errCode(err) };
  }
}

const lookupFailed = (base: Omit<RecordVerdict, 'status'>, code: string): RecordVerdict =>
  ({ ...base, status: 'error', hint: `the lookup failed (${code}): retry, and check SMARTHOST_DNS_SERVERS and the zone` });

async function verifyDkim(r: ExpectedRecord, resolver: Resolver, domain: string): Promise<RecordVerdict> {
  const base = { record: r.record, name: r.name, expected: r.value };
  const got = await txt(resolver, r.name);
  if ('error' in got) return lookupFailed(base, got.error);
  const keys = got.found.filter((t) => /(^|;)\s*(v=DKIM1|p=)/i.test(t));
  if (!keys.length) return { ...base, status: 'missing', hint: `DKIM record missing: publish ${r.name} TXT as printed by: smarthost domains show ${domain}` };
  if (keys.length > 1) return { ...base, status: 'mismatch', found: keys.join(' | '), hint: `${keys.length} DKIM records at ${r.name}: keep only the one with this key` };
  const found = keys[0]!;
  const { tags } = parseTagList(found);
  const p = (tags.get('p') ?? '').replace(/\s+/g, '');
  const k = (tags.get('k') ?? 'rsa').toLowerCase();
  const wantK = r.key!.algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519';
  if (p === '') return { ...base, status: 'mismatch', found, hint: 'p= is empty, which revokes the key (RFC 6376 §3.6.1): publish the key from the store' };
  if (p !== r.key!.publicKey)
    return { ...base, status: 'mismatch', found, hint: 'DKIM key differs from the one in the store (was the record truncated? check the 255-octet split)' };
  if (k !== wantK) return { ...base, status: 'mismatch', found, hint: `k=${k}, but the key is ${wantK}: publish k=${wantK}` };
  return { ...base, status: 'ok', found };
}

/** Whether the record authorises what the route needs: the mechanism itself, an include reaching it, or (a:host) a pass for the host's addresses. */
async function satisfies(mechanism: string, at: string, lookup: SpfLookup): Promise<boolean> {
  const f = await lookup.fetch(at);
  if (f.kind !== 'record') return false;
  const colon = mechanism.indexOf(':');
  const [name, value] = [mechanism.slice(0, colon).toLowerCase(), mechanism.slice(colon + 1).toLowerCase()]; // ip6: values hold colons too
  if (f.parsed.mechanisms.some((m) => m.qualifier === '+' && m.name === name && (m.value ?? '').toLowerCase() === value)) return true;
  if (name === 'include') return (await analyseSpf(at, lookup)).includes.some((d) => d.toLowerCase() === value);
  if (name !== 'a' || !value) return false;
  const addrs = (await Promise.allSettled([lookup.resolver.resolve4(value), lookup.resolver.resolve6(value)]))
    .flatMap((p) => (p.status === 'fulfilled' ? p.value : []));
  if (!addrs.length) return false;
  const results = await Promise.all(addrs.map((ip) => checkHost(ip, at, lookup)));
  return results.every((res) => res === 'pass');
}

async function verifySpf(r: ExpectedRecord, lookup: SpfLookup): Promise<RecordVerdict> {
  const base = { record: r.record, name: r.name, expected: r.spf!.map((s) => s.mechanism).join(' ') };
  const f = await lookup.fetch(r.name);
  if (f.kind === 'temperror') return lookupFailed(base, f.detail);
  if (f.kind === 'none') return { ...base, status: 'missing', hint: `SPF missing at ${r.name}: publish "${r.value}"` };
  if (f.kind !== 'record')
    return { ...base, status: 'mismatch', hint: `two SPF records at ${r.name} (${f.detail}): merge them into one, as more than one is a permerror (RFC 7208 §3.2)` };
  const found = f.text;
  if (f.parsed.errors.length)
    return { ...base, status: 'mismatch', found, hint: `SPF record is broken (${f.parsed.errors.join('; ')}): receivers treat it as a permerror` };
  const lacking: string[] = [];
  for (const req of r.spf!) {
    if (await satisfies(req.mechanism, r.name, lookup)) continue;
    lacking.push(`SPF record lacks ${req.mechanism} for the ${req.route} route${req.mechanism.startsWith('a:') ? ' (or an ip4:/ip6: covering its addresses)' : ''}`);
  }
  return lacking.length ? { ...base, status: 'mismatch', found, hint: `${lacking.join('; ')}: add it before the "all"` } : { ...base, status: 'ok', found };
}

/** Without a public suffix list: the last two labels (as doctor/dmarc.ts does). */
const orgDomain = (domain: string) => domain.split('.').slice(-2).join('.');

async function verifyDmarc(r: ExpectedRecord, resolver: Resolver, domain: string): Promise<RecordVerdict> {
  const base = { record: r.record, name: r.name, expected: r.value };
  const dmarc = async (at: string) => {
    const got = await txt(resolver, `_dmarc.${at}`);
    return 'error' in got ? got : { found: got.found.filter((t) => /^v\s*=\s*DMARC1\b/i.test(t)) };
  };
  let at = domain;
  let got = await dmarc(at);
  // RFC 7489 §6.6.3: without a record at the domain, the organisational domain's applies.
  if (!('error' in got) && !got.found.length && orgDomain(domain) !== domain) got = await dmarc((at = orgDomain(domain)));
  if ('error' in got) return lookupFailed(base, got.error);
  if (!got.found.length) return { ...base, status: 'missing', hint: `DMARC missing: publish _dmarc.${domain} TXT "${r.value}"` };
  if (got.found.length > 1)
    return { ...base, status: 'mismatch', found: got.found.join(' | '), hint: `${got.found.length} DMARC records at _dmarc.${at}: keep one, as receivers apply none of several (RFC 7489 §6.6.3)` };
  const found = got.found[0]!;
  const failed = judgePolicy(at, domain, found).find((c) => c.status === 'fail');
  if (failed) return { ...base, status: 'mismatch', found, hint: `${failed.summary}; ${failed.hint}` };
  return { ...base, status: 'ok', found, ...(at !== domain && { name: `_dmarc.${at}` }) };
}

/** How `domains verify` reaches the MTA-STS policy file: RFC 8461 §3.3's port 443 and Node's CAs unless a test says otherwise. */
export type PolicyFileOptions = Omit<MtaStsOptions, 'resolver'>;

/**
 * MTA-STS and TLS-RPT: present and well-formed (RFC 8461 §3.1, RFC 8460 §3); the id is the operator's.
 * Behind a good MTA-STS record the policy file must be served and cover every MX (the doctor's check):
 * a sender that finds the record but no usable policy gets no protection from it.
 */
async function verifyTagRecord(r: ExpectedRecord, resolver: Resolver, domain: string, policyFile: PolicyFileOptions): Promise<RecordVerdict> {
  const base = { record: r.record, name: r.name, expected: r.value };
  const version = r.record === 'mta-sts' ? 'STSv1' : 'TLSRPTv1';
  const got = await txt(resolver, r.name);
  if ('error' in got) return lookupFailed(base, got.error);
  const records = got.found.filter((t) => new RegExp(`^v=${version}\\s*(;|$)`).test(t.trim()));
  if (!records.length) return { ...base, status: 'missing', hint: `${r.record === 'mta-sts' ? 'MTA-STS' : 'TLS-RPT'} record missing: publish ${r.name} TXT "${r.value}"` };
  if (records.length > 1) return { ...base, status: 'mismatch', found: records.join(' | '), hint: `${records.length} records at ${r.name}: keep one` };
  const found = records[0]!;
  const { tags } = parseTagList(found);
  if (r.record === 'mta-sts' && !/^[A-Za-z0-9]{1,32}$/.test(tags.get('id') ?? ''))
    return { ...base, status: 'mismatch', found, hint: 'id= must be 1 to 32 letters and digits (RFC 8461 §3.1)' };
  if (r.record === 'tls-rpt' && !/^(mailto:|https:)/i.test(tags.get('rua') ?? ''))
    return { ...base, status: 'mismatch', found, hint: 'rua= must be a mailto: or https: address for the reports (RFC 8460 §3)' };
  if (r.record === 'mta-sts') {
    const mx = (await resolver.resolveMx(domain).catch(() => [])).map((m) => m.exchange);
    const failed = (await mtaStsChecks(domain, mx, { resolver, ...policyFile })).filter((c) => c.status === 'fail');
    if (failed.length) return { ...base, status: 'mismatch', found, hint: failed.map((c) => (c.hint ? `${c.summary}: ${c.hint}` : c.summary)).join('; ') };
  }
  return { ...base, status: 'ok', found };
}

export async function verifyDomain(
  domain: string, expected: readonly ExpectedRecord[], resolver: Resolver, policyFile: PolicyFileOptions, now = Date.now(),
): Promise<DomainCheck> {
  const lookup = new SpfLookup(resolver);
  const results: RecordVerdict[] = [];
  for (const r of expected) {
    if (r.record === 'dkim') results.push(await verifyDkim(r, resolver, domain));
    else if (r.record === 'spf') results.push(await verifySpf(r, lookup));
    else if (r.record === 'dmarc') results.push(await verifyDmarc(r, resolver, domain));
    else results.push(await verifyTagRecord(r, resolver, domain, policyFile));
  }
  return { domain, checkedAt: now, ok: results.every((v) => v.status === 'ok'), results };
}
