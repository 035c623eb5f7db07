// The PostgreSQL side of webhooks: the same outbox as SQLite (filled by the
// events_to_outbox trigger), claimed across nodes with FOR UPDATE SKIP LOCKED.
import type pg from 'pg';
import type { EventType, StoredEvent, Webhook, WebhookAttempt, WebhookDelivery, WebhookStatus } from '../store.ts';

type Row = Record<string, unknown>;
type Tx = <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>;

const webhookRow = (r: Row, prefix = ''): Webhook => ({
  id: r[`${prefix}id`] as string, url: r[`${prefix}url`] as string, secret: r[`${prefix}secret`] as string,
  events: r[`${prefix}events`] as EventType[], createdAt: r[`${prefix}created_at`] as number,
});

export class PostgresWebhooks {
  constructor(private readonly pool: pg.Pool, private readonly tx: Tx, private readonly eventRow: (r: Row) => StoredEvent) {}

  async add(w: Webhook): Promise<void> {
    await this.pool.query('INSERT INTO webhooks (id, url, secret, events, created_at) VALUES ($1, $2, $3, $4, $5)', [w.id, w.url, w.secret, w.events, w.createdAt]);
  }

  async list(): Promise<WebhookStatus[]> {
    const { rows } = await this.pool.query(
      `SELECT w.*,
         count(*) FILTER (WHERE o.status = 'pending') AS pending,
         count(*) FILTER (WHERE o.status = 'delivered') AS delivered,
         count(*) FILTER (WHERE o.status = 'failed') AS failed,
         (array_agg(o.last_error ORDER BY o.last_attempt_at DESC) FILTER (WHERE o.last_error IS NOT NULL))[1] AS last_error,
         max(o.last_attempt_at) AS last_attempt_at
       FROM webhooks w LEFT JOIN webhook_outbox o ON o.webhook_id = w.id GROUP BY w.id ORDER BY w.created_at`,
    );
    return (rows as Row[]).map((r) => ({
      ...webhookRow(r), pending: Number(r.pending), delivered: Number(r.delivered), failed: Number(r.failed),
      lastError: (r.last_error as string | null) ?? null, lastAttemptAt: (r.last_attempt_at as number | null) ?? null,
    }));
  }

  async remove(id: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM webhooks WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  async claim({ now, limit, leaseMs, owner }: { now: number; limit: number; leaseMs: number; owner: string }): Promise<WebhookDelivery[]> {
    const { rows } = await this.pool.query(
      `WITH due AS (
         SELECT id FROM webhook_outbox WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
         ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED),
       leased AS (
         UPDATE webhook_outbox o SET lease_owner = $3, lease_until = $4 FROM due WHERE o.id = due.id
         RETURNING o.id, o.attempts, o.webhook_id, o.event_id)
       SELECT l.id AS outbox_id, l.attempts, w.id AS w_id, w.url AS w_url, w.secret AS w_secret, w.events AS w_events,
         w.created_at AS w_created_at, e.*, m.sender AS message_sender
       FROM leased l JOIN webhooks w ON w.id = l.webhook_id JOIN events e ON e.id = l.event_id
       LEFT JOIN messages m ON m.id = e.message_id ORDER BY l.id`,
      [now, limit, owner, now + leaseMs],
    );
    return (rows as Row[]).map((r) => ({
      outboxId: r.outbox_id as number, attempts: r.attempts as number, webhook: webhookRow(r, 'w_'), event: this.eventRow(r),
      sender: (r.message_sender as string | null) ?? null,
    }));
  }

  async record(a: WebhookAttempt): Promise<void> {
    await this.tx(async (c) => {
      const r = await c.query(
        `UPDATE webhook_outbox SET status = $1, attempts = attempts + 1, next_attempt_at = COALESCE($2, next_attempt_at),
         last_error = $3, last_attempt_at = $4, lease_owner = NULL, lease_until = NULL WHERE id = $5 AND lease_owner = $6`,
        [a.outcome === 'retry' ? 'pending' : a.outcome, a.nextAttemptAt ?? null, a.error ?? null, a.at, a.outboxId, a.owner],
      );
      if (r.rowCount)
        await c.query('INSERT INTO webhook_attempts (outbox_id, at, status, error, outcome) VALUES ($1, $2, $3, $4, $5)',
          [a.outboxId, a.at, a.status ?? null, a.error ?? null, a.outcome]);
    });
  }

  async attempts(webhookId: string, limit: number): Promise<(WebhookAttempt & { eventId: number })[]> {
    const { rows } = await this.pool.query(
      `SELECT a.*, o.event_id FROM webhook_attempts a JOIN webhook_outbox o ON o.id = a.outbox_id
       WHERE o.webhook_id = $1 ORDER BY a.id DESC LIMIT $2`,
      [webhookId, limit],
    );
    return (rows as Row[]).map((r) => ({
      outboxId: r.outbox_id as number, eventId: r.event_id as number, owner: '', at: r.at as number,
      ...(r.status != null && { status: r.status as number }), ...(r.error != null && { error: r.error as string }),
      outcome: r.outcome as WebhookAttempt['outcome'],
    }));
  }

  async replay(id: string, now: number, since?: number): Promise<number> {
    const r = await this.pool.query(
      `UPDATE webhook_outbox SET status = 'pending', next_attempt_at = $1, attempts = 0 WHERE webhook_id = $2
       AND (status = 'failed' OR ($3::bigint IS NOT NULL AND status = 'delivered' AND created_at >= $3))`,
      [now, id, since ?? null],
    );
    return r.rowCount ?? 0;
  }
}
