// The PostgreSQL side of provider webhooks: the same lookup and once-only
// apply as SQLite's (sqlite/provider-reports.ts), in one transaction per report.
import type pg from 'pg';
import { deliveryOf } from '../sqlite/provider-reports.ts';
import type { NewEvent, ProviderDelivery, ProviderReport } from '../store.ts';

type Tx = <T>(fn: (c: pg.PoolClient) => Promise<T>) => Promise<T>;
type InsertEvents = (events: NewEvent[], first: number) => { sql: string; params: unknown[] };

export class PostgresProviderReports {
  constructor(private readonly pool: pg.Pool, private readonly tx: Tx, private readonly insertEvents: InsertEvents) {}

  async find(providerMessageId: string, recipient?: string): Promise<ProviderDelivery | undefined> {
    const { rows } = await this.pool.query(
      `SELECT DISTINCT message_id, recipient FROM events WHERE provider_message_id = $1 AND recipient IS NOT NULL
       AND ($2::text IS NULL OR lower(recipient) = lower($2)) ORDER BY message_id, recipient`,
      [providerMessageId, recipient ?? null],
    );
    return deliveryOf(rows as { message_id: string; recipient: string }[]);
  }

  record(r: ProviderReport): Promise<boolean> {
    return this.tx(async (c) => {
      // The primary key decides, also between nodes receiving the same retry at once: the second waits, then inserts nothing.
      const fresh = await c.query(
        'INSERT INTO provider_events (provider, event_key, message_id, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
        [r.provider, r.eventKey, r.event.messageId, r.event.at],
      );
      if (!fresh.rowCount) return false;
      const ins = this.insertEvents([r.event], 1);
      await c.query(ins.sql, ins.params);
      if (r.bounce)
        await c.query(
          `UPDATE recipients SET status = 'bounced', last_reply = $1, updated_at = $2
           WHERE message_id = $3 AND lower(address) = lower($4) AND status = 'delivered'`,
          [r.bounce.lastReply, r.event.at, r.event.messageId, r.event.recipient],
        );
      if (r.suppression)
        await c.query('INSERT INTO suppressions (address, reason, created_at) VALUES ($1, $2, $3) ON CONFLICT (address) DO NOTHING',
          [r.suppression.address.toLowerCase(), r.suppression.reason, r.suppression.createdAt]);
      return true;
    });
  }

  async purge(before: number): Promise<number> {
    return (await this.pool.query('DELETE FROM provider_events WHERE received_at < $1', [before])).rowCount ?? 0;
  }
}
