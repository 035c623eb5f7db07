// The embedded store: one SQLite file in WAL mode, every write on disk before
// it is answered (synchronous=FULL), except the group commit's: it syncs the WAL
// itself off the event loop, and answers delivery results without waiting for
// that (see group-commit.ts). better-sqlite3 is synchronous; the async interface is the
// contract shared with PostgreSQL.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createGroupCommit, type GroupCommit } from '../group-commit.ts';
import { openWalSync, type WalSync } from './wal-sync.ts';
import { batchSize, groupedWriter, type GroupedWrite } from './grouped-writes.ts';
import type {
  ClaimedRecipient, IdempotencyClaim, NewEvent, NewMessage, ProviderReport, RecipientStatus, RecipientUpdate, Store, StoredMessage,
  Webhook, WebhookAttempt, WebhookDelivery, WebhookStatus,
} from '../store.ts';
import type { SendAllowance, SendCounts, SendLimits } from '../rate-windows.ts';
import { SQLITE_MIGRATIONS } from './migrations.ts';
import { createRateCounters } from './rate-counters.ts';
import { SqliteAccounts } from './accounts.ts';
import { statementCache, type Prepared } from './statement-cache.ts';
import { SqliteAdmin } from './admin.ts';
import { SqliteDomains } from './domains.ts';
import { SqliteMtaStsPolicies } from './mta-sts-policies.ts';
import { SqliteProviderReports } from './provider-reports.ts';
import { SqliteWebhooks } from './webhooks.ts';
import { SqliteDashboard } from './dashboard.ts';
import { SqliteQueries } from './queries.ts';
import { claimedRow, leasedOnEnqueue, leavesWork } from '../rows.ts';
import { eventRow } from '../event-row.ts';
import { KeyWatchers } from '../key-watchers.ts';
import { startCheckpointer, type Checkpointer } from './checkpointer.ts';
import { openConnection, SQLITE_CHECKPOINT_PAGES } from './connection.ts';

type Row = Record<string, unknown>;

/**
 * The scheduler's queries, run for every claim and every idle look at the queue: each walks an index
 * (test/contract/sqlite.test.ts checks their plans). INDEXED BY: without statistics SQLite chose
 * recipients_status and sorted every queued and deferred row per claim, O(queue), found by
 * `npm run bench`'s deep queue; the due index is already in order. Leased rows are skipped as they come.
 */
export const DUE_SQL = {
  claim: `SELECT r.*, m.sender, m.created_at AS message_created_at FROM recipients r INDEXED BY recipients_due
    JOIN messages m ON m.id = r.message_id
    WHERE r.status IN ('queued', 'deferred') AND r.next_attempt_at <= ? AND (r.lease_until IS NULL OR r.lease_until <= ?)
    ORDER BY r.next_attempt_at LIMIT ?`,
  nextDue: `SELECT next_attempt_at AS t FROM recipients INDEXED BY recipients_due WHERE status IN ('queued', 'deferred')
    AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_attempt_at LIMIT 1`,
  renewLeases: 'UPDATE recipients SET lease_until = ? WHERE lease_owner = ? AND id IN (SELECT value FROM json_each(?))',
} as const;

