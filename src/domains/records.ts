// The DNS records a sending domain should publish, computed from its keys and the configured routes:
// what `domains add` and `show` print, what the API returns, and what `domains verify` compares against.
import { createHash } from 'node:crypto';
import type { Config } from '../config/schema.ts';
import { dkimRecordName, dkimRecordValue, txtStrings } from '../dkim/keys.ts';
import type { DnsRecordKind, DomainKey } from '../store/store.ts';
import { configuredRoutes, spfMechanismsForRoutes, type SpfRequirement } from './spf-routes.ts';

export interface ExpectedRecord {
  record: DnsRecordKind;
  /** Fully qualified, without the trailing dot. */
  name: string;
  type: 'TXT';
  value: string;
  comment: string;
  /** DKIM: the key it publishes. */
  key?: Pick<DomainKey, 'selector' | 'algorithm' | 'publicKey' | 'signing'>;
  /** SPF: the mechanisms the record must hold (an existing record may hold more). */
  spf?: SpfRequirement[];
  /** MTA-STS: the policy file to serve. */
  policy?: string;
}

export interface RecordOptions {
  /** Also MTA-STS (RFC 8461), with the domain's MX hosts for the policy, and TLS-RPT (RFC 8460). */
  mtaSts?: { mx: readonly string[] };
}

/**
 * DKIM for every stored key (a rotated-out one stays until retired, so older mail still verifies); SPF per name
 * the routes need (one record per name: merge into an existing one); DMARC at p=none with aggregate reports, so
 * an operator sees what passes before asking receivers to reject (RFC 7489 §6.3).
 */
export function expectedRecords(domain: string, keys: readonly DomainKey[], config: Config, opts: RecordOptions = {}): ExpectedRecord[] {
  const out: ExpectedRecord[] = keys.map((k) => ({
    record: 'dkim', name: dkimRecordName(k.selector, domain), type: 'TXT', value: dkimRecordValue(k.algorithm, k.publicKey),
    comment: `DKIM ${k.algorithm === 'rsa-sha256' ? 'RSA' : 'Ed25519'} key ${k.selector}${k.signing ? '' : ' (rotated out: keep it published until you retire it)'}`,
    key: { selector: k.selector, algorithm: k.algorithm, publicKey: k.publicKey, signing: k.signing },
  }));
  const byName = new Map<string, SpfRequirement[]>();
  for (const req of spfMechanismsForRoutes(configuredRoutes(config, domain), config, domain)) byName.set(req.at, [...(byName.get(req.at) ?? []), req]);
  for (const [name, reqs] of byName) {
    out.push({
      record: 'spf', name, type: 'TXT', value: `v=spf1 ${reqs.map((r) => r.mechanism).join(' ')} ~all`, spf: reqs,
      comment: `SPF for ${reqs.map((r) => r.why).join('; ')}: one SPF record per name, so merge into an existing one`,
    });
  }
  out.push({ record: 'dmarc', name: `_dmarc.${domain}`, type: 'TXT', value: `v=DMARC1; p=none; rua=mailto:dmarc@${domain}`, comment: 'DMARC, monitoring first' });
  if (opts.mtaSts) {
    const policy = stsPolicy(opts.mtaSts.mx.length ? opts.mtaSts.mx : [`<each MX host of ${domain}>`]);
    out.push({
      record: 'mta-sts', name: `_mta-sts.${domain}`, type: 'TXT', value: `v=STSv1; id=${policyId(policy)}`, policy,
      comment: `MTA-STS: serve the policy below at https://mta-sts.${domain}/.well-known/mta-sts.txt; id= changes with the policy`,
    });
    out.push({ record: 'tls-rpt', name: `_smtp._tls.${domain}`, type: 'TXT', value: `v=TLSRPTv1; rua=mailto:tls-reports@${domain}`, comment: 'TLS-RPT: daily reports of TLS failures' });
  }
  return out;
}

/** RFC 8461 §3.2: start in testing mode (failures are reported, mail still flows), a week's max_age. */
export function stsPolicy(mxHosts: readonly string[]): string {
  return ['version: STSv1', 'mode: testing', ...mxHosts.map((mx) => `mx: ${mx}`), 'max_age: 604800', ''].join('\r\n');
}

/** RFC 8461 §3.1: id is 1-32 alphanumerics; a digest of the policy changes exactly when the policy does. */
const policyId = (policy: string) => createHash('sha256').update(policy).digest('hex').slice(0, 20);

/** One zone-file line, strings split at 255 octets (RFC 1035 §3.3.14), with its comment. */
export const zoneLine = (r: ExpectedRecord) => `${r.name}. ${r.type} ${txtStrings(r.value)}    ; ${r.comment}`;
