// The shared store for several nodes: one PostgreSQL database holds the queue,
// bodies (bytea), credentials and everything else that must be global. Nodes
// claim due recipients with FOR UPDATE SKIP LOCKED plus a lease, so a node that
// dies only delays its claims until the lease runs out. Commits are flushed
// to disk before they return (synchronous_commit is never off for our sessions).
import pg from 'pg';
import { createAsyncGroupCommit } from '../async-group-commit.ts';
import { claimedRow, leasedOnEnqueue, leavesWork } from '../rows.ts';
import type {
  ClaimedRecipient, NewEvent, NewMessage, RecipientUpdate, Store, StoredMessage,
} from '../store.ts';
import { applyMigrations } from './migrate.ts';
import { insertEvents, insertMessages } from './writes.ts';
import { addAuthFailure, authFailures, consumeSend, sendCounts } from './rate-counters.ts';
import { PostgresAccounts } from './accounts.ts';
import { PostgresMtaStsPolicies } from './mta-sts-policies.ts';
import { PostgresDomains } from './domains.ts';
import { claimIdempotencyKey, completeIdempotencyKey, purgeExpired, releaseIdempotencyKey } from './idempotency.ts';
import { PostgresQueries } from './queries.ts';
import { PostgresWebhooks } from './webhooks.ts';
import { PostgresProviderReports } from './provider-reports.ts';
import { PostgresAdmin } from './admin.ts';
import { PostgresDashboard } from './dashboard.ts';
import { eventRow } from '../event-row.ts';
import { KeyWatchers } from '../key-watchers.ts';

type Row = Record<string, unknown>;

/** NOTIFY channel: a commit made work due (enqueue, retry); idle nodes LISTEN on it. */
const WORK_CHANNEL = 'smarthost_work';
/** A database that cannot be reached fails the operation (451 to the client) instead of hanging it. */
const CONNECT_TIMEOUT_MS = 10_000;
/** After a lost LISTEN connection; meanwhile the scheduler's idle poll still finds work. */
const RELISTEN_DELAY_MS = 1_000;

