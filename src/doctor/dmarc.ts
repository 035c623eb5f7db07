// DMARC (RFC 7489): the policy record at _dmarc.<domain> (or the organisational
// domain's), and whether mail from this domain can pass through SPF or DKIM alignment.
import type { Resolver } from 'node:dns/promises';
import { check, type Check } from './report.ts';
import { parseTagList } from './tag-list.ts';

export interface Alignment {
  /** SPF passes for the route's addresses (smarthost keeps the application's envelope sender); undefined when they are unknown. */
  spfPass?: boolean;
  /** Selectors with a usable DKIM key under this domain, so a d=<domain> signature aligns. */
  dkimSelectors: string[];
}

const POLICIES = new Set(['none', 'quarantine', 'reject']);

/** Without a public suffix list: the last two labels (RFC 7489 §3.2 asks for the PSL; close for most domains). */
const orgDomain = (domain: string) => domain.split('.').slice(-2).join('.');

async function fetchDmarc(name: string, resolver: Resolver): Promise<string[] | { error: string }> {
  try {
    return (await resolver.resolveTxt(`_dmarc.${name}`)).map((c) => c.join('')).filter((t) => /^v\s*=\s*DMARC1\b/i.test(t));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return code === 'ENOTFOUND' || code === 'ENODATA' ? [] : { error: code };
  }
}

export async function dmarcChecks(domain: string, resolver: Resolver, alignment: Alignment): Promise<Check[]> {
  const checks: Check[] = [];
  let at = domain;
  let found = await fetchDmarc(domain, resolver);
  // RFC 7489 §6.6.3: no record at the From: domain → look at the organisational domain.
  if (Array.isArray(found) && !found.length && orgDomain(domain) !== domain) {
    at = orgDomain(domain);
    found = await fetchDmarc(at, resolver);
  }
  if (!Array.isArray(found)) {
    checks.push(check('dmarc.record', 'fail', `_dmarc.${at}: lookup failed (${found.error})`, { category: 'dns', hint: 'retry; check the zone and the resolver' }));
  } else if (!found.length) {
    checks.push(check('dmarc.record', 'warn', `no DMARC record at _dmarc.${domain}`, {
      category: 'dmarc', hint: 'Gmail and Yahoo require one from bulk senders; start with "v=DMARC1; p=none; rua=mailto:dmarc@' + domain + '"',
    }));
  } else if (found.length > 1) {
    checks.push(check('dmarc.record', 'fail', `${found.length} DMARC records at _dmarc.${at}`, { category: 'dmarc', hint: 'keep one: with several, receivers apply none (RFC 7489 §6.6.3)' }));
  } else {
    checks.push(...judgePolicy(at, domain, found[0]!));
  }
  checks.push(alignmentCheck(domain, alignment));
  return checks;
}

/** The record's syntax and policy (RFC 7489 §6.3); `at` is where it was found. */
export function judgePolicy(at: string, domain: string, record: string): Check[] {
  const { tags, order, errors } = parseTagList(record);
  const where = `_dmarc.${at}${at === domain ? '' : ` (organisational domain of ${domain})`}`;
  const problems = [...errors];
  if (order[0] !== 'v') problems.push('v=DMARC1 must come first');
  // For a subdomain found through the organisational record, sp= applies (§6.3).
  const policy = (at !== domain && tags.get('sp')) || tags.get('p');
  if (!tags.get('p')) problems.push('p= is missing');
  else if (!POLICIES.has(tags.get('p')!.toLowerCase())) problems.push(`p=${tags.get('p')} is not none, quarantine or reject`);
  for (const mode of ['adkim', 'aspf'])
    if (tags.has(mode) && !/^[rs]$/i.test(tags.get(mode)!)) problems.push(`${mode}=${tags.get(mode)} is not r or s`);
  const pct = tags.has('pct') ? Number(tags.get('pct')) : 100;
  if (!Number.isInteger(pct) || pct < 0 || pct > 100) problems.push(`pct=${tags.get('pct')} is not 0-100`);
  for (const uri of (tags.get('rua') ?? '').split(',').filter(Boolean))
    if (!/^mailto:[^@\s]+@[^@\s]+/i.test(uri.trim())) problems.push(`rua has a non-mailto URI: ${uri.trim()}`);
  if (problems.length) {
    return [check('dmarc.record', 'fail', `${where}: ${problems.join('; ')}`, {
      category: 'dmarc', hint: 'a broken record is ignored by receivers; e.g. "v=DMARC1; p=quarantine; rua=mailto:dmarc@' + domain + '"', data: { record },
    })];
  }
  const checks: Check[] = [];
  const p = policy!.toLowerCase();
  checks.push(check('dmarc.policy', p === 'none' ? 'warn' : 'ok', `${where}: p=${p}${pct < 100 ? ` on ${pct}% of mail` : ''}`, {
    data: { record },
    ...(p === 'none' ? { hint: 'monitoring only: spoofed mail is still delivered; move to p=quarantine once reports show your mail passes' } : {}),
  }));
  if (!tags.has('rua')) checks.push(check('dmarc.rua', 'info', 'no rua= address: you get no aggregate reports', { hint: `add rua=mailto:dmarc@${domain} to see who sends as you` }));
  const strict = ['adkim', 'aspf'].filter((m) => tags.get(m)?.toLowerCase() === 's');
  if (strict.length) {
    checks.push(check('dmarc.strict', 'info', `strict alignment (${strict.join(', ')}): the signing and envelope domains must equal the From: domain exactly`, {
      hint: 'subdomains (bounce.example.com) do not align in strict mode',
    }));
  }
  return checks;
}

function alignmentCheck(domain: string, a: Alignment): Check {
  if (a.dkimSelectors.length) {
    return check('dmarc.alignment', 'ok', `DKIM can align: d=${domain} with selector ${a.dkimSelectors.join(', ')}${a.spfPass ? '; SPF passes too' : ''}`);
  }
  if (a.spfPass) {
    return check('dmarc.alignment', 'warn', 'only SPF can align: forwarding breaks SPF, and a relay that rewrites the envelope sender breaks alignment', {
      category: 'dmarc', hint: `sign with DKIM as d=${domain}`,
    });
  }
  if (a.spfPass === undefined) {
    return check('dmarc.alignment', 'warn', `no DKIM key found for ${domain}, and the sending address is unknown: alignment cannot be confirmed`, {
      category: 'dmarc', hint: 'pass --ip <sending address> and --selector <your DKIM selector>',
    });
  }
  return check('dmarc.alignment', 'fail', `neither DKIM nor SPF aligns for ${domain}: DMARC fails, and receivers reject or junk the mail (5.7.26)`, {
    category: 'dmarc', hint: `publish a DKIM key and sign as d=${domain}, and authorise the sending addresses in SPF`,
  });
}
