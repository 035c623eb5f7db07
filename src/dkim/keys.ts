// DKIM key pairs for a sending domain and the DNS TXT records that publish them.
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);
import type { DkimAlgorithm } from '../store/store.ts';

export interface GeneratedKey {
  selector: string;
  algorithm: DkimAlgorithm;
  /** PKCS#8 PEM, before any encryption at rest. */
  privateKeyPem: string;
  /** The p= value. */
  publicKey: string;
}

/** `sh` + YYYYMM: a dated selector tells at a glance how old a key is, and a later one can replace it. */
export const dateSelector = (now: Date): string => `sh${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}`;

/**
 * RSA 2048 (RFC 8301 §3.2: at least 1024, 2048 recommended); p= is the base64 DER SubjectPublicKeyInfo (RFC 6376 §3.6.1).
 * Ed25519 (RFC 8463 §4): p= is the bare 32-byte public key, i.e. the SPKI without its 12-byte algorithm prefix.
 * An Ed25519 key needs its own selector: one TXT record per selector carries one k=.
 * Asynchronous: an RSA key takes a noticeable moment, and a serving node (POST /domains) must not stall its sessions.
 */
export async function generateDomainKey(algorithm: DkimAlgorithm, selector: string): Promise<GeneratedKey> {
  const publicKeyEncoding = { type: 'spki', format: 'der' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  if (algorithm === 'rsa-sha256') {
    const { publicKey, privateKey } = await generate('rsa', { modulusLength: 2048, publicKeyEncoding, privateKeyEncoding });
    return { selector, algorithm, privateKeyPem: privateKey, publicKey: publicKey.toString('base64') };
  }
  const { publicKey, privateKey } = await generate('ed25519', { publicKeyEncoding, privateKeyEncoding });
  return { selector, algorithm, privateKeyPem: privateKey, publicKey: publicKey.subarray(12).toString('base64') };
}

/** The name the record is published at (RFC 6376 §3.6.2.1). */
export const dkimRecordName = (selector: string, domain: string) => `${selector}._domainkey.${domain}`;

/** The TXT value (RFC 6376 §3.6.1); k=rsa is the default but said explicitly, k=ed25519 per RFC 8463 §4. */
export const dkimRecordValue = (algorithm: DkimAlgorithm, publicKey: string) =>
  `v=DKIM1; k=${algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519'}; p=${publicKey}`;

/**
 * A TXT character-string holds at most 255 octets (RFC 1035 §3.3.14); a longer value is published as several
 * strings that the verifier concatenates (RFC 6376 §3.6.2.2). Returned quoted, ready for a zone file.
 */
export function txtStrings(value: string): string {
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += 255) parts.push(`"${value.slice(i, i + 255)}"`);
  return parts.join(' ');
}