// BIGINT columns hold millisecond times and ids, all far below 2^53: read them
// as numbers like SQLite's INTEGER, for this pool only (not pg's global parsers).
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** Opens the pool and brings the schema up to date; the URL is a libpq-style postgres:// URL. */
export async function openPostgresStore(url: string): Promise<PostgresStore> {
  const store = new PostgresStore(url);
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    // Name the database (never the password) so an operator knows which URL failed.
    const u = new URL(url);
    throw new Error(`PostgreSQL at ${u.host}${u.pathname}: ${(err as Error).message}`, { cause: err });
  }
  return store;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly enqueueGrouped: (write: { message: NewMessage; ids: number[] }) => Promise<void>;
  /** Enqueues not yet answered: close() waits for their commit. */
  private readonly enqueuing = new Set<Promise<void>>();
  private readonly watchers = new Set<() => void>();
  private readonly keyWatchers = new KeyWatchers();
  private listenClient: pg.Client | undefined;
  private relistenTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private readonly webhooks: PostgresWebhooks;
  private readonly accounts: PostgresAccounts;
  private readonly mtaSts: PostgresMtaStsPolicies;
  private readonly domains: PostgresDomains;
  private readonly queries: PostgresQueries;
  private readonly providerReports: PostgresProviderReports;
  private readonly admin: PostgresAdmin;
  private readonly dashboard: PostgresDashboard;
  /** Statements sent on any of our connections (see statementCount). */
  private statements = 0;

  constructor(readonly url: string) {
    this.pool = new pg.Pool({
      connectionString: url, types, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true, fallback_application_name: 'smarthost',
      onConnect: (c) => this.prepareConnection(c),
    });
    // An idle pooled connection that breaks (server restart) emits here; the
    // pool drops it and the next query opens a new one. Unhandled, it would
    // crash the process.
    this.pool.on('error', () => {});
    this.accounts = new PostgresAccounts(this.pool);
    this.mtaSts = new PostgresMtaStsPolicies(this.pool);
    this.domains = new PostgresDomains(this.pool, (fn) => this.tx(fn));
    this.queries = new PostgresQueries(this.pool);
    this.admin = new PostgresAdmin(this.pool);
    this.dashboard = new PostgresDashboard(this.pool);
    this.webhooks = new PostgresWebhooks(this.pool, (fn) => this.tx(fn), eventRow);
    this.providerReports = new PostgresProviderReports(this.pool, (fn) => this.tx(fn), insertEvents);
    this.enqueueGrouped = createAsyncGroupCommit((writes: { message: NewMessage; ids: number[] }[]) => this.tx(async (c) => {
      const ids = await insertMessages(c, writes.map((w) => w.message));
      writes.forEach((w, i) => (w.ids = ids[i]!));
      // Delivered to listeners only when this transaction commits; recipients leased to their node need no one.
      if (writes.some((w) => leavesWork(w.message))) await c.query(`NOTIFY ${WORK_CHANNEL}`);
    }));
  }

  /**
   * Runs on each new pooled connection before the pool hands it out (pg-pool
   * awaits it, so it never overlaps the connection's first query; if it fails,
   * the pool drops the connection and that query fails). A 250 must mean "on
   * disk", as SQLite's synchronous=FULL does: undo a server or role default of
   * off for our sessions; every other level flushes locally, and the operator's
   * choice about standbys (remote_write, remote_apply) stands.
   */
  private async prepareConnection(c: pg.ClientBase): Promise<void> {
    this.countStatements(c);
    await c.query(`SELECT set_config('synchronous_commit', 'on', false) WHERE current_setting('synchronous_commit') = 'off'`);
  }

  statementCount(): number {
    return this.statements;
  }

  /**
   * Counts every query() on this client: pool.query and transaction clients both end
   * here (one call is one statement, or one simple-protocol string: the migrations).
   */
  private countStatements(client: pg.ClientBase): void {
    const query = client.query;
    client.query = ((...args: unknown[]) => {
      this.statements++;
      return (query as (...a: unknown[]) => unknown).apply(client, args);
    }) as typeof client.query;
  }

  migrate(): Promise<void> {
    return applyMigrations(this.pool);
  }

  /** Runs `fn` in one transaction on one pooled connection. */
  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      const result = await fn(c);
      await c.query('COMMIT');
      return result;
    } catch (err) {
      await c.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      c.release(broken);
    }
  }

  async enqueue(msg: NewMessage): Promise<ClaimedRecipient[]> {
    const write = { message: msg, ids: [] as number[] };
    const p = this.enqueueGrouped(write);
    this.enqueuing.add(p);
    const done = () => void this.enqueuing.delete(p);
    p.then(done, done);
    await p;
    return leasedOnEnqueue(msg, write.ids);
  }

  async getMessage(id: string): Promise<StoredMessage | undefined> {
    const r = (await this.pool.query('SELECT * FROM messages WHERE id = $1', [id])).rows[0] as Row | undefined;
    return r && {
      id: r.id as string, sender: r.sender as string, raw: r.raw as Buffer, source: r.source as StoredMessage['source'],
      credential: r.credential as string | null, clientAddress: r.client_address as string | null,
      size: r.size as number, createdAt: r.created_at as number,
    };
  }

  async claimDue({ now, limit, leaseMs, owner }: { now: number; limit: number; leaseMs: number; owner: string }): Promise<ClaimedRecipient[]> {
    // SKIP LOCKED: rows another node is claiming right now are passed over, not
    // waited for; a row whose claim committed meanwhile is re-checked against
    // the lease condition before it is locked, so no row is leased twice.
    const { rows } = await this.pool.query(
      `WITH due AS (
         SELECT id FROM recipients
         WHERE status IN ('queued', 'deferred') AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
         ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
       ), leased AS (
         UPDATE recipients r SET lease_owner = $3, lease_until = $4 FROM due WHERE r.id = due.id RETURNING r.*
       )
       SELECT leased.*, m.sender, m.created_at AS message_created_at
       FROM leased JOIN messages m ON m.id = leased.message_id ORDER BY leased.next_attempt_at, leased.id`,
      [now, limit, owner, now + leaseMs],
    );
    return (rows as Row[]).map(claimedRow);
  }

  async recordResults(updates: RecipientUpdate[], owner: string): Promise<void> {
    if (updates.length === 0) return;
    // One statement, so one round trip and atomic without BEGIN/COMMIT. The
    // attempt is an event either way; the row changes only for the lease holder.
    const ins = insertEvents(updates.map((u) => u.event), 9);
    await this.pool.query(
      `WITH u AS (
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[], $5::text[], $6::bigint[], $8::text[])
           AS u(id, status, attempts, next_attempt_at, last_reply, at, resume_route)
       ), updated AS (
         UPDATE recipients r SET status = u.status, attempts = u.attempts, next_attempt_at = COALESCE(u.next_attempt_at, r.next_attempt_at),
           last_reply = u.last_reply, resume_route = u.resume_route, lease_owner = NULL, lease_until = NULL, updated_at = u.at
         FROM u WHERE r.id = u.id AND r.lease_owner = $7
       )
       ${ins.sql}`,
      [updates.map((u) => u.recipientId), updates.map((u) => u.status), updates.map((u) => u.attempts),
        updates.map((u) => u.nextAttemptAt ?? null), updates.map((u) => u.lastReply), updates.map((u) => u.event.at), owner,
        updates.map((u) => u.resumeRoute ?? null), ...ins.params],
    );
  }

  async renewLeases(owner: string, until: number, recipientIds: readonly number[]): Promise<void> {
    await this.pool.query('UPDATE recipients SET lease_until = $1 WHERE lease_owner = $2 AND id = ANY($3::bigint[])', [until, owner, [...recipientIds]]);
  }

  async releaseLeases(owner: string, recipientIds?: readonly number[]): Promise<void> {
    await this.pool.query(
      'UPDATE recipients SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1 AND ($2::bigint[] IS NULL OR id = ANY($2))',
      [owner, recipientIds ? [...recipientIds] : null],
    );
  }

  async ready(): Promise<void> {
    await this.pool.query('SELECT 1').catch((err: Error) => {
      throw new Error(`store unreachable: ${err.message}`, { cause: err });
    });
  }

  async nextDueAt(now: number): Promise<number | undefined> {
    const { rows } = await this.pool.query(
      `SELECT next_attempt_at AS t FROM recipients WHERE status IN ('queued', 'deferred')
       AND (lease_until IS NULL OR lease_until <= $1) ORDER BY next_attempt_at LIMIT 1`,
      [now],
    );
    return (rows[0] as { t: number } | undefined)?.t;
  }

  async addEvent(event: NewEvent): Promise<void> {
    const ins = insertEvents([event], 1);
    await this.pool.query(ins.sql, ins.params);
  }

  /** Attaches recipients to message rows with one query for the whole page. */
  async retryMessage(id: string, now: number): Promise<number> {
    // One statement: the NOTIFY goes out with its commit, and only when something became due.
    const { rows } = await this.pool.query(
      `WITH due AS (
         UPDATE recipients SET next_attempt_at = $2, updated_at = $2 WHERE message_id = $1 AND status IN ('queued', 'deferred') RETURNING 1
       )
       SELECT count(*) AS n, CASE WHEN count(*) > 0 THEN pg_notify('${WORK_CHANNEL}', '') END FROM due`,
      [id, now],
    );
    return rows[0].n as number;
  }

  async deleteMessage(id: string): Promise<boolean> {
    return this.tx(async (c) => {
      await c.query('DELETE FROM events WHERE message_id = $1', [id]);
      return ((await c.query('DELETE FROM messages WHERE id = $1', [id])).rowCount ?? 0) > 0;
    });
  }

  // Reading what happened (messages, events, counts): see queries.ts.
  listEvents: Store['listEvents'] = (...a) => this.queries.listEvents(...a);
  queryEvents: Store['queryEvents'] = (...a) => this.queries.queryEvents(...a);
  listMessages: Store['listMessages'] = (...a) => this.queries.listMessages(...a);
  getMessageSummary: Store['getMessageSummary'] = (...a) => this.queries.getMessageSummary(...a);
  countPending: Store['countPending'] = (...a) => this.queries.countPending(...a);
  countByStatus: Store['countByStatus'] = (...a) => this.queries.countByStatus(...a);

  // The admin API's extras: see admin.ts.
  cancelMessage: Store['cancelMessage'] = (...a) => this.admin.cancelMessage(...a);
  listWebhookDeliveries: Store['listWebhookDeliveries'] = (...a) => this.admin.listWebhookDeliveries(...a);
  replayWebhookDelivery: Store['replayWebhookDelivery'] = (...a) => this.admin.replayWebhookDelivery(...a);
  setWebhookSecret: Store['setWebhookSecret'] = (...a) => this.admin.setWebhookSecret(...a);
  deliveryStats: Store['deliveryStats'] = (...a) => this.admin.deliveryStats(...a);
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

  // Rate and AUTH-failure counters: see rate-counters.ts.
  consumeSend: Store['consumeSend'] = (principal, now, limits) => this.tx((c) => consumeSend(c, principal, now, limits));
  sendCounts: Store['sendCounts'] = (principal, now) => sendCounts(this.pool, principal, now);
  addAuthFailure: Store['addAuthFailure'] = (client, now, windowMs) => addAuthFailure(this.pool, client, now, windowMs);
  authFailures: Store['authFailures'] = (client, now, windowMs) => authFailures(this.pool, client, now, windowMs);

  // Idempotency keys: see idempotency.ts.
  claimIdempotencyKey: Store['claimIdempotencyKey'] = (...a) => this.tx((c) => claimIdempotencyKey(c, ...a));
  completeIdempotencyKey: Store['completeIdempotencyKey'] = (...a) => completeIdempotencyKey(this.pool, ...a);
  releaseIdempotencyKey: Store['releaseIdempotencyKey'] = (...a) => releaseIdempotencyKey(this.pool, ...a);
  purgeExpired: Store['purgeExpired'] = async (cut) =>
    (await purgeExpired(this.pool, cut)) + (cut.providerEventsBefore === undefined ? 0 : await this.providerReports.purge(cut.providerEventsBefore));

  // Provider webhooks: see provider-reports.ts.
  findDeliveryByProviderId: Store['findDeliveryByProviderId'] = (...a) => this.providerReports.find(...a);
  recordProviderReport: Store['recordProviderReport'] = (r) => this.providerReports.record(r);

  // Webhooks: see webhooks.ts.
  addWebhook: Store['addWebhook'] = (w) => this.webhooks.add(w);
  listWebhooks: Store['listWebhooks'] = () => this.webhooks.list();
  removeWebhook: Store['removeWebhook'] = (id) => this.webhooks.remove(id);
  claimWebhookDeliveries: Store['claimWebhookDeliveries'] = (opts) => this.webhooks.claim(opts);
  recordWebhookAttempt: Store['recordWebhookAttempt'] = (a) => this.webhooks.record(a);
  listWebhookAttempts: Store['listWebhookAttempts'] = (id, limit) => this.webhooks.attempts(id, limit);
  replayWebhook: Store['replayWebhook'] = (id, now, since) => this.webhooks.replay(id, now, since);

  watchWork(listener: () => void): () => void {
    this.watchers.add(listener);
    this.listen();
    return () => void this.watchers.delete(listener);
  }

  private wakeWatchers(): void {
    for (const w of [...this.watchers]) w();
  }

  /** One dedicated connection LISTENs for the whole process (a pooled one would be handed to other queries). */
  private listen(): void {
    if (this.listenClient || this.closing) return;
    const client = new pg.Client({
      connectionString: this.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true, fallback_application_name: 'smarthost listen',
    });
    this.listenClient = client;
    this.countStatements(client);
    client.on('notification', () => this.wakeWatchers());
    const lost = () => {
      if (this.listenClient !== client) return;
      this.listenClient = undefined;
      client.end().catch(() => {});
      if (!this.closing) this.relistenTimer = setTimeout(() => this.listen(), RELISTEN_DELAY_MS);
    };
    client.on('error', lost);
    client.on('end', lost);
    client.connect().then(() => client.query(`LISTEN ${WORK_CHANNEL}`)).then(
      // Work committed before LISTEN took effect sent its NOTIFY to nobody: look once.
      () => this.wakeWatchers(),
      lost,
    );
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      clearTimeout(this.relistenTimer);
      const listener = this.listenClient;
      this.listenClient = undefined;
      await listener?.end().catch(() => {});
      // Enqueues already accepted still commit (and their callers hear so) before the pool goes.
      await Promise.allSettled([...this.enqueuing]);
      await this.pool.end();
    })());
  }
}