export function openSqliteStore(dataDir: string, file = 'smarthost.db'): SqliteStore {
  mkdirSync(dataDir, { recursive: true });
  return new SqliteStore(join(dataDir, file));
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly grouped: GroupCommit<GroupedWrite>;
  private readonly wal: WalSync;
  private readonly checkpointer: Checkpointer;
  private readonly watchers = new Set<() => void>();
  private readonly keyWatchers = new KeyWatchers();
  private readonly rates: ReturnType<typeof createRateCounters>;
  private readonly webhooks: SqliteWebhooks;
  private readonly accounts: SqliteAccounts;
  private readonly mtaSts: SqliteMtaStsPolicies;
  private readonly providerReports: SqliteProviderReports;
  private readonly domains: SqliteDomains;
  private readonly admin: SqliteAdmin;
  private readonly dashboard: SqliteDashboard;
  private readonly queries: SqliteQueries;
  private readonly prepared: Prepared;

  /** `syncWal`: how a group commit is made durable; tests replace it to watch the order. */
  constructor(readonly path: string, syncWal?: () => Promise<void>) {
    this.db = openConnection(path);
    this.migrate();
    this.wal = openWalSync(path);
    this.checkpointer = startCheckpointer(path, (err) => {
      // The connection checkpoints on its own again, on the event loop, as before the thread.
      try {
        if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${SQLITE_CHECKPOINT_PAGES}`);
      } catch {
        // Busy or closing: the backstop of 10,000 pages stays.
      }
      process.emitWarning(`${err.message}; SQLite checkpoints the WAL itself from now on`, 'SmarthostWarning');
    });
    this.prepared = statementCache(this.db);
    this.rates = createRateCounters(this.db);
    this.webhooks = new SqliteWebhooks(this.db, eventRow);
    this.accounts = new SqliteAccounts(this.db, this.prepared);
    this.mtaSts = new SqliteMtaStsPolicies(this.db);
    this.providerReports = new SqliteProviderReports(this.db, this.eventInserter());
    this.domains = new SqliteDomains(this.db);
    this.admin = new SqliteAdmin(this.db, this.eventInserter());
    this.dashboard = new SqliteDashboard(this.db);
    this.queries = new SqliteQueries(this.db);
    const writeBatch = groupedWriter(this.db, this.eventInserter());
    // Committed without SQLite's own fsync, which would hold the event loop; the group commit then
    // syncs the WAL on the thread pool before it answers a new message (delivery results need not wait).
    this.grouped = createGroupCommit((writes: GroupedWrite[]) => this.withoutSync(() => writeBatch(writes)), {
      sync: syncWal ?? this.wal.sync,
      durable: (w) => w.kind === 'message',
      afterBatch: (writes) => {
        this.checkpointer.committed(...batchSize(writes));
        return this.checkpointer.due();
      },
    });
  }

  /** Runs `write` at synchronous=NORMAL. Set with db.pragma each time: a cached PRAGMA statement does not reliably apply. */
  private withoutSync<R>(write: () => R): R {
    this.db.pragma('synchronous = NORMAL');
    try {
      return write();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const applied = (this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
    SQLITE_MIGRATIONS.forEach((sql, i) => {
      const version = i + 1;
      if (version <= applied) return;
      this.db.transaction(() => {
        this.db.exec(sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(version, Date.now());
      })();
    });
  }

  private eventInserter(): (e: NewEvent) => void {
    const stmt = this.db.prepare(
      `INSERT INTO events (message_id, recipient, type, at, route, relay, tls, reply_code, reply_enhanced, reply_text, attempt, detail, category, provider_message_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    return (e) =>
      void stmt.run(e.messageId, e.recipient, e.type, e.at, e.route ?? null, e.relay ?? null, e.tls ?? null,
        e.reply?.code ?? null, e.reply?.enhanced ?? null, e.reply?.text ?? null, e.attempt ?? null, e.detail ?? null, e.category ?? null,
        e.providerMessageId ?? null);
  }

  async enqueue(msg: NewMessage): Promise<ClaimedRecipient[]> {
    const write: GroupedWrite = { kind: 'message', message: msg, ids: [] };
    await this.grouped.write(write);
    if (leavesWork(msg)) this.wakeWatchers();
    return leasedOnEnqueue(msg, write.ids);
  }

  async getMessage(id: string): Promise<StoredMessage | undefined> {
    const r = this.prepared('SELECT * FROM messages WHERE id = ?').get(id) as Row | undefined;
    return r && {
      id: r.id as string, sender: r.sender as string, raw: r.raw as Buffer, source: r.source as StoredMessage['source'],
      credential: r.credential as string | null, clientAddress: r.client_address as string | null,
      size: r.size as number, createdAt: r.created_at as number,
    };
  }

  async claimDue({ now, limit, leaseMs, owner }: { now: number; limit: number; leaseMs: number; owner: string }): Promise<ClaimedRecipient[]> {
    // After a failed sync no result can be recorded: delivering would only send the same mail again and again.
    const failed = this.grouped.failure();
    if (failed !== undefined) throw failed;
    const claim = this.db.transaction(() => {
      const rows = this.prepared(DUE_SQL.claim).all(now, now, limit) as Row[];
      const lease = this.prepared('UPDATE recipients SET lease_owner = ?, lease_until = ? WHERE id = ?');
      for (const r of rows) lease.run(owner, now + leaseMs, r.id);
      return rows.map(claimedRow);
    });
    // A lease need not survive a power loss: losing one only makes its recipient due again (at-least-once,
    // as after any crash). So a claim commits without a sync of its own; the next synced commit covers it.
    // IMMEDIATE: take the write lock first (waiting busy_timeout for another process, a CLI retry), rather
    // than read, then fail with SQLITE_BUSY when that process committed between our read and our write.
    return this.withoutSync(() => claim.immediate());
  }

  recordResults(updates: RecipientUpdate[], owner: string): Promise<void> {
    // Deliveries that finish together share a commit; they are answered without waiting for a sync
    // (group-commit.ts: a result lost to a power cut delivers its recipient again).
    return this.grouped.write({ kind: 'results', updates, owner });
  }

  async renewLeases(owner: string, until: number, recipientIds: readonly number[]): Promise<void> {
    this.prepared(DUE_SQL.renewLeases).run(until, owner, JSON.stringify(recipientIds));
  }

  async releaseLeases(owner: string, recipientIds?: readonly number[]): Promise<void> {
    if (!recipientIds) return void this.db.prepare('UPDATE recipients SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?').run(owner);
    const release = this.db.prepare('UPDATE recipients SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND id = ?');
    this.db.transaction(() => recipientIds.forEach((id) => release.run(owner, id)))();
  }

  async nextDueAt(now: number): Promise<number | undefined> {
    const r = this.prepared(DUE_SQL.nextDue).get(now) as { t: number } | undefined;
    return r?.t;
  }

  async addEvent(event: NewEvent): Promise<void> {
    this.eventInserter()(event);
  }

  // Messages and events as the API, CLI and dashboard read them: see queries.ts.
  listEvents: Store['listEvents'] = (...a) => this.queries.listEvents(...a);
  queryEvents: Store['queryEvents'] = (...a) => this.queries.queryEvents(...a);
  listMessages: Store['listMessages'] = (...a) => this.queries.listMessages(...a);
  getMessageSummary: Store['getMessageSummary'] = (...a) => this.queries.getMessageSummary(...a);

  async retryMessage(id: string, now: number): Promise<number> {
    const changes = this.db.prepare(
      `UPDATE recipients SET next_attempt_at = ?, updated_at = ? WHERE message_id = ? AND status IN ('queued', 'deferred')`,
    ).run(now, now, id).changes;
    if (changes > 0) this.wakeWatchers();
    return changes;
  }

  async deleteMessage(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM events WHERE message_id = ?').run(id);
      return this.db.prepare('DELETE FROM messages WHERE id = ?').run(id).changes > 0;
    })();
  }

  async ready(): Promise<void> {
    const failed = this.grouped.failure();
    if (failed !== undefined)
      throw new Error(`store cannot commit: a sync of its write-ahead log failed (${(failed as Error).message ?? failed}); nothing is ` +
        'accepted or delivered until smarthost restarts: check the disk, then reboot or remount it before restarting', { cause: failed });
    try {
      this.prepared('SELECT 1 FROM schema_migrations LIMIT 1').get();
    } catch (err) {
      throw new Error(`store unreachable: ${(err as Error).message}`, { cause: err });
    }
  }

  async countPending(): Promise<number> {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM recipients WHERE status IN ('queued', 'deferred')`).get() as { n: number }).n;
  }

  async countByStatus(): Promise<Partial<Record<RecipientStatus, number>>> {
    const rows = this.db.prepare('SELECT status, COUNT(*) AS n FROM recipients GROUP BY status').all() as { status: RecipientStatus; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  async consumeSend(principal: string, now: number, limits: SendLimits): Promise<SendAllowance> {
    return this.rates.consume(principal, now, limits);
  }

  async sendCounts(principal: string, now: number): Promise<SendCounts> {
    return this.rates.counts(principal, now);
  }

  async addAuthFailure(client: string, now: number, windowMs: number): Promise<number> {
    return this.rates.addAuthFailure(client, now, windowMs);
  }

  async authFailures(client: string, now: number, windowMs: number): Promise<number> {
    return this.rates.authFailures(client, now, windowMs);
  }

  async claimIdempotencyKey(scope: string, key: string, requestHash: string, now: number, ttlMs: number): Promise<IdempotencyClaim> {
    return this.db.transaction((): IdempotencyClaim => {
      this.db.prepare('DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND created_at < ?').run(scope, key, now - ttlMs);
      const r = this.db.prepare('SELECT * FROM idempotency_keys WHERE scope = ? AND key = ?').get(scope, key) as Row | undefined;
      if (!r) {
        this.db.prepare('INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES (?, ?, ?, ?)').run(scope, key, requestHash, now);
        return { state: 'new' };
      }
      if (r.status == null) return { state: 'pending', requestHash: r.request_hash as string };
      return { state: 'done', requestHash: r.request_hash as string, status: r.status as number, body: r.body as string };
    })();
  }

  async completeIdempotencyKey(scope: string, key: string, status: number, body: string): Promise<void> {
    this.db.prepare('UPDATE idempotency_keys SET status = ?, body = ? WHERE scope = ? AND key = ?').run(status, body, scope, key);
  }

  async purgeExpired(cut: { idempotencyBefore: number; countersBefore: number; providerEventsBefore?: number }): Promise<number> {
    return this.db.transaction(() =>
      this.db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?').run(cut.idempotencyBefore).changes +
      this.db.prepare('DELETE FROM rate_counters WHERE window_start < ?').run(cut.countersBefore).changes +
      (cut.providerEventsBefore === undefined ? 0 : this.providerReports.purge(cut.providerEventsBefore)))();
  }

  async findDeliveryByProviderId(providerMessageId: string, recipient?: string) {
    return this.providerReports.find(providerMessageId, recipient);
  }

  async recordProviderReport(report: ProviderReport): Promise<boolean> {
    return this.providerReports.record(report);
  }

  async releaseIdempotencyKey(scope: string, key: string): Promise<void> {
    this.db.prepare('DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND status IS NULL').run(scope, key);
  }

  async addWebhook(w: Webhook): Promise<void> {
    this.webhooks.add(w);
  }

  async listWebhooks(): Promise<WebhookStatus[]> {
    return this.webhooks.list();
  }

  async removeWebhook(id: string): Promise<boolean> {
    return this.webhooks.remove(id);
  }

  async claimWebhookDeliveries(opts: { now: number; limit: number; leaseMs: number; owner: string }): Promise<WebhookDelivery[]> {
    return this.webhooks.claim(opts);
  }

  async recordWebhookAttempt(a: WebhookAttempt): Promise<void> {
    this.webhooks.record(a);
  }

  async listWebhookAttempts(webhookId: string, limit: number): Promise<(WebhookAttempt & { eventId: number })[]> {
    return this.webhooks.attempts(webhookId, limit);
  }

  async replayWebhook(id: string, now: number, since?: number): Promise<number> {
    return this.webhooks.replay(id, now, since);
  }

  // Another process on the same file (a CLI `queue retry`) cannot reach these:
  // the scheduler's idle poll finds that work.
  watchWork(listener: () => void): () => void {
    this.watchers.add(listener);
    // Nothing can have been missed in-process, but the contract promises a first call once the watch is set up.
    setImmediate(() => this.watchers.has(listener) && listener());
    return () => void this.watchers.delete(listener);
  }

  private wakeWatchers(): void {
    for (const w of [...this.watchers]) w();
  }

  // The admin API's extras: see admin.ts.
  cancelMessage: Store['cancelMessage'] = async (...a) => this.admin.cancelMessage(...a);
  listWebhookDeliveries: Store['listWebhookDeliveries'] = async (...a) => this.admin.listWebhookDeliveries(...a);
  replayWebhookDelivery: Store['replayWebhookDelivery'] = async (...a) => this.admin.replayWebhookDelivery(...a);
  setWebhookSecret: Store['setWebhookSecret'] = async (...a) => this.admin.setWebhookSecret(...a);
  deliveryStats: Store['deliveryStats'] = async (...a) => this.admin.deliveryStats(...a);
  touchApiKey: Store['touchApiKey'] = (...a) => this.accounts.touchApiKey(...a);
  touchCredential: Store['touchCredential'] = (...a) => this.accounts.touchCredential(...a);

  // Credentials, API keys, suppressions and DKIM keys: see accounts.ts.
  getCredential: Store['getCredential'] = (...a) => this.accounts.getCredential(...a);
  listCredentials: Store['listCredentials'] = (...a) => this.accounts.listCredentials(...a);
  upsertCredential: Store['upsertCredential'] = (...a) => this.accounts.upsertCredential(...a);
  insertCredential: Store['insertCredential'] = (...a) => this.accounts.insertCredential(...a);
  setCredentialDisabled: Store['setCredentialDisabled'] = (...a) => this.accounts.setCredentialDisabled(...a);
  removeCredential: Store['removeCredential'] = (...a) => this.accounts.removeCredential(...a);
  createApiKey: Store['createApiKey'] = (...a) => this.accounts.createApiKey(...a);
  findApiKey: Store['findApiKey'] = (...a) => this.accounts.findApiKey(...a);
  listApiKeys: Store['listApiKeys'] = (...a) => this.accounts.listApiKeys(...a);
  revokeApiKey: Store['revokeApiKey'] = (...a) => this.accounts.revokeApiKey(...a);
  updateApiKey: Store['updateApiKey'] = (...a) => this.accounts.updateApiKey(...a);
  suppressedAmong: Store['suppressedAmong'] = (...a) => this.accounts.suppressedAmong(...a);
  addSuppression: Store['addSuppression'] = (...a) => this.accounts.addSuppression(...a);
  removeSuppression: Store['removeSuppression'] = (...a) => this.accounts.removeSuppression(...a);
  listSuppressions: Store['listSuppressions'] = (...a) => this.accounts.listSuppressions(...a);
  addDomainKey: Store['addDomainKey'] = this.keyWatchers.announcing((...a) => this.accounts.addDomainKey(...a));
  listDomainKeys: Store['listDomainKeys'] = (...a) => this.accounts.listDomainKeys(...a);
  removeDomain: Store['removeDomain'] = this.keyWatchers.announcing((...a) => this.accounts.removeDomain(...a));
  getMtaStsPolicy: Store['getMtaStsPolicy'] = (...a) => this.mtaSts.getMtaStsPolicy(...a);
  putMtaStsPolicy: Store['putMtaStsPolicy'] = (...a) => this.mtaSts.putMtaStsPolicy(...a);
  // Rotation, verification state and unsigned mail: see domains.ts.
  rotateDomainKeys: Store['rotateDomainKeys'] = this.keyWatchers.announcing((...a) => this.domains.rotateDomainKeys(...a));
  retireDomainKey: Store['retireDomainKey'] = this.keyWatchers.announcing((...a) => this.domains.retireDomainKey(...a));
  watchDomainKeys: Store['watchDomainKeys'] = (listener) => this.keyWatchers.watch(listener);
  saveDomainCheck: Store['saveDomainCheck'] = (...a) => this.domains.saveDomainCheck(...a);
  listDomainChecks: Store['listDomainChecks'] = (...a) => this.domains.listDomainChecks(...a);
  unsignedMail: Store['unsignedMail'] = (...a) => this.domains.unsignedMail(...a);

  // Admin password, sessions, the live cursor and route health: see dashboard.ts.
  getAdminPasswordHash: Store['getAdminPasswordHash'] = (...a) => this.dashboard.getAdminPasswordHash(...a);
  setAdminPasswordHash: Store['setAdminPasswordHash'] = (...a) => this.dashboard.setAdminPasswordHash(...a);
  createAdminSession: Store['createAdminSession'] = (...a) => this.dashboard.createAdminSession(...a);
  getAdminSession: Store['getAdminSession'] = (...a) => this.dashboard.getAdminSession(...a);
  touchAdminSession: Store['touchAdminSession'] = (...a) => this.dashboard.touchAdminSession(...a);
  deleteAdminSession: Store['deleteAdminSession'] = (...a) => this.dashboard.deleteAdminSession(...a);
  purgeAdminSessions: Store['purgeAdminSessions'] = (...a) => this.dashboard.purgeAdminSessions(...a);
  lastEventId: Store['lastEventId'] = (...a) => this.dashboard.lastEventId(...a);
  lastRouteEvents: Store['lastRouteEvents'] = (...a) => this.dashboard.lastRouteEvents(...a);

  async close(): Promise<void> {
    // Let the group commit write and sync what it holds before the handle goes away.
    await this.grouped.close();
    await this.checkpointer.close();
    if (!this.db.open) return;
    this.db.close();
    this.wal.close();
  }
}
