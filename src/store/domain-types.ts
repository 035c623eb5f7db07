// Sending domains (DKIM keys, verification of their DNS records, unsigned mail)
// and recipient domains' MTA-STS policies, as the store keeps them.

/** RFC 6376 §3.3 rsa-sha256, RFC 8463 ed25519-sha256. */
export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

/** One DKIM key of a sending domain; a domain has one row per selector. */
export interface DomainKey {
  /** Lower-case. */
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  /** PKCS#8 PEM, or `enc:v1:…` when encrypted at rest (dkim/secret.ts). Never logged or returned by the API. */
  privateKey: string;
  /** The base64 SubjectPublicKeyInfo (RSA) or raw key (Ed25519) published as p= (RFC 6376 §3.6.1, RFC 8463 §4). */
  publicKey: string;
  createdAt: number;
  /** Signs new mail. After `domains rotate` the old key stays (still published, still verifying older mail) but no longer signs. */
  signing: boolean;
}

/** A new key signs from the moment it is stored (on other nodes, and after a CLI change, within a second: sign.ts). */
export type NewDomainKey = Omit<DomainKey, 'signing'>;

export type DnsRecordKind = 'dkim' | 'spf' | 'dmarc' | 'mta-sts' | 'tls-rpt';

/** One published record compared with what it should be (domains/verify.ts). */
export interface RecordVerdict {
  record: DnsRecordKind;
  /** The DNS name looked up. */
  name: string;
  status: 'ok' | 'missing' | 'mismatch' | 'error';
  /** What should be published (for SPF: the mechanisms it must contain). */
  expected: string;
  /** What was found, when something was. */
  found?: string;
  /** What to change, for anything but ok. */
  hint?: string;
}

/** The last `domains verify` of a domain. */
export interface DomainCheck {
  domain: string;
  checkedAt: number;
  /** Every record ok. */
  ok: boolean;
  results: RecordVerdict[];
}

/** Mail accepted unsigned because its From: domain has no DKIM key. */
export interface UnsignedMail {
  domain: string;
  count: number;
  lastAt: number;
}

/** A recipient domain's MTA-STS policy (RFC 8461 §3.2) as last fetched, cached until `fetchedAt + maxAge` (§5.1). */
export interface MtaStsPolicy {
  /** Lower-case recipient domain. */
  domain: string;
  /** The `id=` of the `_mta-sts` TXT record the policy was fetched under. */
  id: string;
  mode: 'enforce' | 'testing' | 'none';
  /** `mx:` patterns, lower-case (`mail.example.com`, `*.example.net`). */
  mx: string[];
  /** Seconds. */
  maxAge: number;
  fetchedAt: number;
}
