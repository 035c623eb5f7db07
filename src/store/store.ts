// The one storage interface. SQLite (embedded) and PostgreSQL (several nodes)
// implement it and pass the same contract suite (test/contract/store.ts).
// Everything is async so that a networked adapter fits the same shape.
import type { SmtpReply } from '../delivery/smtp-reply.ts';
import type { Category } from '../doctor/explain.ts';
import type { SendAllowance, SendCounts, SendLimits } from './rate-windows.ts';
import type { AdminSession, ApiKey, Credential, IdempotencyClaim, SendingPolicy, Suppression } from './account-types.ts';
import type { DomainCheck, DomainKey, MtaStsPolicy, NewDomainKey, UnsignedMail } from './domain-types.ts';
import type { ProviderDelivery, ProviderReport, Webhook, WebhookAttempt, WebhookDelivery, WebhookDeliveryRecord, WebhookStatus } from './webhook-types.ts';

// The records of accounts, webhooks and domains live in their own files; callers import them from here.
export * from './account-types.ts';
export * from './domain-types.ts';
export * from './webhook-types.ts';

/** 'sandboxed': accepted from a sandbox credential, recorded and never delivered. 'cancelled': taken out of the queue by an operator. */
export type RecipientStatus = 'queued' | 'deferred' | 'delivered' | 'bounced' | 'expired' | 'suppressed' | 'sandboxed' | 'cancelled';
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
  /** How the accept step DKIM-signed it; absent when it had no From: domain to sign for (or is a DSN). */
  dkim?: MessageDkim;
  /** The Subject: as the API request gave it, or the header's unfolded text (SMTP), for searching the message list. */
  subject?: string;
  /** Commit the 'queued' recipients already leased to this owner (Scheduler.reserve): it delivers them at once, unclaimed. */
  lease?: { owner: string; until: number };
}

/** The From: domain of a message and the selectors it was signed with; none = sent unsigned (the domain has no key). */
export interface MessageDkim {
  domain: string;
  selectors: string[];
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
  /** The route this attempt must start with (see RecipientUpdate.resumeRoute); absent: the list's own order. */
  resumeRoute?: string;
}

export type EventType =
  | 'queued' | 'attempt' | 'delivered' | 'deferred' | 'bounced' | 'expired' | 'suppressed' | 'sandboxed' | 'dsn' | 'retry' | 'deleted'
  /** The recipient reported the message as spam (a provider's complaint webhook). */
  | 'complained'
  /** An operator took a pending recipient out of the queue (DELETE /emails/{id}, smarthost queue delete). */
  | 'cancelled';

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
  /**
   * For 'deferred': the route whose last call may have gone through with its answer lost. The next attempt
   * starts there, where the same idempotency key finds the first result, never on a route that would send
   * a second copy. Absent: cleared.
   */
  resumeRoute?: string;
  event: NewEvent;
}

export interface MessageSummary {
  id: string;
  sender: string;
  size: number;
  createdAt: number;
  credential: string | null;
  tags: Tag[];
  dkim: MessageDkim | null;
  recipients: { address: string; status: RecipientStatus; attempts: number; nextAttemptAt: number; lastReply: string | null }[];
}

export interface ListMessagesQuery {
  /** Only messages with at least one recipient in this status. */
  status?: RecipientStatus;
  /** Only messages to this recipient address (case-insensitive). */
  recipient?: string;
  limit: number;
  /** Cursor: messages created before this message id (ids sort by time). */
  before?: string;
  /** Only messages with an id above this one (see idFloor: "created since"). */
  after?: string;
  /** Only messages with this envelope sender (case-insensitive). */
  sender?: string;
  /** Only messages whose Subject: contains this text (case-insensitive). */
  subject?: string;
  /** Only messages sent by this credential (its username) or API key (`key:<name>`), as MessageSummary.credential shows. */
  credential?: string;
  /** Only messages carrying this tag (Resend tag, Postmark Tag as name `tag`, or Metadata). */
  tag?: Tag;
}

/** What a route did last, from the events it wrote. */
export interface RouteEvents {
  delivered?: StoredEvent;
  failed?: StoredEvent;
}

