// The one storage interface. SQLite (embedded) and PostgreSQL (several nodes)
// implement it and pass the same contract suite (test/contract/store.ts).
// Everything is async so that a networked adapter fits the same shape.
import type { SmtpReply } from '../delivery/smtp-reply.ts';
import type { Category } from '../doctor/explain.ts';
import type { SendAllowance, SendCounts, SendLimits } from './rate-windows.ts';

/** 'sandboxed': accepted from a sandbox credential, recorded and never delivered. */
export type RecipientStatus = 'queued' | 'deferred' | 'delivered' | 'bounced' | 'expired' | 'suppressed' | 'sandboxed';
/** Statuses that still await delivery. */
export const PENDING: readonly RecipientStatus[] = ['queued', 'deferred'];

export type MessageSource = 'smtp' | 'http' | 'dsn';

export interface NewMessage {
  id: string;
  /** Envelope sender; '' for the null sender `<>`. */
  sender: string;
  /** Recipients with their initial status: 'queued', 'suppressed' when on the list at accept time, or 'sandboxed'. Each gets an event of that type. */
  recipients: { address: string; status: 'queued' | 'suppressed' | 'sandboxed' }[];
  raw: Buffer;
  source: MessageSource;
  credential: string | null;
  clientAddress: string | null;
  createdAt: number;
  /** Labels from the API (Resend tags, Postmark Tag/Metadata), kept for queries and webhooks. */
  tags?: Tag[];
}

export interface Tag {
  name: string;
  value: string;
}

export interface StoredMessage {
  id: string;
  sender: string;
  raw: Buffer;
  source: MessageSource;
  credential: string | null;
  clientAddress: string | null;
  size: number;
  createdAt: number;
}

export interface RecipientRow {
  id: number;
  messageId: string;
  address: string;
  /** Lower-case domain of the address: delivery groups by it. */
  domain: string;
  status: RecipientStatus;
  attempts: number;
  nextAttemptAt: number;
  lastReply: string | null;
  updatedAt: number;
}

/** A due recipient handed to one deliverer until its lease runs out. */
export interface ClaimedRecipient extends RecipientRow {
  sender: string;
  messageCreatedAt: number;
}

export type EventType =
  | 'queued' | 'attempt' | 'delivered' | 'deferred' | 'bounced' | 'expired' | 'suppressed' | 'sandboxed' | 'dsn' | 'retry' | 'deleted';

export interface NewEvent {
  messageId: string;
  recipient: string | null;
  type: EventType;
  at: number;
  route?: string;
  relay?: string;
  tls?: string;
  reply?: SmtpReply;
  attempt?: number;
  detail?: string;
  /** For deferrals and bounces: what kind of failure (auth, tls, dns, policy, mailbox, rate, …). */
  category?: Category;
  /** The id a provider's HTTPS API gave this delivery, for matching its webhooks. */
  providerMessageId?: string;
}

export interface StoredEvent extends NewEvent {
  id: number;
}

/** The result of one delivery attempt for one claimed recipient. */
export interface RecipientUpdate {
  recipientId: number;
  status: RecipientStatus;
  attempts: number;
  /** For 'deferred': when to try again. */
  nextAttemptAt?: number;
  lastReply: string | null;
  event: NewEvent;
}

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
}

export interface Suppression {
  address: string;
  reason: string;
  createdAt: number;
}

export interface MessageSummary {
  id: string;
  sender: string;
  size: number;
  createdAt: number;
  credential: string | null;
  tags: Tag[];
  recipients: { address: string; status: RecipientStatus; attempts: number; nextAttemptAt: number; lastReply: string | null }[];
}

