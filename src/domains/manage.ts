// Sending domains as the CLI and the HTTP API manage them: add, rotate, retire a selector, remove,
// describe, list and verify. Private keys go into the store sealed and never come back out of here.
import type { Config } from '../config/schema.ts';
import { createResolver } from '../delivery/transports/mx/resolve.ts';
import { dateSelector, generateDomainKey } from '../dkim/keys.ts';
import { createSecretBox } from '../dkim/secret.ts';
import type { DomainCheck, DomainKey, NewDomainKey, Store } from '../store/store.ts';
import { expectedRecords, type ExpectedRecord } from './records.ts';
import { verifyDomain, type PolicyFileOptions } from './verify.ts';

// The whole config: SPF depends on every route setting (routes, relay, providers).
export type DomainsConfig = Config;

export class DomainError extends Error {
  constructor(readonly kind: 'invalid' | 'exists' | 'not_found' | 'signing', message: string) {
    super(message);
  }
}

/** RFC 1035 §2.3.1 letters, digits and hyphens (A-labels for IDNs), at least two labels. */
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function domainName(name: string): string {
  const domain = name.trim().toLowerCase().replace(/\.$/, '');
  if (!DOMAIN.test(domain)) throw new DomainError('invalid', `not a domain name: ${JSON.stringify(name)}`);
  return domain;
}

async function keysOrThrow(store: Store, domain: string): Promise<DomainKey[]> {
  const keys = await store.listDomainKeys(domain);
  if (!keys.length) throw new DomainError('not_found', `no domain ${domain} (add it with: smarthost domains add ${domain})`);
  return keys;
}

/**
 * Dated selectors (`sh202611`); a second one in the same month gets `-2`, `-3`, … past the highest in use, so a
 * rotation never reuses a name resolvers may still cache. Ed25519 takes the RSA selector plus `e` (RFC 8463:
 * one k= per record, so its own name).
 */
async function newKeys(domain: string, existing: readonly DomainKey[], ed25519: boolean, secretKey: string | undefined, now: Date): Promise<NewDomainKey[]> {
  const base = dateSelector(now);
  const used = existing.map((k) => new RegExp(`^${base}(?:-(\\d+))?$`).exec(k.selector)).filter((m) => m !== null).map((m) => Number(m[1] ?? 1));
  const selector = used.length ? `${base}-${Math.max(...used) + 1}` : base;
  const box = createSecretBox(secretKey);
  const generated = [await generateDomainKey('rsa-sha256', selector), ...(ed25519 ? [await generateDomainKey('ed25519-sha256', `${selector}e`)] : [])];
  return generated.map((g) => ({
    domain, selector: g.selector, algorithm: g.algorithm, privateKey: box.seal(g.privateKeyPem), publicKey: g.publicKey, createdAt: now.getTime(),
  }));
}

export async function addDomain(store: Store, config: DomainsConfig, name: string, opts: { ed25519?: boolean }, now = new Date()): Promise<DomainKey[]> {
  const domain = domainName(name);
  if ((await store.listDomainKeys(domain)).length)
    throw new DomainError('exists', `${domain} already has DKIM keys; see them with: smarthost domains show ${domain}`);
  const keys = await newKeys(domain, [], !!opts.ed25519, config.secretKey, now);
  for (const k of keys) await store.addDomainKey(k);
  return keys.map((k) => ({ ...k, signing: true }));
}

/** New keys sign from now on (RSA, plus Ed25519 if the domain signs with one); the old ones stay published until retired. */
export async function rotateDomain(store: Store, config: DomainsConfig, name: string, now = new Date()): Promise<{ added: DomainKey[]; rotatedOut: string[] }> {
  const domain = domainName(name);
  const existing = await keysOrThrow(store, domain);
  const signing = existing.filter((k) => k.signing);
  const keys = await newKeys(domain, existing, signing.some((k) => k.algorithm === 'ed25519-sha256'), config.secretKey, now);
  if (!(await store.rotateDomainKeys(domain, keys))) throw new DomainError('not_found', `no domain ${domain}`);
  return { added: keys.map((k) => ({ ...k, signing: true })), rotatedOut: signing.map((k) => k.selector) };
}

