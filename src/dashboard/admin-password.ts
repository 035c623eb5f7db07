// The dashboard's admin password: SMARTHOST_ADMIN_PASSWORD when set, otherwise
// generated at the first start and printed once, like the first SMTP credential
// (credentials/seed.ts). Only its scrypt hash is stored.
import { generatePassword, hashPassword, verifyPassword } from '../credentials/password.ts';
import type { Store } from '../store/store.ts';

export const ADMIN = 'admin';

export async function ensureAdminPassword(store: Store, configured: string | undefined, where: string, print: (line: string) => void): Promise<void> {
  const stored = await store.getAdminPasswordHash(ADMIN);
  if (configured !== undefined) {
    // The setting is the truth: a changed one replaces the stored hash, an unchanged one costs one verify.
    if (!stored || !(await verifyPassword(configured, stored))) await store.setAdminPasswordHash(ADMIN, await hashPassword(configured), Date.now());
    return;
  }
  if (stored) return;
  const password = generatePassword();
  // Nodes starting together on an empty database all get here: only the one whose insert wins may print its password.
  if (!(await store.setAdminPasswordHash(ADMIN, await hashPassword(password), Date.now(), true))) return;
  print(
    [
      'Created the dashboard admin password (shown only this once):',
      `  dashboard: ${where}`,
      `  admin password: ${password}`,
      'Choose your own with SMARTHOST_ADMIN_PASSWORD.',
    ].join('\n'),
  );
}

export async function checkAdminPassword(store: Store, password: string): Promise<boolean> {
  return verifyPassword(password, (await store.getAdminPasswordHash(ADMIN)) ?? '');
}