export interface ListMessagesQuery {
  /** Only messages with at least one recipient in this status. */
  status?: RecipientStatus;
  /** Only messages to this recipient address (case-insensitive). */
  recipient?: string;
  /** Only messages from this envelope sender (case-insensitive). */
  sender?: string;
  /** Only messages sent with this credential or API key (as recorded: `app`, `key:name`). */
  credential?: string;
  /** Only messages carrying this tag (name and value exactly). */
  tag?: Tag;
  limit: number;
  /** Cursor: messages created before this message id (ids sort by time). */
  before?: string;
  /** Only messages with an id above this one (see idFloor: "created since"). */
  after?: string;
}

/** A dashboard login: the browser holds the random id, the store only its SHA-256. */
export interface AdminSession {
  idHash: string;
  /** Synchronizer token every state-changing request of this session must carry. */
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
}

/** Deliveries, deferrals and bounces per time bucket, for the overview chart. */
export interface EventBucket {
  /** Start of the bucket (ms). */
  start: number;
  type: EventType;
  count: number;
}

/** A deferral or bounce reason and how often it happened in a window. */
export interface FailureReason {
  type: 'deferred' | 'bounced';
  category: Category | null;
  /** One reply of the group, to explain and show. */
  reply: SmtpReply | null;
  count: number;
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
}

export interface EventQuery {
  /** Events at or after this time (ms). */
  since?: number;
  type?: EventType;
  /** Cursor: events with an id greater than this. */
  after?: number;
  limit: number;
}

/** What a request with an Idempotency-Key finds when it claims the key. */
export type IdempotencyClaim =
  | { state: 'new' }
  | { state: 'pending'; requestHash: string }
  | { state: 'done'; requestHash: string; status: number; body: string };

/** Event types a webhook can subscribe to. */
export const WEBHOOK_EVENTS = ['queued', 'delivered', 'deferred', 'bounced', 'expired', 'suppressed'] as const;

export interface Webhook {
  id: string;
  url: string;
  /** `whsec_…`, the Standard Webhooks signing secret. */
  secret: string;
  events: EventType[];
  createdAt: number;
}

export interface WebhookStatus extends Webhook {
  pending: number;
  delivered: number;
  failed: number;
  lastError: string | null;
  lastAttemptAt: number | null;
}

/** An outbox row leased to one sender: the event to announce and where to. */
export interface WebhookDelivery {
  outboxId: number;
  webhook: Webhook;
  event: StoredEvent;
  attempts: number;
  /** Envelope sender of the event's message, when the message still exists. */
  sender: string | null;
}

export interface WebhookAttempt {
  outboxId: number;
  owner: string;
  at: number;
  status?: number;
  error?: string;
  /** 'retry' keeps the row pending until nextAttemptAt; 'failed' gives up. */
  outcome: 'delivered' | 'retry' | 'failed';
  nextAttemptAt?: number;
}

/** RFC 6376 §3.3 rsa-sha256, RFC 8463 ed25519-sha256. */
export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

/** One DKIM key of a sending domain; a domain has one row per selector. */
export interface DomainKey {
  /** Lower-case. */
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  /** PKCS#8 PEM, or `enc:v1:…` when encrypted at rest (dkim/secret.ts). Never logged or returned by the API. */
  privateKey: string;
  /** The base64 SubjectPublicKeyInfo (RSA) or raw key (Ed25519) published as p= (RFC 6376 §3.6.1, RFC 8463 §4). */
  publicKey: string;
  createdAt: number;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Statements sent to the database server so far by this process (every one, BEGIN/COMMIT and
   * LISTEN included), for the smarthost_store_queries_total metric. Only a client/server adapter
   * (PostgreSQL) counts; the embedded SQLite store has no round trips to count and leaves it out.
   */
  statementCount?(): number;
  /** Durable when the promise resolves (fsync'd commit); concurrent calls share a commit. */
  enqueue(msg: NewMessage): Promise<void>;
  getMessage(id: string): Promise<StoredMessage | undefined>;

