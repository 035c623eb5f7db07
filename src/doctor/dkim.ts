// DKIM key records (RFC 6376 §3.6) under `<selector>._domainkey.<domain>`:
// present, well-formed, a usable key (RFC 8301 sizes, RFC 8463 Ed25519), not revoked.
import { createPublicKey } from 'node:crypto';
import type { Resolver } from 'node:dns/promises';
import { check, type Check } from './report.ts';
import { parseTagList } from './tag-list.ts';

/**
 * Selectors tried when none is given: smarthost's own, then the ones large
 * providers publish (Google "google", Microsoft 365 "selector1/2", Mailchimp
 * "k1", SendGrid "s1/s2", generic "default", "mail", "dkim").
 */
export const COMMON_SELECTORS = ['smarthost', 'default', 'mail', 'dkim', 'google', 'selector1', 'selector2', 'k1', 's1', 's2'];

export interface DkimKey {
  selector: string;
  /** No problem that makes verifiers ignore the key. */
  usable: boolean;
}

/** Judges one key record; returns the check and whether a verifier could use the key. */
export function judgeKeyRecord(selector: string, domain: string, record: string): { check: Check; usable: boolean } {
  const name = `${selector}._domainkey.${domain}`;
  const bad = (summary: string, hint: string) => ({ usable: false, check: check('dkim.key', 'fail', `${name}: ${summary}`, { category: 'dmarc', hint }) });
  const { tags, order, errors } = parseTagList(record);
  if (errors.length) return bad(errors.join('; '), 'fix the record syntax (tag=value pairs separated by ";")');
  // §3.6.1: v=, when present, must be first and be DKIM1.
  if (tags.has('v') && (order[0] !== 'v' || tags.get('v') !== 'DKIM1')) return bad(`v=${tags.get('v')} (must be the first tag, "DKIM1")`, 'start the record with v=DKIM1;');
  const k = (tags.get('k') ?? 'rsa').toLowerCase();
  if (k !== 'rsa' && k !== 'ed25519') return bad(`unknown key type k=${k}`, 'use k=rsa (or k=ed25519 alongside an RSA key)');
  const p = (tags.get('p') ?? '').replace(/\s+/g, '');
  if (!tags.has('p')) return bad('no p= (public key) tag', 'publish the public key in p=');
  if (p === '') return bad('p= is empty: the key is revoked (RFC 6376 §3.6.1)', 'publish the current public key, or stop signing with this selector');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(p)) return bad('p= is not base64', 'copy the key again; a TXT string split mid-key or a stray quote breaks it');
  const der = Buffer.from(p, 'base64');
  if ((tags.get('h') ?? '').split(':').every((h) => h.trim().toLowerCase() === 'sha1') && tags.has('h'))
    return bad('h=sha1 only; RFC 8301 §3.1 forbids rsa-sha1', 'remove h= or set h=sha256');

  let detail: string;
  if (k === 'ed25519') {
    if (der.length !== 32) return bad(`an Ed25519 key is 32 bytes, this one is ${der.length}`, 'publish the raw 32-byte key, base64-encoded (RFC 8463 §4.2)');
    detail = 'Ed25519';
  } else {
    let bits: number | undefined;
    for (const type of ['spki', 'pkcs1'] as const) {
      try {
        bits = createPublicKey({ key: der, format: 'der', type }).asymmetricKeyDetails?.modulusLength;
        break;
      } catch {
        // try the other encoding: some publish a bare RSAPublicKey
      }
    }
    if (!bits) return bad('p= does not hold an RSA public key', 'the key is truncated or damaged; publish it again from the signing key');
    // RFC 8301 §3.2: verifiers must not accept keys under 1024 bits; signers should use 2048.
    if (bits < 1024) return bad(`RSA key of ${bits} bits: verifiers ignore keys under 1024 (RFC 8301)`, 'generate a 2048-bit key');
    detail = `RSA ${bits} bits`;
    if (bits < 2048) {
      return { usable: true, check: check('dkim.key', 'warn', `${name}: ${detail}`, { category: 'dmarc', hint: 'RFC 8301 recommends 2048-bit keys; rotate to a new selector with a longer key' }) };
    }
  }
  if ((tags.get('t') ?? '').split(':').map((f) => f.trim()).includes('y')) {
    return { usable: true, check: check('dkim.key', 'warn', `${name}: ${detail}, testing mode (t=y)`, { hint: 'verifiers may treat signatures as unsigned in testing mode; remove t=y when it works' }) };
  }
  return { usable: true, check: check('dkim.key', 'ok', `${name}: ${detail}`) };
}

export async function dkimChecks(domain: string, selectors: readonly string[], explicit: boolean, resolver: Resolver): Promise<{ checks: Check[]; keys: DkimKey[] }> {
  const checks: Check[] = [];
  const keys: DkimKey[] = [];
  const missing: string[] = [];
  for (const selector of selectors) {
    let records: string[];
    try {
      // §3.6.2.2: the strings of a TXT record are concatenated.
      records = (await resolver.resolveTxt(`${selector}._domainkey.${domain}`)).map((chunks) => chunks.join(''));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      if (code === 'ENOTFOUND' || code === 'ENODATA') missing.push(selector);
      else checks.push(check('dkim.key', 'fail', `${selector}._domainkey.${domain}: lookup failed (${code})`, { category: 'dns', hint: 'retry; check the zone and the resolver' }));
      continue;
    }
    const keyRecords = records.filter((r) => /(^|;)\s*(v=DKIM1|p=)/i.test(r));
    if (!keyRecords.length) {
      missing.push(selector);
      continue;
    }
    for (const record of keyRecords) {
      const judged = judgeKeyRecord(selector, domain, record);
      checks.push(judged.check);
      keys.push({ selector, usable: judged.usable });
    }
  }
  if (missing.length && (explicit || !keys.length)) {
    checks.push(check('dkim.missing', explicit ? 'fail' : 'warn', `no DKIM key for selector(s) ${missing.join(', ')}`, {
      category: 'dmarc',
      hint: explicit
        ? 'publish the key at <selector>._domainkey.<domain>, or sign with a selector that has one'
        : 'none of the usual selectors has a key; pass --selector <name> with the one your signer uses',
    }));
  }
  return { checks, keys };
}
