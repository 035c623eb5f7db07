// API keys: long random secrets shown once and stored as SHA-256. A key has
// 256 bits of entropy, so a fast hash is enough and lets us look keys up.
import { createHash, randomBytes } from 'node:crypto';
import type { ApiKey, ApiKeyPermission, SendingPolicy, Store } from '../store/store.ts';
import { newMessageId } from '../store/ids.ts';

const PREFIX = 'sh_';

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');

/** Whether a secret has the form of an API key (SMTP AUTH accepts a key as the password). */
export const looksLikeApiKey = (secret: string): boolean => secret.startsWith(PREFIX);

export async function createApiKey(
  store: Store, name: string, allowedSenders: string[], policy: SendingPolicy = {}, permission: ApiKeyPermission = 'full_access',
): Promise<{ key: string; record: ApiKey }> {
  const key = PREFIX + randomBytes(32).toString('base64url');
  const record: ApiKey = {
    id: newMessageId().toLowerCase(), name, keyHash: hashApiKey(key), prefix: key.slice(0, PREFIX.length + 6),
    allowedSenders, createdAt: Date.now(), revokedAt: null, policy, permission, disabled: false, lastUsedAt: null,
  };
  await store.createApiKey(record);
  return { key, record };
}

/** The key's record when it exists, is not revoked and not disabled. */
export async function findActiveKey(store: Store, key: string): Promise<ApiKey | undefined> {
  const record = await store.findApiKey(hashApiKey(key));
  return record && record.revokedAt === null && !record.disabled ? record : undefined;
}
