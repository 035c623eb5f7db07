// The SQLite side of the dashboard: admin passwords, login sessions and the
// overview's numbers. Split from sqlite-store.ts by concern.
import type Database from 'better-sqlite3';
import type { SmtpReply } from '../../delivery/smtp-reply.ts';
import type { AdminSession, EventBucket, EventType, FailureReason } from '../store.ts';

type Row = Record<string, unknown>;

export class SqliteDashboard {
  constructor(private readonly db: Database.Database) {}

  async getAdminPasswordHash(name: string): Promise<string | undefined> {
    return (this.db.prepare('SELECT password_hash FROM admins WHERE name = ?').get(name) as { password_hash: string } | undefined)?.password_hash;
  }

  async setAdminPasswordHash(name: string, hash: string, now: number, onlyIfAbsent = false): Promise<boolean> {
    return this.db.prepare(
      `INSERT INTO admins (name, password_hash, created_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO ${onlyIfAbsent ? 'NOTHING' : 'UPDATE SET password_hash = excluded.password_hash'}`,
    ).run(name, hash, now).changes > 0;
  }

  async createAdminSession(s: AdminSession): Promise<void> {
    this.db.prepare('INSERT INTO admin_sessions (id_hash, csrf_token, created_at, last_seen_at) VALUES (?, ?, ?, ?)')
      .run(s.idHash, s.csrfToken, s.createdAt, s.lastSeenAt);
  }

  async getAdminSession(idHash: string): Promise<AdminSession | undefined> {
    const r = this.db.prepare('SELECT * FROM admin_sessions WHERE id_hash = ?').get(idHash) as Row | undefined;
    return r && sessionRow(r);
  }

  async touchAdminSession(idHash: string, now: number): Promise<void> {
    this.db.prepare('UPDATE admin_sessions SET last_seen_at = MAX(last_seen_at, ?) WHERE id_hash = ?').run(now, idHash);
  }

  async deleteAdminSession(idHash: string): Promise<void> {
    this.db.prepare('DELETE FROM admin_sessions WHERE id_hash = ?').run(idHash);
  }

  async purgeAdminSessions(cut: { idleBefore: number; createdBefore: number }): Promise<number> {
    return this.db.prepare('DELETE FROM admin_sessions WHERE last_seen_at < ? OR created_at < ?').run(cut.idleBefore, cut.createdBefore).changes;
  }

  async lastEventId(): Promise<number> {
    return (this.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM events').get() as { id: number }).id;
  }

  async countEvents(q: { since: number; bucketMs: number; types: readonly EventType[] }): Promise<EventBucket[]> {
    if (q.types.length === 0) return [];
    // One range scan of events_type_time per type: the window, never the whole table.
    const rows = this.db.prepare(
      `SELECT (at / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS start, type, COUNT(*) AS count FROM events
       WHERE type IN (${q.types.map(() => '?').join(', ')}) AND at >= ? GROUP BY type, start ORDER BY start, type`,
    ).all(q.bucketMs, q.bucketMs, ...q.types, q.since) as Row[];
    return rows.map((r) => ({ start: r.start as number, type: r.type as EventType, count: r.count as number }));
  }

  async deliveryLatency(since: number): Promise<{ count: number; p50: number | null; p95: number | null }> {
    const latencies = `SELECT e.at - m.created_at AS ms FROM events e JOIN messages m ON m.id = e.message_id WHERE e.type = 'delivered' AND e.at >= ?`;
    const count = (this.db.prepare(`SELECT COUNT(*) AS n FROM (${latencies})`).get(since) as { n: number }).n;
    if (count === 0) return { count, p50: null, p95: null };
    // Nearest rank (the same as PostgreSQL's percentile_disc): the value at position ceil(p·n).
    const at = (p: number) => (this.db.prepare(`${latencies} ORDER BY ms LIMIT 1 OFFSET ?`).get(since, Math.ceil(p * count) - 1) as { ms: number }).ms;
    return { count, p50: at(0.5), p95: at(0.95) };
  }

  async topFailureReasons(since: number, limit: number): Promise<FailureReason[]> {
    const rows = this.db.prepare(
      `SELECT type, category, reply_enhanced, COUNT(*) AS n, MAX(reply_code) AS code, MAX(reply_text) AS text FROM events
       WHERE type IN ('deferred', 'bounced') AND at >= ? GROUP BY type, category, reply_enhanced ORDER BY n DESC, type, reply_enhanced LIMIT ?`,
    ).all(since, limit) as Row[];
    return rows.map(failureReasonRow);
  }
}

export function sessionRow(r: Row): AdminSession {
  return { idHash: r.id_hash as string, csrfToken: r.csrf_token as string, createdAt: r.created_at as number, lastSeenAt: r.last_seen_at as number };
}

export function failureReasonRow(r: Row): FailureReason {
  return {
    type: r.type as FailureReason['type'], category: (r.category as FailureReason['category']) ?? null, count: r.n as number,
    reply: r.code == null ? null : { code: r.code as number, enhanced: r.reply_enhanced as SmtpReply['enhanced'], text: r.text as string },
  };
}