export interface EventQuery {
  /** Events at or after this time (ms). */
  since?: number;
  type?: EventType;
  /** Cursor: events with an id greater than this. */
  after?: number;
  limit: number;
}

export interface StatsQuery {
  from: number;
  to: number;
  /** The window is cut into this many equal buckets. */
  buckets: number;
  /** At most this many failure reasons, most frequent first. */
  topReasons: number;
  /** Latency percentiles come from at most this many of the newest deliveries in the window (bounded work). */
  latencySample: number;
}

export interface DeliveryStats {
  /** One per bucket, oldest first: messages accepted (by enqueue time) and recipient outcomes (by event time). */
  buckets: { start: number; accepted: number; delivered: number; deferred: number; bounced: number }[];
  /** Milliseconds from acceptance to delivery, sorted ascending, of the newest deliveries in the window (at most latencySample). */
  latenciesMs: number[];
  /** Deferrals and bounces grouped by type, category and reply code, most frequent first. */
  reasons: { type: 'deferred' | 'bounced'; category: Category | null; code: number | null; enhanced: string | null; sample: string | null; count: number }[];
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Statements sent to the database server so far by this process (every one, BEGIN/COMMIT and
   * LISTEN included), for the smarthost_store_queries_total metric. Only a client/server adapter
   * (PostgreSQL) counts; the embedded SQLite store has no round trips to count and leaves it out.
   */
  statementCount?(): number;
  /**
   * Durable when the promise resolves (fsync'd commit); concurrent calls share a commit. With `msg.lease`, its
   * 'queued' recipients are committed leased and returned as claimed, and no watcher is woken for them;
   * otherwise none are returned, and watchers learn of the new work.
   */
  enqueue(msg: NewMessage): Promise<ClaimedRecipient[]>;
  getMessage(id: string): Promise<StoredMessage | undefined>;

  /** Leases up to `limit` due, pending, unleased recipients to `owner` until now + leaseMs. */
  claimDue(opts: { now: number; limit: number; leaseMs: number; owner: string }): Promise<ClaimedRecipient[]>;
  /**
   * Applies attempt results, writes their events and releases the leases, in one
   * transaction. Fenced: a row whose lease another owner has since taken is left alone.
   */
  recordResults(updates: RecipientUpdate[], owner: string): Promise<void>;
  /**
   * Extends `owner`'s leases on these recipients, the ones it is still delivering, to `until`. A row it
   * holds without knowing (a commit whose answer was lost) is not renewed: it runs out and is claimed again.
   */
  renewLeases(owner: string, until: number, recipientIds: readonly number[]): Promise<void>;
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
  /**
   * Resolves when the store can take mail; rejects with why not, in words for an operator: unreachable,
   * or (SQLite) a failed sync of its log, after which nothing more is accepted or delivered (/readyz).
   */
  ready(): Promise<void>;
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
  updateApiKey(idOrName: string, change: { allowedSenders?: string[]; policy?: SendingPolicy; disabled?: boolean }): Promise<boolean>;

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
  /**
   * Deletes idempotency keys created before `idempotencyBefore`, counter windows that began before `countersBefore`
   * and, when given, the record of provider webhook events received before `providerEventsBefore`.
   */
  purgeExpired(cut: { idempotencyBefore: number; countersBefore: number; providerEventsBefore?: number }): Promise<number>;

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

  // Provider webhooks (src/provider-webhooks/).
  /** The delivery whose events carry this provider message id, narrowed to `recipient` (case-insensitive) when given. */
  findDeliveryByProviderId(providerMessageId: string, recipient?: string): Promise<ProviderDelivery | undefined>;
  /**
   * Writes the report's event, bounce and suppression in one transaction, and remembers (provider, eventKey):
   * false, with nothing changed, when that key was recorded before (the provider retried).
   */
  recordProviderReport(report: ProviderReport): Promise<boolean>;

