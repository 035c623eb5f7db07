// The SQLite side of webhooks: endpoints, the outbox (filled by the
// events_to_outbox trigger in the event's own transaction) and attempts.
import type Database from 'better-sqlite3';
import type { EventType, StoredEvent, Webhook, WebhookAttempt, WebhookDelivery, WebhookStatus } from '../store.ts';

type Row = Record<string, unknown>;

const webhookRow = (r: Row, prefix = ''): Webhook => ({
  id: r[`${prefix}id`] as string, url: r[`${prefix}url`] as string, secret: r[`${prefix}secret`] as string,
  events: (r[`${prefix}events`] as string).split(',') as EventType[], createdAt: r[`${prefix}created_at`] as number,
});

export class SqliteWebhooks {
  constructor(private readonly db: Database.Database, private readonly eventRow: (r: Row) => StoredEvent) {}

  add(w: Webhook): void {
    this.db.prepare('INSERT INTO webhooks (id, url, secret, events, created_at) VALUES (?, ?, ?, ?, ?)').run(w.id, w.url, w.secret, w.events.join(','), w.createdAt);
  }

  list(): WebhookStatus[] {
    const rows = this.db.prepare(
      `SELECT w.*,
         (SELECT COUNT(*) FROM webhook_outbox o WHERE o.webhook_id = w.id AND o.status = 'pending') AS pending,
         (SELECT COUNT(*) FROM webhook_outbox o WHERE o.webhook_id = w.id AND o.status = 'delivered') AS delivered,
         (SELECT COUNT(*) FROM webhook_outbox o WHERE o.webhook_id = w.id AND o.status = 'failed') AS failed,
         (SELECT last_error FROM webhook_outbox o WHERE o.webhook_id = w.id AND o.last_error IS NOT NULL ORDER BY o.last_attempt_at DESC LIMIT 1) AS last_error,
         (SELECT MAX(last_attempt_at) FROM webhook_outbox o WHERE o.webhook_id = w.id) AS last_attempt_at
       FROM webhooks w ORDER BY w.created_at`,
    ).all() as Row[];
    return rows.map((r) => ({
      ...webhookRow(r), pending: r.pending as number, delivered: r.delivered as number, failed: r.failed as number,
      lastError: r.last_error as string | null, lastAttemptAt: r.last_attempt_at as number | null,
    }));
  }

  remove(id: string): boolean {
    return this.db.prepare('DELETE FROM webhooks WHERE id = ?').run(id).changes > 0;
  }

  claim({ now, limit, leaseMs, owner }: { now: number; limit: number; leaseMs: number; owner: string }): WebhookDelivery[] {
    return this.db.transaction(() => {
      const rows = this.db.prepare(
        `SELECT o.id AS outbox_id, o.attempts, w.id AS w_id, w.url AS w_url, w.secret AS w_secret, w.events AS w_events,
           w.created_at AS w_created_at, e.*, m.sender AS message_sender
         FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id JOIN events e ON e.id = o.event_id
         LEFT JOIN messages m ON m.id = e.message_id
         WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND (o.lease_until IS NULL OR o.lease_until <= ?)
         ORDER BY o.next_attempt_at, o.id LIMIT ?`,
      ).all(now, now, limit) as Row[];
      const lease = this.db.prepare('UPDATE webhook_outbox SET lease_owner = ?, lease_until = ? WHERE id = ?');
      for (const r of rows) lease.run(owner, now + leaseMs, r.outbox_id);
      return rows.map((r) => ({
        outboxId: r.outbox_id as number, attempts: r.attempts as number, webhook: webhookRow(r, 'w_'), event: this.eventRow(r),
        sender: (r.message_sender as string | null) ?? null,
      }));
    })();
  }

  record(a: WebhookAttempt): void {
    this.db.transaction(() => {
      const changed = this.db.prepare(
        `UPDATE webhook_outbox SET status = ?, attempts = attempts + 1, next_attempt_at = COALESCE(?, next_attempt_at),
         last_error = ?, last_attempt_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?`,
      ).run(a.outcome === 'retry' ? 'pending' : a.outcome, a.nextAttemptAt ?? null, a.error ?? null, a.at, a.outboxId, a.owner).changes;
      if (changed)
        this.db.prepare('INSERT INTO webhook_attempts (outbox_id, at, status, error, outcome) VALUES (?, ?, ?, ?, ?)')
          .run(a.outboxId, a.at, a.status ?? null, a.error ?? null, a.outcome);
    })();
  }

  attempts(webhookId: string, limit: number): (WebhookAttempt & { eventId: number })[] {
    const rows = this.db.prepare(
      `SELECT a.*, o.event_id FROM webhook_attempts a JOIN webhook_outbox o ON o.id = a.outbox_id
       WHERE o.webhook_id = ? ORDER BY a.id DESC LIMIT ?`,
    ).all(webhookId, limit) as Row[];
    return rows.map((r) => ({
      outboxId: r.outbox_id as number, eventId: r.event_id as number, owner: '', at: r.at as number,
      ...(r.status != null && { status: r.status as number }), ...(r.error != null && { error: r.error as string }),
      outcome: r.outcome as WebhookAttempt['outcome'],
    }));
  }

  replay(id: string, now: number, since?: number): number {
    return this.db.prepare(
      `UPDATE webhook_outbox SET status = 'pending', next_attempt_at = ?, attempts = 0 WHERE webhook_id = ?
       AND (status = 'failed' OR (? IS NOT NULL AND status = 'delivered' AND created_at >= ?))`,
    ).run(now, id, since ?? null, since ?? null).changes;
  }
}
