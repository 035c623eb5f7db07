// Credentials from SMARTHOST_USERS (for containers, where nobody runs a CLI)
// and the first credential a fresh install prints once.
import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';
import { generatePassword, hashPassword } from './password.ts';

/** Splits `user:pass:word:example.com;other.org` at the first and last colon, so passwords may hold colons. */
export function parseUserEntry(entry: string): { username: string; password: string; allowedSenders: string[] } {
  const first = entry.indexOf(':');
  const last = entry.lastIndexOf(':');
  return {
    username: entry.slice(0, first),
    password: entry.slice(first + 1, last),
    allowedSenders: entry.slice(last + 1).split(';').map((d) => d.trim()).filter(Boolean),
  };
}

/** Creates or updates each SMARTHOST_USERS credential at start (validated by the config schema). */
export async function seedUsers(store: Store, entries: readonly string[], logger: Logger): Promise<void> {
  for (const entry of entries) {
    const { username, password, allowedSenders } = parseUserEntry(entry);
    const existing = await store.getCredential(username);
    await store.upsertCredential({
      username, passwordHash: await hashPassword(password), allowedSenders, disabled: false, createdAt: existing?.createdAt ?? Date.now(),
    });
    logger.info({ user: username, allowed: allowedSenders }, 'credential from SMARTHOST_USERS');
  }
}

export async function ensureFirstCredential(store: Store, print: (line: string) => void): Promise<void> {
  if ((await store.listCredentials()).length > 0) return;
  const password = generatePassword();
  // Nodes starting together on an empty database all get here: only the one whose insert wins may print its password.
  const created = await store.insertCredential({ username: 'smarthost', passwordHash: await hashPassword(password), allowedSenders: ['*'], disabled: false, createdAt: Date.now() });
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
