// Managing API keys: the one implementation behind `smarthost keys` and
// /api-keys. A key's secret is returned once, by createKey; nothing else
// returns it or its hash.
import { counterOf } from '../accept/limits.ts';
import { createApiKey } from '../credentials/api-keys.ts';
import type { SendCounts } from '../store/rate-windows.ts';
import type { ApiKey, ApiKeyPermission, Store } from '../store/store.ts';
import { AdminError } from './admin-error.ts';
import { applyPolicyChange, checkSenders, type PolicyChange } from './policy-change.ts';

/** A key as listings show it: everything but the hash, with what it sent in the current minute and day. */
export type KeyView = Omit<ApiKey, 'keyHash'> & { usage: SendCounts };

export interface KeyChange {
  allowedSenders?: string[];
  policy?: PolicyChange;
  disabled?: boolean;
}

const view = async (store: Store, k: ApiKey, now: number): Promise<KeyView> => {
  const { keyHash: _hash, ...rest } = k;
  return { ...rest, usage: await store.sendCounts(counterOf({ kind: 'key', id: k.id }), now) };
};

export async function listKeys(store: Store, now = Date.now()): Promise<KeyView[]> {
  return Promise.all((await store.listApiKeys()).map((k) => view(store, k, now)));
}

/** The one key (revoked or not) with this id, or the one active key with this name; names need not be unique. */
export async function findKey(store: Store, idOrName: string): Promise<ApiKey> {
  const keys = await store.listApiKeys();
  const byId = keys.find((k) => k.id === idOrName);
  if (byId) return byId;
  const named = keys.filter((k) => k.revokedAt === null && k.name === idOrName);
  if (named.length > 1) throw new AdminError('conflict', `${named.length} active keys are named ${idOrName}; give its id (smarthost keys list)`);
  if (named.length === 0) throw new AdminError('not_found', `no active key ${idOrName}`);
  return named[0]!;
}

export async function getKey(store: Store, idOrName: string, now = Date.now()): Promise<KeyView> {
  return view(store, await findKey(store, idOrName), now);
}

export async function createKey(
  store: Store, input: { name: string; allowedSenders: string[]; policy?: PolicyChange; permission?: ApiKeyPermission }, now = Date.now(),
): Promise<{ key: string; view: KeyView }> {
  if (!input.name.trim()) throw new AdminError('invalid', 'name: give the key a name');
  checkSenders(input.allowedSenders);
  const policy = applyPolicyChange({}, input.policy ?? {});
  const { key, record } = await createApiKey(store, input.name, input.allowedSenders, policy, input.permission ?? 'full_access');
  return { key, view: await view(store, record, now) };
}

/** Applies the change to an active key; a revoked key cannot change (409). */
export async function updateKey(store: Store, idOrName: string, change: KeyChange, now = Date.now()): Promise<KeyView> {
  const k = await findKey(store, idOrName);
  if (k.revokedAt !== null) throw new AdminError('conflict', `key ${k.id} is revoked; create a new one`);
  if (change.allowedSenders) checkSenders(change.allowedSenders);
  const policy = change.policy && applyPolicyChange(k.policy, change.policy);
  await store.updateApiKey(k.id, { allowedSenders: change.allowedSenders, policy, disabled: change.disabled });
  return view(store, await findKey(store, k.id), now);
}

/** Adds or removes one allowed sender (case-insensitive), as `keys allow|disallow` do. */
export async function changeKeySenders(store: Store, idOrName: string, sender: string, add: boolean): Promise<KeyView> {
  const k = await findKey(store, idOrName);
  if (k.revokedAt !== null) throw new AdminError('not_found', `no active key ${idOrName}`);
  const rest = k.allowedSenders.filter((s) => s.toLowerCase() !== sender.toLowerCase());
  await store.updateApiKey(k.id, { allowedSenders: add ? [...rest, sender] : rest });
  return view(store, await findKey(store, k.id), Date.now());
}

/** Revokes at once: the next request with it gets 401. Revoking twice is a conflict. */
export async function revokeKey(store: Store, idOrName: string, now = Date.now()): Promise<void> {
  const k = await findKey(store, idOrName);
  if (k.revokedAt !== null || !(await store.revokeApiKey(k.id, now))) throw new AdminError('conflict', `key ${k.id} is already revoked`);
}
