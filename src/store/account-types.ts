// Who may send and how much: credentials, API keys, their limits, dashboard sessions,
// suppressions and idempotency keys, as the store keeps them.

/** Limits of one credential or API key, the same over SMTP and HTTP; `{}` when none are set. */
export interface SendingPolicy {
  /** Messages per clock minute. */
  ratePerMinute?: number;
  /** Messages per UTC day. */
  dailyQuota?: number;
  /** Bytes; counts only below SMARTHOST_MAX_MESSAGE_SIZE. */
  maxMessageSize?: number;
  /** CIDRs it may authenticate from; absent or empty: anywhere. */
  sourceNetworks?: string[];
  /** Accept and record messages, never deliver them. */
  sandbox?: boolean;
}

export interface Credential {
  username: string;
  passwordHash: string;
  /** Domains (example.org) or exact addresses (app@example.org) it may send from; empty = none configured. */
  allowedSenders: string[];
  disabled: boolean;
  createdAt: number;
  policy: SendingPolicy;
  /** Last successful AUTH, to the minute (see touchCredential); read only: upsertCredential leaves it alone. */
  lastUsedAt?: number | null;
}

export interface Suppression {
  address: string;
  reason: string;
  createdAt: number;
}

/** A dashboard login: the browser holds the random id, the store only its SHA-256. */
export interface AdminSession {
  idHash: string;
  /** Synchronizer token every state-changing request of this session must carry. */
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface ApiKey {
  id: string;
  name: string;
  /** SHA-256 of the key: keys are long random strings, so a fast hash suffices and allows lookup. */
  keyHash: string;
  /** The first characters of the key, to tell keys apart in listings. */
  prefix: string;
  allowedSenders: string[];
  createdAt: number;
  revokedAt: number | null;
  policy: SendingPolicy;
  /** What it may call (Resend's permissions); keys made before permissions existed are full_access. */
  permission: ApiKeyPermission;
  /** Refused like a revoked key until enabled again. */
  disabled: boolean;
  /** Last successful authentication, to the minute (see touchApiKey); null when never used. */
  lastUsedAt: number | null;
}

/** Resend's API key permissions: every endpoint, or only sending (POST /emails, /emails/batch, /email, /email/batch). */
export const API_KEY_PERMISSIONS = ['full_access', 'sending_access'] as const;

export type ApiKeyPermission = (typeof API_KEY_PERMISSIONS)[number];

/** What a request with an Idempotency-Key finds when it claims the key. */
export type IdempotencyClaim =
  | { state: 'new' }
  | { state: 'pending'; requestHash: string }
  | { state: 'done'; requestHash: string; status: number; body: string };
