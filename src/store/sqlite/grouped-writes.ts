// What the SQLite group commit writes in one transaction: accepted messages
// (with their tags, recipients and first events) and the results of delivery
// attempts. Statements are prepared once, here.
import type Database from 'better-sqlite3';
import type { NewEvent, NewMessage, RecipientUpdate } from '../store.ts';
import { domainOf } from '../rows.ts';

/** An accepted message (its recipients' ids filled in as they are inserted), or the results of one delivery attempt. */
export type GroupedWrite = { kind: 'message'; message: NewMessage; ids: number[] } | { kind: 'results'; updates: RecipientUpdate[]; owner: string };

/** Rows (messages and delivery results) and bytes of messages in a batch: what the checkpointer counts. */
export function batchSize(writes: readonly GroupedWrite[]): [rows: number, bytes: number] {
  let rows = 0;
  let bytes = 0;
  for (const w of writes) {
    if (w.kind === 'results') {
      rows += w.updates.length;
    } else {
      rows++;
      bytes += w.message.raw.length;
    }
  }
  return [rows, bytes];
}

export function groupedWriter(db: Database.Database, insertEvent: (e: NewEvent) => void): (writes: GroupedWrite[]) => void {
  const insertMessage = db.prepare(
    `INSERT INTO messages (id, sender, raw, source, credential, client_address, size, created_at, tags, dkim_domain, dkim_selectors, subject)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertTag = db.prepare('INSERT INTO message_tags (message_id, name, value) VALUES (?, ?, ?)');
  const insertRecipient = db.prepare(
    `INSERT INTO recipients (message_id, address, domain, status, next_attempt_at, updated_at, lease_owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const updateRecipient = db.prepare(
    `UPDATE recipients SET status = ?, attempts = ?, next_attempt_at = COALESCE(?, next_attempt_at), last_reply = ?, resume_route = ?,
     lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND lease_owner = ?`,
  );
  // New messages and delivery results waiting for the same sync share one transaction.
  return db.transaction((writes: GroupedWrite[]) => {
    for (const w of writes) {
      if (w.kind === 'results') {
        for (const u of w.updates) {
          // The attempt is recorded as an event either way; the state only by the lease holder.
          updateRecipient.run(u.status, u.attempts, u.nextAttemptAt ?? null, u.lastReply, u.resumeRoute ?? null, u.event.at, u.recipientId, w.owner);
          insertEvent(u.event);
        }
        continue;
      }
      const m = w.message;
      insertMessage.run(m.id, m.sender, m.raw, m.source, m.credential, m.clientAddress, m.raw.length, m.createdAt,
        m.tags?.length ? JSON.stringify(m.tags) : null, m.dkim?.domain ?? null, m.dkim ? m.dkim.selectors.join(',') : null, m.subject ?? null);
      for (const t of m.tags ?? []) insertTag.run(m.id, t.name, t.value);
      // A batch that fails is written again item by item: the ids are this attempt's.
      w.ids.length = 0;
      for (const r of m.recipients) {
        const leased = m.lease && r.status === 'queued';
        w.ids.push(Number(insertRecipient.run(m.id, r.address, domainOf(r.address), r.status, m.createdAt, m.createdAt,
          leased ? m.lease!.owner : null, leased ? m.lease!.until : null).lastInsertRowid));
        insertEvent({ messageId: m.id, recipient: r.address, type: r.status, at: m.createdAt });
      }
    }
  });
}
