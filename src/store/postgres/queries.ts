// The PostgreSQL read side: messages with their recipients, events, and
// counts for metrics and /readyz. Split from postgres-store.ts by concern.
import type pg from 'pg';
import { eventRow } from '../event-row.ts';
import type { EventQuery, ListMessagesQuery, MessageSummary, RecipientStatus, StoredEvent } from '../store.ts';
import { recipientRow } from './postgres-store.ts';

type Row = Record<string, unknown>;

export class PostgresQueries {
  constructor(private readonly pool: pg.Pool) {}

  async listEvents(messageId: string): Promise<StoredEvent[]> {
    return ((await this.pool.query('SELECT * FROM events WHERE message_id = $1 ORDER BY id', [messageId])).rows as Row[]).map(eventRow);
  }

  async queryEvents(q: EventQuery): Promise<StoredEvent[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM events WHERE id > $1 AND at >= $2 AND ($3::text IS NULL OR type = $3) ORDER BY id LIMIT $4',
      [q.after ?? 0, q.since ?? 0, q.type ?? null, q.limit],
    );
    return (rows as Row[]).map(eventRow);
  }

  async listMessages(q: ListMessagesQuery): Promise<MessageSummary[]> {
    // Newest first by id (ULIDs sort by time); filters walk the recipient indexes.
    const params: unknown[] = [];
    const arg = (v: unknown) => `$${params.push(v)}`;
    const before = q.before && arg(q.before);
    const after = q.after && arg(q.after);
    const range = (col: string) => [...(before ? [`${col} < ${before}`] : []), ...(after ? [`${col} > ${after}`] : [])];
    const filters: string[] = [];
    if (q.status) filters.push(`status = ${arg(q.status)}`);
    if (q.recipient) filters.push(`lower(address) = lower(${arg(q.recipient)})`);
    // Sender, credential and tags are columns of messages (indexes messages_sender, messages_credential, messages_tags);
    // with recipient filters they join in.
    const sender = [
      ...(q.sender === undefined ? [] : [`lower(sender) = lower(${arg(q.sender)})`]),
      ...(q.credential === undefined ? [] : [`credential = ${arg(q.credential)}`]),
      ...(q.tag === undefined ? [] : [`tags @> ${arg(JSON.stringify([{ name: q.tag.name, value: q.tag.value }]))}::jsonb`]),
    ];
    const limit = arg(q.limit);
    const where = (conds: string[]) => (conds.length ? `WHERE ${conds.join(' AND ')}` : '');
    const sql = filters.length
      ? `SELECT * FROM messages WHERE id IN (
           SELECT DISTINCT message_id FROM recipients ${sender.length ? 'JOIN messages m ON m.id = message_id' : ''}
           ${where([...filters, ...sender, ...range('message_id')])}
           ORDER BY message_id DESC LIMIT ${limit}) ORDER BY id DESC`
      : `SELECT * FROM messages ${where([...sender, ...range('id')])} ORDER BY id DESC LIMIT ${limit}`;
    return this.summaries((await this.pool.query(sql, params)).rows as Row[]);
  }

  async getMessageSummary(id: string): Promise<MessageSummary | undefined> {
    const { rows } = await this.pool.query('SELECT id, sender, size, created_at, credential, tags FROM messages WHERE id = $1', [id]);
    return (await this.summaries(rows as Row[]))[0];
  }

  private async summaries(msgs: Row[]): Promise<MessageSummary[]> {
    if (msgs.length === 0) return [];
    const { rows } = await this.pool.query('SELECT * FROM recipients WHERE message_id = ANY($1::text[]) ORDER BY id', [msgs.map((m) => m.id)]);
    const byMessage = new Map<string, MessageSummary['recipients']>();
    for (const r of (rows as Row[]).map(recipientRow)) {
      let list = byMessage.get(r.messageId);
      if (!list) byMessage.set(r.messageId, (list = []));
      list.push({ address: r.address, status: r.status, attempts: r.attempts, nextAttemptAt: r.nextAttemptAt, lastReply: r.lastReply });
    }
    return msgs.map((m) => ({
      id: m.id as string, sender: m.sender as string, size: m.size as number, createdAt: m.created_at as number,
      credential: m.credential as string | null, tags: (m.tags as MessageSummary['tags'] | null) ?? [],
      recipients: byMessage.get(m.id as string) ?? [],
    }));
  }

  async countPending(): Promise<number> {
    return (await this.pool.query(`SELECT count(*) AS n FROM recipients WHERE status IN ('queued', 'deferred')`)).rows[0].n as number;
  }

  async countByStatus(): Promise<Partial<Record<RecipientStatus, number>>> {
    const { rows } = await this.pool.query('SELECT status, count(*) AS n FROM recipients GROUP BY status');
    return Object.fromEntries((rows as { status: RecipientStatus; n: number }[]).map((r) => [r.status, r.n]));
  }
}