  /** Leases up to `limit` due, pending, unleased recipients to `owner` until now + leaseMs. */
  claimDue(opts: { now: number; limit: number; leaseMs: number; owner: string }): Promise<ClaimedRecipient[]>;
  /**
   * Applies attempt results, writes their events and releases the leases, in one
   * transaction. Fenced: a row whose lease another owner has since taken is left alone.
   */
  recordResults(updates: RecipientUpdate[], owner: string): Promise<void>;
  /** Extends every lease `owner` holds to `until` (a live deliverer keeps its work). */
  renewLeases(owner: string, until: number): Promise<void>;
  /** Gives back leases of `owner` without an attempt: all of them (shutdown), or only these recipients (a failed group). */
  releaseLeases(owner: string, recipientIds?: readonly number[]): Promise<void>;
  /** Earliest due time of a pending recipient not leased at `now`, if any. */
  nextDueAt(now: number): Promise<number | undefined>;

  addEvent(event: NewEvent): Promise<void>;
  listEvents(messageId: string): Promise<StoredEvent[]>;

  listMessages(query: ListMessagesQuery): Promise<MessageSummary[]>;
  getMessageSummary(id: string): Promise<MessageSummary | undefined>;
  /** Makes every pending recipient of the message due now; returns how many. */
  retryMessage(id: string, now: number): Promise<number>;
  deleteMessage(id: string): Promise<boolean>;
  countPending(): Promise<number>;
  /** Recipients per status, for metrics and the queue overview. */
  countByStatus(): Promise<Partial<Record<RecipientStatus, number>>>;

  getCredential(username: string): Promise<Credential | undefined>;
  listCredentials(): Promise<Credential[]>;
  /** Creates or replaces the credential (same username). */
  upsertCredential(c: Credential): Promise<void>;
  /** Creates the credential unless the username exists (then false, nothing changed): nodes starting together create it once. */
  insertCredential(c: Credential): Promise<boolean>;
  setCredentialDisabled(username: string, disabled: boolean): Promise<boolean>;
  removeCredential(username: string): Promise<boolean>;

  createApiKey(key: ApiKey): Promise<void>;
  findApiKey(keyHash: string): Promise<ApiKey | undefined>;
  listApiKeys(): Promise<ApiKey[]>;
  /** Revokes by id or name; false when none matched or already revoked. */
  revokeApiKey(idOrName: string, now: number): Promise<boolean>;
  /** Replaces what is given on the active key(s) with this id or name; false when none matched. */
  updateApiKey(idOrName: string, change: { allowedSenders?: string[]; policy?: SendingPolicy }): Promise<boolean>;

  /**
   * Counts one message for `principal` in the current minute and day windows (those with a limit), only
   * when it fits, atomically across every process sharing the store; otherwise says which window is full.
   */
  consumeSend(principal: string, now: number, limits: SendLimits): Promise<SendAllowance>;
  /** What `principal` has sent in the windows holding `now`, without counting anything. */
  sendCounts(principal: string, now: number): Promise<SendCounts>;

  /**
   * Counts one failed AUTH from `client` (an address, or an IPv6 /64) in the fixed window of `windowMs`
   * holding `now`, atomically across every process sharing the store; returns the window's count with it.
   */
  addAuthFailure(client: string, now: number, windowMs: number): Promise<number>;
  /** Failed AUTHs from `client` in the window of `windowMs` holding `now`, without counting anything. */
  authFailures(client: string, now: number, windowMs: number): Promise<number>;

  /**
   * Claims (scope, key) for one request. The first caller gets 'new' and must
   * complete or release it; concurrent and later callers see 'pending' or 'done'.
   * Keys older than ttlMs are forgotten.
   */
  claimIdempotencyKey(scope: string, key: string, requestHash: string, now: number, ttlMs: number): Promise<IdempotencyClaim>;
  completeIdempotencyKey(scope: string, key: string, status: number, body: string): Promise<void>;
  releaseIdempotencyKey(scope: string, key: string): Promise<void>;
  /** Deletes idempotency keys created before `idempotencyBefore` and counter windows that began before `countersBefore`. */
  purgeExpired(cut: { idempotencyBefore: number; countersBefore: number }): Promise<number>;