  /** The subset of `addresses` (lower-cased) that are suppressed. */
  suppressedAmong(addresses: readonly string[]): Promise<Set<string>>;
  addSuppression(s: Suppression): Promise<void>;
  removeSuppression(address: string): Promise<boolean>;
  /** Sorted by address; `after` is the cursor (the last address of the previous page); `search`: addresses containing it. */
  listSuppressions(q?: { limit?: number; after?: string; search?: string }): Promise<Suppression[]>;

  /** Adds a key, signing from now on; throws when the domain already has this selector. */
  addDomainKey(key: NewDomainKey): Promise<void>;
  /** Keys of one domain (case-insensitive) or of all, by domain then creation time. */
  listDomainKeys(domain?: string): Promise<DomainKey[]>;
  /** Removes every key and the last check of the domain; false when it had no key. */
  removeDomain(domain: string): Promise<boolean>;
  /**
   * In one transaction: the domain's keys stop signing and `keys` start, so no message is signed by neither.
   * False (nothing changed) when the domain has no key.
   */
  rotateDomainKeys(domain: string, keys: NewDomainKey[]): Promise<boolean>;
  /** Deletes a key that no longer signs; false when there is no such key, or it still signs. */
  retireDomainKey(domain: string, selector: string): Promise<boolean>;
  /** Stores the result of a verification, replacing the domain's previous one. */
  saveDomainCheck(check: DomainCheck): Promise<void>;
  /** The last check of one domain or of all, by domain. */
  listDomainChecks(domain?: string): Promise<DomainCheck[]>;
  /** Messages in the store that were accepted unsigned, per From: domain. */
  unsignedMail(): Promise<UnsignedMail[]>;
  /** Calls `listener` after each change of keys made through this store (not another process's); returns the unsubscribe. */
  watchDomainKeys(listener: () => void): () => void;

  /** The cached MTA-STS policy of a recipient domain (case-insensitive), expired or not. */
  getMtaStsPolicy(domain: string): Promise<MtaStsPolicy | undefined>;
  /** Creates or replaces the domain's cached policy; every node sharing the store sees it. */
  putMtaStsPolicy(policy: MtaStsPolicy): Promise<void>;

  // The dashboard: its admin password, login sessions and a cursor for live updates (its numbers come from deliveryStats).
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
  /** A route's newest delivery and newest failed try (an attempt it handed on, a deferral, a bounce): the overview's route health. */
  lastRouteEvents(route: string): Promise<RouteEvents>;

  /**
   * Calls `listener` after commits that may have made work due (enqueue, retryMessage) — in every process
   * sharing the store where the adapter can tell them (PostgreSQL LISTEN/NOTIFY; SQLite: this process) —
   * and whenever the watch may have missed some (once it is set up). Returns the unsubscribe.
   */
  watchWork(listener: () => void): () => void;

  // What the admin API and the dashboard need beyond the above (src/admin/*).
  /**
   * Notes that the key (by id) or credential authenticated at `now`. Writes only when the stored time is a minute
   * or more older, so a busy key costs one write a minute, not one per message.
   */
  touchApiKey(id: string, now: number): Promise<void>;
  touchCredential(username: string, now: number): Promise<void>;
  /**
   * Cancels every pending (queued or deferred) recipient of the message: status 'cancelled', lease cleared so that
   * a delivery in flight cannot put it back, one 'cancelled' event each; returns how many.
   */
  cancelMessage(id: string, now: number): Promise<number>;
  /** Outbox rows of one webhook (one per event announced), newest first; `before` is the cursor (a delivery id). */
  listWebhookDeliveries(webhookId: string, q: { limit: number; before?: number }): Promise<WebhookDeliveryRecord[]>;
  /** Queues one outbox row of that webhook again, due now; false when the webhook has no such row. */
  replayWebhookDelivery(webhookId: string, deliveryId: number, now: number): Promise<boolean>;
  /** Replaces the signing secret; claims made after this sign with the new one. False when there is no such webhook. */
  setWebhookSecret(id: string, secret: string): Promise<boolean>;
  /** Counts, latency and failure reasons over [from, to), for the overview (see DeliveryStats). */
  deliveryStats(q: StatsQuery): Promise<DeliveryStats>;

  close(): Promise<void>;
}
