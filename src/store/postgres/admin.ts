// The PostgreSQL side of what the admin API and the dashboard need beyond the
// queue itself: cancelling a message, webhook deliveries one by one, the
// signing secret, and the overview's statistics (same queries as sqlite/admin.ts).
import type pg from 'pg';
import { idTime } from '../ids.ts';
import { deliveryRecord, reasonRow } from '../sqlite/admin.ts';
import type { DeliveryStats, StatsQuery, WebhookDeliveryRecord } from '../store.ts';

type Row = Record<string, unknown>;

export class PostgresAdmin {
  constructor(private readonly pool: pg.Pool) {}

  async cancelMessage(id: string, now: number): Promise<number> {
    // One statement: the recipients and their events change together. Clearing the lease fences out a delivery
    // in flight (its result no longer matches lease_owner), so it cannot put the row back in the queue.
    const { rows } = await this.pool.query(
      `WITH cancelled AS (
         UPDATE recipients SET status = 'cancelled', lease_owner = NULL, lease_until = NULL, updated_at = $2
         WHERE message_id = $1 AND status IN ('queued', 'deferred') RETURNING id, address
       ), logged AS (
         INSERT INTO events (message_id, recipient, type, at, detail)
         SELECT $1, address, 'cancelled', $2, 'cancelled by operator' FROM cancelled ORDER BY id RETURNING 1
       )
       SELECT count(*) AS n FROM logged`,
      [id, now],
    );
    return rows[0].n as number;
  }

  async listWebhookDeliveries(webhookId: string, q: { limit: number; before?: number }): Promise<WebhookDeliveryRecord[]> {
    const { rows } = await this.pool.query(
      `SELECT o.*, e.type AS event_type, e.message_id, e.recipient,
         (SELECT a.status FROM webhook_attempts a WHERE a.outbox_id = o.id ORDER BY a.id DESC LIMIT 1) AS last_status
       FROM webhook_outbox o JOIN events e ON e.id = o.event_id
       WHERE o.webhook_id = $1 AND o.id < $2 ORDER BY o.id DESC LIMIT $3`,
      [webhookId, q.before ?? Number.MAX_SAFE_INTEGER, q.limit],
    );
    return (rows as Row[]).map(deliveryRecord);
  }

  async replayWebhookDelivery(webhookId: string, deliveryId: number, now: number): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE webhook_outbox SET status = 'pending', next_attempt_at = $1, attempts = 0, lease_owner = NULL, lease_until = NULL
       WHERE id = $2 AND webhook_id = $3`,
      [now, deliveryId, webhookId],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async setWebhookSecret(id: string, secret: string): Promise<boolean> {
    return ((await this.pool.query('UPDATE webhooks SET secret = $1 WHERE id = $2', [secret, id])).rowCount ?? 0) > 0;
  }

  async deliveryStats(q: StatsQuery): Promise<DeliveryStats> {
    const width = Math.ceil((q.to - q.from) / q.buckets);
    const starts = Array.from({ length: q.buckets }, (_, i) => q.from + i * width);
    // The same queries as SQLite's, on messages_created and events_time_type.
    const [accepted, outcomes, delivered, reasons] = await Promise.all([
      this.pool.query(
        'SELECT (created_at - $1) / $2 AS b, count(*) AS n FROM messages WHERE created_at >= $1 AND created_at < $3 GROUP BY b',
        [q.from, width, q.to],
      ),
      this.pool.query(
        `SELECT (at - $1) / $2 AS b, type, count(*) AS n FROM events
         WHERE at >= $1 AND at < $3 AND type IN ('delivered', 'deferred', 'bounced') GROUP BY b, type`,
        [q.from, width, q.to],
      ),
      this.pool.query(`SELECT at, message_id FROM events WHERE at >= $1 AND at < $2 AND type = 'delivered' ORDER BY at DESC LIMIT $3`, [q.from, q.to, q.latencySample]),
      this.pool.query(
        `SELECT type, category, reply_code, reply_enhanced, max(reply_text) AS sample, count(*) AS n FROM events
         WHERE at >= $1 AND at < $2 AND type IN ('deferred', 'bounced')
         GROUP BY type, category, reply_code, reply_enhanced ORDER BY n DESC, type LIMIT $3`,
        [q.from, q.to, q.topReasons],
      ),
    ]);
    const buckets = starts.map((start) => ({ start, accepted: 0, delivered: 0, deferred: 0, bounced: 0 }));
    for (const a of accepted.rows as { b: number; n: number }[]) buckets[Number(a.b)]!.accepted = Number(a.n);
    for (const o of outcomes.rows as { b: number; type: 'delivered' | 'deferred' | 'bounced'; n: number }[]) buckets[Number(o.b)]![o.type] += Number(o.n);
    return {
      buckets,
      latenciesMs: (delivered.rows as { at: number; message_id: string }[]).map((d) => Math.max(0, d.at - idTime(d.message_id))).sort((a, b) => a - b),
      reasons: (reasons.rows as Row[]).map(reasonRow),
    };
  }
}
