// DKIM signing (RFC 6376, RFC 8463) of an accepted message with its From: domain's keys.
// Only the DKIM-Signature fields to prepend are produced: every byte of the message
// stays as it was, so a signature the application added stays valid too.
import type { Logger } from 'pino';
import type { DomainKey, Store } from '../store/store.ts';
import { dkimSignOversigningFrom, loadSigner } from './oversign.ts';
import { isEncrypted, type SecretBox } from './secret.ts';

/**
 * RFC 6376 §5.4.1: the fields a reader sees and the MIME fields that decide how the body is read; From is
 * required (§5.4). Every present instance of a listed field is signed; From is also oversigned (oversign.ts).
 */
const SIGNED_FIELDS = [
  'From', 'To', 'Cc', 'Subject', 'Date', 'Message-ID', 'Reply-To', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding',
];

/** RFC 6376 §3.4: header/body canonicalization (SMARTHOST_DKIM_CANONICALIZATION). */
export type Canonicalization = `${'relaxed' | 'simple'}/${'relaxed' | 'simple'}`;

export interface Signer {
  /** The selectors it signs with, RSA first. */
  readonly selectors: string[];
  /** The DKIM-Signature field(s), CRLF-terminated, to put on top of `raw`. */
  sign(raw: Buffer): Promise<string>;
}

export interface DkimSigners {
  /** `fresh`: from the store now, not the keys read up to KEY_CACHE_MS ago (before a refusal for want of a key). */
  signerFor(domain: string, fresh?: boolean): Promise<Signer | undefined>;
}

/** RSA first, then Ed25519 as a second signature (RFC 8463 §1: verifiers that lack Ed25519 still find the RSA one). */
export function createSigner(
  domain: string,
  keys: readonly { selector: string; algorithm: DomainKey['algorithm']; pem: string }[],
  canonicalization: Canonicalization = 'relaxed/relaxed', // RFC 6376 §3.4.2/§3.4.4: survives refolding and whitespace changes in transit
): Signer {
  const ordered = [...keys].sort((a, b) => (a.algorithm === b.algorithm ? 0 : a.algorithm === 'rsa-sha256' ? -1 : 1));
  return {
    selectors: ordered.map((k) => k.selector),
    async sign(raw) {
      const result = await dkimSignOversigningFrom(raw, {
        // Without it mailauth reads the clock for t= twice, once for the header it hashes and once, after the
        // RSA signing, for the header it writes: a second boundary in between made a signature that never
        // verifies (the odds: the signing's duration over a second, a few milliseconds for RSA under load).
        signTime: new Date(),
        signingDomain: domain,
        selector: ordered[0]!.selector,
        privateKey: ordered[0]!.pem,
        canonicalization,
        // mailauth reads a colon-separated string here (its typings say string[]).
        headerList: SIGNED_FIELDS.join(':') as unknown as string[],
        signatureData: ordered.map((k) => ({
          signingDomain: domain, selector: k.selector, privateKey: k.pem, algorithm: k.algorithm, canonicalization,
        })),
      });
      if (result.errors?.length) throw new Error(`DKIM signing for ${domain} failed`, { cause: result.errors[0] });
      return result.signatures;
    },
  };
}

/** How long another process's or node's change of keys may take to reach the signer; this store's own changes apply at once. */
export const KEY_CACHE_MS = 1000;
/** Domains whose keys are remembered at once: past it the memory starts over (a sender of many From: domains). */
const KEY_CACHE_DOMAINS = 10_000;

/**
 * A domain's signing keys are read from the store at most once per KEY_CACHE_MS, not once per message (a query
 * on the event loop, or a round trip to PostgreSQL, for every message): a `domains add` or `rotate` through this
 * node's store signs from the next message on (Store.watchDomainKeys), one on another node or from the CLI within
 * KEY_CACHE_MS. Keys rotated out stay published but no longer sign. Decrypted keys are cached by their stored
 * form; a removed or replaced key simply stops matching.
 */
export function createDkimSigners(store: Store, box: SecretBox, canonicalization?: Canonicalization): DkimSigners {
  const pems = new Map<string, string>();
  const pemOf = (k: DomainKey) => {
    let pem = pems.get(k.privateKey);
    if (pem === undefined) pems.set(k.privateKey, (pem = box.open(k.privateKey, `${k.domain} (selector ${k.selector})`)));
    return pem;
  };
  let cached = new Map<string, { readAt: number; keys: Promise<DomainKey[]> }>();
  // For the life of the process: a node makes its signers once (main.ts).
  store.watchDomainKeys(() => (cached = new Map()));
  const signingKeys = (domain: string, fresh: boolean): Promise<DomainKey[]> => {
    const now = Date.now();
    const hit = cached.get(domain);
    if (hit && !fresh && now - hit.readAt < KEY_CACHE_MS) return hit.keys;
    if (cached.size >= KEY_CACHE_DOMAINS) cached = new Map();
    const entry = { readAt: now, keys: store.listDomainKeys(domain).then((keys) => keys.filter((k) => k.signing)) };
    const into = cached;
    into.set(domain, entry);
    // A failed read is not remembered: the next message asks the store again.
    entry.keys.catch(() => {
      if (into.get(domain) === entry) into.delete(domain);
    });
    return entry.keys;
  };
  return {
    async signerFor(domain, fresh = false) {
      const keys = await signingKeys(domain.toLowerCase(), fresh);
      if (keys.length === 0) return undefined;
      return createSigner(domain.toLowerCase(), keys.map((k) => ({ selector: k.selector, algorithm: k.algorithm, pem: pemOf(k) })), canonicalization);
    },
  };
}

/**
 * At start: every stored key must open with the configured secret, so a wrong SMARTHOST_SECRET_KEY stops the
 * node instead of letting mail through unsigned (the SecretKeyError names the variable). Plain keys get one warning.
 * With keys stored, mailauth's signer is loaded here (oversign.ts loads it lazily otherwise).
 */
export async function checkDomainKeys(store: Store, box: SecretBox, logger: Logger): Promise<void> {
  const keys = await store.listDomainKeys();
  for (const k of keys) box.open(k.privateKey, `${k.domain} (selector ${k.selector})`);
  // With keys stored, the signer is needed: load it now, not while the first signed message's client waits.
  if (keys.length) await loadSigner();
  const plain = keys.filter((k) => !isEncrypted(k.privateKey));
  if (plain.length)
    logger.warn({ domains: [...new Set(plain.map((k) => k.domain))] }, box.encrypts
      ? 'DKIM private keys added before SMARTHOST_SECRET_KEY was set are stored unencrypted: rotate those domains and retire their old selectors'
      : 'DKIM private keys are stored unencrypted: set SMARTHOST_SECRET_KEY to encrypt keys added from now on');
}