/** Deletes a rotated-out key: mail it signed no longer verifies once its DNS record is gone too. */
export async function retireSelector(store: Store, name: string, selector: string): Promise<void> {
  const domain = domainName(name);
  const key = (await keysOrThrow(store, domain)).find((k) => k.selector === selector);
  if (!key) throw new DomainError('not_found', `${domain} has no selector ${selector}`);
  if (key.signing) throw new DomainError('signing', `${selector} still signs ${domain}'s mail: rotate first (smarthost domains rotate ${domain})`);
  if (!(await store.retireDomainKey(domain, selector))) throw new DomainError('signing', `${selector} of ${domain} changed meanwhile; look again`);
}

export async function removeDomain(store: Store, name: string): Promise<void> {
  const domain = domainName(name);
  if (!(await store.removeDomain(domain))) throw new DomainError('not_found', `no domain ${domain}`);
}

/** The domain's MX hosts, for the MTA-STS policy's mx: lines; none when the lookup fails (the policy then says where to put them). */
async function mxHosts(domain: string, config: DomainsConfig): Promise<string[]> {
  const mx = await createResolver(config.dnsServers, 5000).resolveMx(domain).catch(() => []);
  return mx.sort((a, b) => a.priority - b.priority).map((m) => m.exchange).filter(Boolean);
}

export async function recordsFor(domain: string, keys: readonly DomainKey[], config: DomainsConfig, opts: { mtaSts?: boolean }): Promise<ExpectedRecord[]> {
  return expectedRecords(domain, keys, config, opts.mtaSts ? { mtaSts: { mx: await mxHosts(domain, config) } } : {});
}

export interface DomainDetails {
  domain: string;
  keys: DomainKey[];
  records: ExpectedRecord[];
  check?: DomainCheck;
}

export async function describeDomain(store: Store, config: DomainsConfig, name: string, opts: { mtaSts?: boolean } = {}): Promise<DomainDetails> {
  const domain = domainName(name);
  const keys = await keysOrThrow(store, domain);
  const [check] = await store.listDomainChecks(domain);
  return { domain, keys, records: await recordsFor(domain, keys, config, opts), ...(check && { check }) };
}

/** Looks the records up through SMARTHOST_DNS_SERVERS (or the system resolver), stores the verdict and returns it. */
export async function verifyAndStore(
  store: Store, config: DomainsConfig, name: string, opts: { mtaSts?: boolean; timeoutMs?: number; policyFile?: Omit<PolicyFileOptions, 'timeoutMs'> } = {},
): Promise<DomainCheck> {
  const domain = domainName(name);
  const keys = await keysOrThrow(store, domain);
  const timeoutMs = opts.timeoutMs ?? 5000;
  const check = await verifyDomain(domain, await recordsFor(domain, keys, config, opts), createResolver(config.dnsServers, timeoutMs), { timeoutMs, ...opts.policyFile });
  await store.saveDomainCheck(check);
  return check;
}

export interface DomainSummary {
  domain: string;
  keys: Pick<DomainKey, 'selector' | 'algorithm' | 'signing' | 'createdAt'>[];
  /** 'never' until the first `domains verify`. */
  verification: 'verified' | 'failing' | 'never';
  lastChecked: number | null;
  /** Messages in the store sent unsigned from this domain (it had no key then). */
  unsigned: number;
}

/** Every domain with keys, and every From: domain whose mail went out unsigned, by name. */
export async function listDomains(store: Store): Promise<DomainSummary[]> {
  const [keys, checks, unsigned] = await Promise.all([store.listDomainKeys(), store.listDomainChecks(), store.unsignedMail()]);
  const names = [...new Set([...keys.map((k) => k.domain), ...unsigned.map((u) => u.domain)])].sort();
  return names.map((domain) => {
    const check = checks.find((c) => c.domain === domain);
    return {
      domain,
      keys: keys.filter((k) => k.domain === domain).map(({ selector, algorithm, signing, createdAt }) => ({ selector, algorithm, signing, createdAt })),
      verification: check ? (check.ok ? 'verified' : 'failing') : 'never',
      lastChecked: check?.checkedAt ?? null,
      unsigned: unsigned.find((u) => u.domain === domain)?.count ?? 0,
    };
  });
}
