// How the admin API writes keys, credentials and policies: snake_case JSON,
// ISO times, never a secret or a hash (the one-time secrets are added by the
// create routes themselves).
import type { CredentialView } from '../../admin/credentials.ts';
import type { KeyView } from '../../admin/api-keys.ts';
import type { PolicyChange } from '../../admin/policy-change.ts';
import type { SendCounts } from '../../store/rate-windows.ts';
import type { SendingPolicy } from '../../store/store.ts';

const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);

const limitsJson = (p: SendingPolicy) => ({
  rate_per_minute: p.ratePerMinute ?? null, daily_quota: p.dailyQuota ?? null, max_message_size: p.maxMessageSize ?? null,
  source_networks: p.sourceNetworks ?? [],
});

// The store counts only windows that have a limit (accept/limits.ts): the others are null, not a misleading 0.
const usageJson = (p: SendingPolicy, u: SendCounts) => ({
  this_minute: p.ratePerMinute !== undefined ? u.minute : null, today: p.dailyQuota !== undefined ? u.day : null,
});

export const keyJson = (k: KeyView) => ({
  object: 'api_key', id: k.id, name: k.name, prefix: k.prefix, permission: k.permission,
  status: k.revokedAt !== null ? 'revoked' : k.disabled ? 'disabled' : 'active',
  allowed_senders: k.allowedSenders, limits: limitsJson(k.policy), sandbox: !!k.policy.sandbox,
  usage: usageJson(k.policy, k.usage),
  created_at: iso(k.createdAt), last_used_at: iso(k.lastUsedAt), revoked_at: iso(k.revokedAt),
});

export const credentialJson = (c: CredentialView) => ({
  object: 'credential', username: c.username, status: c.disabled ? 'disabled' : 'active',
  allowed_senders: c.allowedSenders, limits: limitsJson(c.policy), sandbox: !!c.policy.sandbox,
  usage: usageJson(c.policy, c.usage),
  created_at: iso(c.createdAt), last_used_at: iso(c.lastUsedAt),
});

/** The API's `limits` and `sandbox` fields as a policy change (absent: unchanged; null: removed). */
export const policyChangeOf = (
  body: { limits?: { rate_per_minute?: number | null; daily_quota?: number | null; max_message_size?: number | null; source_networks?: string[] | null }; sandbox?: boolean },
): PolicyChange | undefined =>
  body.limits === undefined && body.sandbox === undefined
    ? undefined
    : {
      ratePerMinute: body.limits?.rate_per_minute, dailyQuota: body.limits?.daily_quota, maxMessageSize: body.limits?.max_message_size,
      sourceNetworks: body.limits?.source_networks, sandbox: body.sandbox,
    };