  /** Events across all messages, oldest first. */
  queryEvents(q: EventQuery): Promise<StoredEvent[]>;

  // Webhooks: every new event matching a webhook's types gets an outbox row in
  // the same transaction as the event (a trigger in both adapters).
  addWebhook(w: Webhook): Promise<void>;
  listWebhooks(): Promise<WebhookStatus[]>;
  removeWebhook(id: string): Promise<boolean>;
  claimWebhookDeliveries(opts: { now: number; limit: number; leaseMs: number; owner: string }): Promise<WebhookDelivery[]>;
  /** Records one POST attempt and moves the outbox row on; fenced by the lease owner. */
  recordWebhookAttempt(a: WebhookAttempt): Promise<void>;
  /** Attempts of one webhook, newest first. */
  listWebhookAttempts(webhookId: string, limit: number): Promise<(WebhookAttempt & { eventId: number })[]>;
  /** Sends again what failed (and, with `since`, what was delivered since then); returns how many. */
  replayWebhook(id: string, now: number, since?: number): Promise<number>;

  /** The subset of `addresses` (lower-cased) that are suppressed. */
  suppressedAmong(addresses: readonly string[]): Promise<Set<string>>;
  addSuppression(s: Suppression): Promise<void>;
  removeSuppression(address: string): Promise<boolean>;
  /** Sorted by address; `after` is the cursor (the last address of the previous page); `contains` filters (case-insensitive). */
  listSuppressions(q?: { limit?: number; after?: string; contains?: string }): Promise<Suppression[]>;

  /** Adds a key; throws when the domain already has this selector. */
  addDomainKey(key: DomainKey): Promise<void>;
  /** Keys of one domain (case-insensitive) or of all, by domain then creation time. */
  listDomainKeys(domain?: string): Promise<DomainKey[]>;
  /** Removes every key of the domain; false when it had none. */
  removeDomain(domain: string): Promise<boolean>;

  // The dashboard: its admin password, login sessions, a cursor for live updates and the overview's numbers.
  /** The scrypt hash of an admin's password (dashboard login). */
  getAdminPasswordHash(name: string): Promise<string | undefined>;
  /** Sets the hash; with `onlyIfAbsent`, leaves an existing one alone and says whether it wrote (nodes starting together create it once). */
  setAdminPasswordHash(name: string, hash: string, now: number, onlyIfAbsent?: boolean): Promise<boolean>;
  createAdminSession(s: AdminSession): Promise<void>;
  getAdminSession(idHash: string): Promise<AdminSession | undefined>;
  touchAdminSession(idHash: string, now: number): Promise<void>;
  deleteAdminSession(idHash: string): Promise<void>;
  /** Removes sessions idle since before `idleBefore` or created before `createdBefore`; returns how many. */
  purgeAdminSessions(cut: { idleBefore: number; createdBefore: number }): Promise<number>;
  /** The id of the newest event (0 when none): where a live view starts following. */
  lastEventId(): Promise<number>;
  /** Events of these types at or after `since`, counted per bucket of `bucketMs` (aligned to the epoch). */
  countEvents(q: { since: number; bucketMs: number; types: readonly EventType[] }): Promise<EventBucket[]>;
  /** Milliseconds from accept to delivery of recipients delivered at or after `since`: median and 95th percentile. */
  deliveryLatency(since: number): Promise<{ count: number; p50: number | null; p95: number | null }>;
  /** The most frequent deferral and bounce reasons since `since`, grouped by type, category and enhanced code. */
  topFailureReasons(since: number, limit: number): Promise<FailureReason[]>;

  /**
   * Calls `listener` after commits that may have made work due (enqueue, retryMessage) — in every process
   * sharing the store where the adapter can tell them (PostgreSQL LISTEN/NOTIFY; SQLite: this process) —
   * and whenever the watch may have missed some (once it is set up). Returns the unsubscribe.
   */
  watchWork(listener: () => void): () => void;

  close(): Promise<void>;
}
