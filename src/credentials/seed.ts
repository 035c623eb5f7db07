// Credentials from SMARTHOST_USERS (for containers, where nobody runs a CLI)
// and the first credential a fresh install prints once.
import type { Logger } from 'pino';
import type { SendingPolicy, Store } from '../store/store.ts';
import { generatePassword, hashPassword } from './password.ts';
import { parsePolicyQuery, type ParsedPolicy } from './policy.ts';

export interface UserEntry {
  username: string;
  password: string;
  allowedSenders: string[];
  policy: SendingPolicy;
  /** What is wrong with the entry, never quoting the password; empty when it is good. */
  problems: string[];
}

/** `?key=value&…` at the very end; its values may hold colons (IPv6 CIDRs). */
const POLICY_SUFFIX = /\?([a-z_]+=[^&?]*(?:&[a-z_]+=[^&?]*)*)$/;
const ENTRY = /^[^:]+:.+:[^:]+$/;

/**
 * `user:pass:word:example.com;other.org?rate=60&cidr=10.0.0.0/8`: the policy suffix comes off first, then the
 * rest splits at the first and last colon, so passwords may hold colons (and a `?` when no suffix follows).
 */
export function parseUserEntry(entry: string): UserEntry {
  const suffix = POLICY_SUFFIX.exec(entry);
  const main = suffix && ENTRY.test(entry.slice(0, suffix.index)) ? entry.slice(0, suffix.index) : entry;
  const first = main.indexOf(':');
  const last = main.lastIndexOf(':');
  const username = main.slice(0, Math.max(first, 0));
  if (!ENTRY.test(main))
    return {
      username, password: '', allowedSenders: [], policy: {},
      problems: [`entries are user:password:domain[;domain…][?rate=…&quota=…&max_size=…&cidr=…&sandbox=1] (use * as the domain to allow any sender), got ${entry.split(':')[0]}:…`],
    };
  const domains = main.slice(last + 1);
  const { policy, problems }: ParsedPolicy = main === entry ? { policy: {}, problems: [] } : parsePolicyQuery(suffix![1]!);
  // Addresses never hold a '?': one left here is a policy suffix that is not key=value pairs.
  if (domains.includes('?')) problems.push(`the policy after "?" must be key=value pairs joined by & (rate, quota, max_size, cidr, sandbox)`);
  return {
    username, password: main.slice(first + 1, last), policy, problems: problems.map((p) => `${username}: ${p}`),
    allowedSenders: domains.split(';').map((d) => d.trim()).filter(Boolean),
  };
}

/** Creates or updates each SMARTHOST_USERS credential at start (validated by the config schema). */
export async function seedUsers(store: Store, entries: readonly string[], logger: Logger): Promise<void> {
  for (const entry of entries) {
    const { username, password, allowedSenders, policy } = parseUserEntry(entry);
    const existing = await store.getCredential(username);
    // The entry is the whole truth for this user: a policy removed from it is removed here.
    await store.upsertCredential({
      username, passwordHash: await hashPassword(password), allowedSenders, disabled: false, createdAt: existing?.createdAt ?? Date.now(), policy,
    });
    logger.info({ user: username, allowed: allowedSenders, policy }, 'credential from SMARTHOST_USERS');
  }
}

export async function ensureFirstCredential(store: Store, print: (line: string) => void): Promise<void> {
  if ((await store.listCredentials()).length > 0) return;
  const password = generatePassword();
  // Nodes starting together on an empty database all get here: only the one whose insert wins may print its password.
  const created = await store.insertCredential({ username: 'smarthost', passwordHash: await hashPassword(password), allowedSenders: ['*'], disabled: false, createdAt: Date.now(), policy: {} });
  if (!created) return;
  print(
    [
      'Created the first SMTP credential (shown only this once):',
      '  username: smarthost',
      `  password: ${password}`,
      'It may send from any address. Restrict it: smarthost credentials allow smarthost example.com',
      'and then: smarthost credentials disallow smarthost "*"',
    ].join('\n'),
  );
}
