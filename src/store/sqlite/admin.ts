// The SQLite side of what the admin API and the dashboard need beyond the
// queue itself: cancelling a message, webhook deliveries one by one, the
// signing secret, and the overview's statistics.
import type Database from 'better-sqlite3';
import { idTime } from '../ids.ts';
import type { DeliveryStats, NewEvent, StatsQuery, WebhookDeliveryRecord } from '../store.ts';

type Row = Record<string, unknown>;

export class SqliteAdmin {
  constructor(private readonly db: Database.Database, private readonly insertEvent: (e: NewEvent) => void) {}

  cancelMessage(id: string, now: number): number {
    return this.db.transaction(() => {
      const pending = this.db.prepare(`SELECT id, address FROM recipients WHERE message_id = ? AND status IN ('queued', 'deferred')`).all(id) as Row[];
      // Clearing the lease fences out a delivery in flight: its result no longer matches lease_owner, so it cannot requeue the row.
      const cancel = this.db.prepare(`UPDATE recipients SET status = 'cancelled', lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ?`);
      for (const r of pending) {
        cancel.run(now, r.id);
        this.insertEvent({ messageId: id, recipient: r.address as string, type: 'cancelled', at: now, detail: 'cancelled by operator' });
      }
      return pending.length;
    })();
  }

  listWebhookDeliveries(webhookId: string, q: { limit: number; before?: number }): WebhookDeliveryRecord[] {
    // Walks webhook_outbox_hook (webhook_id, id) backwards: one index range, LIMIT rows.
    const rows = this.db.prepare(
      `SELECT o.*, e.type AS event_type, e.message_id, e.recipient,
         (SELECT a.status FROM webhook_attempts a WHERE a.outbox_id = o.id ORDER BY a.id DESC LIMIT 1) AS last_status
       FROM webhook_outbox o JOIN events e ON e.id = o.event_id
       WHERE o.webhook_id = ? AND o.id < ? ORDER BY o.id DESC LIMIT ?`,
    ).all(webhookId, q.before ?? Number.MAX_SAFE_INTEGER, q.limit) as Row[];
    return rows.map(deliveryRecord);
  }

  replayWebhookDelivery(webhookId: string, deliveryId: number, now: number): boolean {
    // The lease is cleared too, so a send in flight cannot mark the replayed row done: it is sent once more.
    return this.db.prepare(
      `UPDATE webhook_outbox SET status = 'pending', next_attempt_at = ?, attempts = 0, lease_owner = NULL, lease_until = NULL
       WHERE id = ? AND webhook_id = ?`,
    ).run(now, deliveryId, webhookId).changes > 0;
  }

  setWebhookSecret(id: string, secret: string): boolean {
    return this.db.prepare('UPDATE webhooks SET secret = ? WHERE id = ?').run(secret, id).changes > 0;
  }

  deliveryStats(q: StatsQuery): DeliveryStats {
    const width = Math.ceil((q.to - q.from) / q.buckets);
    const starts = Array.from({ length: q.buckets }, (_, i) => q.from + i * width);
    // Both from covering indexes, messages_created and events_time_type (at, type): no table row is read.
    const accepted = this.db.prepare(
      `SELECT CAST((created_at - ?) / ? AS INTEGER) AS b, COUNT(*) AS n FROM messages WHERE created_at >= ? AND created_at < ? GROUP BY b`,
    ).all(q.from, width, q.from, q.to) as { b: number; n: number }[];
    const outcomes = this.db.prepare(
      `SELECT CAST((at - ?) / ? AS INTEGER) AS b, type, COUNT(*) AS n FROM events
       WHERE at >= ? AND at < ? AND type IN ('delivered', 'deferred', 'bounced') GROUP BY b, type`,
    ).all(q.from, width, q.from, q.to) as { b: number; type: 'delivered' | 'deferred' | 'bounced'; n: number }[];
    const buckets = starts.map((start) => ({ start, accepted: 0, delivered: 0, deferred: 0, bounced: 0 }));
    for (const a of accepted) buckets[a.b]!.accepted = a.n;
    for (const o of outcomes) buckets[o.b]![o.type] += o.n;
    // Acceptance time is read from the message id, so no message row is read.
    const delivered = this.db.prepare(
      `SELECT at, message_id FROM events WHERE at >= ? AND at < ? AND type = 'delivered' ORDER BY at DESC LIMIT ?`,
    ).all(q.from, q.to, q.latencySample) as { at: number; message_id: string }[];
    const reasons = this.db.prepare(
      `SELECT type, category, reply_code, reply_enhanced, MAX(reply_text) AS sample, COUNT(*) AS n FROM events
       WHERE at >= ? AND at < ? AND type IN ('deferred', 'bounced')
       GROUP BY type, category, reply_code, reply_enhanced ORDER BY n DESC, type LIMIT ?`,
    ).all(q.from, q.to, q.topReasons) as Row[];
    return {
      buckets,
      latenciesMs: delivered.map((d) => Math.max(0, d.at - idTime(d.message_id))).sort((a, b) => a - b),
      reasons: reasons.map(reasonRow),
    };
  }
}

export const deliveryRecord = (r: Row): WebhookDeliveryRecord => ({
  id: r.id as number, eventId: r.event_id as number, eventType: r.event_type as WebhookDeliveryRecord['eventType'],
  messageId: r.message_id as string, recipient: (r.recipient as string | null) ?? null, status: r.status as WebhookDeliveryRecord['status'],
  attempts: r.attempts as number, ...(r.last_status != null && { lastStatus: r.last_status as number }),
  lastError: (r.last_error as string | null) ?? null, lastAttemptAt: (r.last_attempt_at as number | null) ?? null,
  nextAttemptAt: r.next_attempt_at as number, createdAt: r.created_at as number,
});

export const reasonRow = (r: Row): DeliveryStats['reasons'][number] => ({
  type: r.type as 'deferred' | 'bounced', category: (r.category as DeliveryStats['reasons'][number]['category']) ?? null,
  code: (r.reply_code as number | null) ?? null, enhanced: (r.reply_enhanced as string | null) ?? null,
  sample: (r.sample as string | null) ?? null, count: Number(r.n),
});
