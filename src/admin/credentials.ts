// Managing SMTP credentials: the one implementation behind `smarthost
// credentials` and /credentials. A password is returned once, by
// saveCredential when it generated one; nothing returns the hash.
import { counterOf } from '../accept/limits.ts';
import { generatePassword, hashPassword } from '../credentials/password.ts';
import type { SendCounts } from '../store/rate-windows.ts';
import type { Credential, Store } from '../store/store.ts';
import { AdminError } from './admin-error.ts';
import { applyPolicyChange, checkSenders, type PolicyChange } from './policy-change.ts';

export type CredentialView = Omit<Credential, 'passwordHash'> & { usage: SendCounts };

export interface CredentialChange {
  allowedSenders?: string[];
  policy?: PolicyChange;
  disabled?: boolean;
}

const view = async (store: Store, c: Credential, now: number): Promise<CredentialView> => {
  const { passwordHash: _hash, ...rest } = c;
  return { lastUsedAt: null, ...rest, usage: await store.sendCounts(counterOf({ kind: 'credential', id: c.username }), now) };
};

// RFC 4616 forbids NUL in PLAIN; ':' would break SMARTHOST_USERS entries; whitespace is a copy-paste accident.
const USERNAME = /^[^\s:\x00]{1,256}$/;

async function existing(store: Store, username: string): Promise<Credential> {
  const c = await store.getCredential(username);
  if (!c) throw new AdminError('not_found', `no credential ${username}`);
  return c;
}

export async function listCredentials(store: Store, now = Date.now()): Promise<CredentialView[]> {
  return Promise.all((await store.listCredentials()).map((c) => view(store, c, now)));
}

export async function getCredential(store: Store, username: string, now = Date.now()): Promise<CredentialView> {
  return view(store, await existing(store, username), now);
}

/**
 * Creates the credential, or replaces it when `replace` (the CLI's `credentials add`); without `replace` an
 * existing username is a conflict. Returns the password only when it generated one.
 */
export async function saveCredential(
  store: Store,
  input: { username: string; password?: string; allowedSenders: string[]; policy?: PolicyChange },
  opts: { replace: boolean },
  now = Date.now(),
): Promise<{ view: CredentialView; generatedPassword?: string; replaced: boolean }> {
  if (!USERNAME.test(input.username)) throw new AdminError('invalid', 'username: 1 to 256 characters, no spaces or colons');
  checkSenders(input.allowedSenders);
  if (input.password !== undefined && input.password.length < 8) throw new AdminError('invalid', 'password: at least 8 characters');
  const policy = applyPolicyChange({}, input.policy ?? {});
  const password = input.password ?? generatePassword();
  const credential: Credential = {
    username: input.username, passwordHash: await hashPassword(password), allowedSenders: input.allowedSenders, disabled: false, createdAt: now, policy,
  };
  const before = await store.getCredential(input.username);
  if (before && !opts.replace) throw new AdminError('conflict', `credential ${input.username} exists; change it with PATCH /credentials/${input.username}`);
  if (before) await store.upsertCredential({ ...credential, createdAt: before.createdAt });
  else if (!(await store.insertCredential(credential))) throw new AdminError('conflict', `credential ${input.username} exists`);
  return {
    view: await view(store, (await store.getCredential(input.username))!, now),
    replaced: !!before,
    ...(input.password === undefined && { generatedPassword: password }),
  };
}

export async function updateCredential(store: Store, username: string, change: CredentialChange, now = Date.now()): Promise<CredentialView> {
  const c = await existing(store, username);
  if (change.allowedSenders) checkSenders(change.allowedSenders);
  if (change.allowedSenders || change.policy)
    await store.upsertCredential({
      ...c,
      ...(change.allowedSenders && { allowedSenders: change.allowedSenders }),
      ...(change.policy && { policy: applyPolicyChange(c.policy, change.policy) }),
    });
  if (change.disabled !== undefined) await store.setCredentialDisabled(username, change.disabled);
  return view(store, await existing(store, username), now);
}

/** Adds or removes one allowed sender (case-insensitive), as `credentials allow|disallow` do. */
export async function changeCredentialSenders(store: Store, username: string, sender: string, add: boolean): Promise<CredentialView> {
  const c = await existing(store, username);
  const rest = c.allowedSenders.filter((s) => s.toLowerCase() !== sender.toLowerCase());
  await store.upsertCredential({ ...c, allowedSenders: add ? [...rest, sender] : rest });
  return view(store, await existing(store, username), Date.now());
}

export async function removeCredential(store: Store, username: string): Promise<void> {
  if (!(await store.removeCredential(username))) throw new AdminError('not_found', `no credential ${username}`);
}
