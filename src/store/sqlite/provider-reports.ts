// The SQLite side of provider webhooks: find the delivery a provider's event is
// about (by the id its API gave), and apply each reported event once.
import type Database from 'better-sqlite3';
import type { NewEvent, ProviderDelivery, ProviderReport } from '../store.ts';

export class SqliteProviderReports {
  constructor(private readonly db: Database.Database, private readonly insertEvent: (e: NewEvent) => void) {}

  find(providerMessageId: string, recipient?: string): ProviderDelivery | undefined {
    const rows = this.db.prepare(
      `SELECT DISTINCT message_id, recipient FROM events WHERE provider_message_id = ? AND recipient IS NOT NULL
       AND (? IS NULL OR recipient = ? COLLATE NOCASE) ORDER BY message_id, recipient`,
    ).all(providerMessageId, recipient ?? null, recipient ?? null) as { message_id: string; recipient: string }[];
    return deliveryOf(rows);
  }

  record(r: ProviderReport): boolean {
    return this.db.transaction(() => {
      const fresh = this.db.prepare(
        'INSERT INTO provider_events (provider, event_key, message_id, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ).run(r.provider, r.eventKey, r.event.messageId, r.event.at).changes > 0;
      if (!fresh) return false;
      this.insertEvent(r.event);
      if (r.bounce)
        this.db.prepare(
          `UPDATE recipients SET status = 'bounced', last_reply = ?, updated_at = ?
           WHERE message_id = ? AND address = ? COLLATE NOCASE AND status = 'delivered'`,
        ).run(r.bounce.lastReply, r.event.at, r.event.messageId, r.event.recipient);
      if (r.suppression)
        this.db.prepare('INSERT INTO suppressions (address, reason, created_at) VALUES (?, ?, ?) ON CONFLICT (address) DO NOTHING')
          .run(r.suppression.address.toLowerCase(), r.suppression.reason, r.suppression.createdAt);
      return true;
    })();
  }

  purge(before: number): number {
    return this.db.prepare('DELETE FROM provider_events WHERE received_at < ?').run(before).changes;
  }
}

/** One provider id names one message; its rows for that message give the recipients. */
export function deliveryOf(rows: { message_id: string; recipient: string }[]): ProviderDelivery | undefined {
  const first = rows[0];
  return first && { messageId: first.message_id, recipients: rows.filter((r) => r.message_id === first.message_id).map((r) => r.recipient) };
}
