// The SQLite read side: messages with their recipients, and events. Split from
// sqlite-store.ts by concern, like postgres/queries.ts.
import type Database from 'better-sqlite3';
import { eventRow } from '../event-row.ts';
import { messageDkimRow, recipientRow } from '../rows.ts';
import type { EventQuery, ListMessagesQuery, MessageSummary, StoredEvent, Tag } from '../store.ts';
import { likeEscape } from './accounts.ts';

type Row = Record<string, unknown>;

export class SqliteQueries {
  private readonly recipientsOf: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.recipientsOf = db.prepare('SELECT * FROM recipients WHERE message_id = ? ORDER BY id');
  }

  async listEvents(messageId: string): Promise<StoredEvent[]> {
    return (this.db.prepare('SELECT * FROM events WHERE message_id = ? ORDER BY id').all(messageId) as Row[]).map(eventRow);
  }

  async queryEvents(q: EventQuery): Promise<StoredEvent[]> {
    const rows = this.db.prepare(
      `SELECT * FROM events WHERE id > ? AND at >= ? AND (? IS NULL OR type = ?) ORDER BY id LIMIT ?`,
    ).all(q.after ?? 0, q.since ?? 0, q.type ?? null, q.type ?? null, q.limit) as Row[];
    return rows.map(eventRow);
  }

  async listMessages(q: ListMessagesQuery): Promise<MessageSummary[]> {
    // Newest first by id (ULIDs sort by time). EXPLAIN QUERY PLAN on 100,000 messages (4 KiB each), first page
    // of 20: no filter → the id index backwards (1 ms); status → the same, probing recipients_status per row
    // (1 ms; a status nobody has walks the index: 20 ms); sender → messages_sender, credential →
    // messages_credential (< 1 ms); recipient → recipients_address, tag → message_tags_lookup, as an IN list
    // walked in id order (1 ms; a tag on every message: 27 ms). Subject is a LIKE on the rows the others leave:
    // a rare word alone reads every row (150–300 ms here); combine it with another filter or a time range.
    const where = ['m.id < ?', 'm.id > ?'];
    const args: unknown[] = [q.before ?? '~', q.after ?? ''];
    if (q.sender) where.push('m.sender = ? COLLATE NOCASE'), args.push(q.sender);
    if (q.credential) where.push('m.credential = ?'), args.push(q.credential);
    if (q.subject) where.push(`m.subject LIKE ? ESCAPE '\\'`), args.push(`%${likeEscape(q.subject)}%`);
    if (q.recipient) where.push('m.id IN (SELECT message_id FROM recipients WHERE address = ? COLLATE NOCASE)'), args.push(q.recipient);
    if (q.status) where.push('EXISTS (SELECT 1 FROM recipients r WHERE r.status = ? AND r.message_id = m.id)'), args.push(q.status);
    if (q.tag) where.push('m.id IN (SELECT message_id FROM message_tags WHERE name = ? AND value = ?)'), args.push(q.tag.name, q.tag.value);
    const rows = this.db.prepare(
      `SELECT m.id, m.sender, m.size, m.created_at, m.credential, m.tags, m.dkim_domain, m.dkim_selectors FROM messages m WHERE ${where.join(' AND ')} ORDER BY m.id DESC LIMIT ?`,
    ).all(...args, q.limit) as Row[];
    return rows.map((m) => this.summary(m));
  }

  async getMessageSummary(id: string): Promise<MessageSummary | undefined> {
    const m = this.db.prepare('SELECT id, sender, size, created_at, credential, tags, dkim_domain, dkim_selectors FROM messages WHERE id = ?').get(id) as Row | undefined;
    return m && this.summary(m);
  }

  private summary(m: Row): MessageSummary {
    const rcpts = this.recipientsOf.all(m.id) as Row[];
    return {
      id: m.id as string, sender: m.sender as string, size: m.size as number, createdAt: m.created_at as number,
      credential: m.credential as string | null, tags: m.tags ? (JSON.parse(m.tags as string) as Tag[]) : [], dkim: messageDkimRow(m),
      recipients: rcpts.map(recipientRow).map(({ address, status, attempts, nextAttemptAt, lastReply }) =>
        ({ address, status, attempts, nextAttemptAt, lastReply })),
    };
  }
}
