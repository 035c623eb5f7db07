// The PostgreSQL side of the dashboard: admin passwords, login sessions and the
// overview's numbers. Split from postgres-store.ts by concern.
import type pg from 'pg';
import { failureReasonRow, sessionRow } from '../sqlite/dashboard.ts';
import type { AdminSession, EventBucket, EventType, FailureReason } from '../store.ts';

type Row = Record<string, unknown>;

export class PostgresDashboard {
  constructor(private readonly pool: pg.Pool) {}

  async getAdminPasswordHash(name: string): Promise<string | undefined> {
    return (await this.pool.query('SELECT password_hash FROM admins WHERE name = $1', [name])).rows[0]?.password_hash as string | undefined;
  }

  async setAdminPasswordHash(name: string, hash: string, now: number, onlyIfAbsent = false): Promise<boolean> {
    const r = await this.pool.query(
      `INSERT INTO admins (name, password_hash, created_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO ${onlyIfAbsent ? 'NOTHING' : 'UPDATE SET password_hash = excluded.password_hash'}`,
      [name, hash, now],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async createAdminSession(s: AdminSession): Promise<void> {
    await this.pool.query('INSERT INTO admin_sessions (id_hash, csrf_token, created_at, last_seen_at) VALUES ($1, $2, $3, $4)',
      [s.idHash, s.csrfToken, s.createdAt, s.lastSeenAt]);
  }

  async getAdminSession(idHash: string): Promise<AdminSession | undefined> {
    const r = (await this.pool.query('SELECT * FROM admin_sessions WHERE id_hash = $1', [idHash])).rows[0] as Row | undefined;
    return r && sessionRow(r);
  }

  async touchAdminSession(idHash: string, now: number): Promise<void> {
    await this.pool.query('UPDATE admin_sessions SET last_seen_at = GREATEST(last_seen_at, $1) WHERE id_hash = $2', [now, idHash]);
  }

  async deleteAdminSession(idHash: string): Promise<void> {
    await this.pool.query('DELETE FROM admin_sessions WHERE id_hash = $1', [idHash]);
  }

  async purgeAdminSessions(cut: { idleBefore: number; createdBefore: number }): Promise<number> {
    return (await this.pool.query('DELETE FROM admin_sessions WHERE last_seen_at < $1 OR created_at < $2', [cut.idleBefore, cut.createdBefore])).rowCount ?? 0;
  }

  async lastEventId(): Promise<number> {
    return (await this.pool.query('SELECT COALESCE(MAX(id), 0) AS id FROM events')).rows[0].id as number;
  }

  async countEvents(q: { since: number; bucketMs: number; types: readonly EventType[] }): Promise<EventBucket[]> {
    const { rows } = await this.pool.query(
      `SELECT (at / $1) * $1 AS start, type, count(*) AS count FROM events
       WHERE type = ANY($2::text[]) AND at >= $3 GROUP BY type, start ORDER BY start, type`,
      [q.bucketMs, [...q.types], q.since],
    );
    return (rows as Row[]).map((r) => ({ start: r.start as number, type: r.type as EventType, count: r.count as number }));
  }

  async deliveryLatency(since: number): Promise<{ count: number; p50: number | null; p95: number | null }> {
    const { rows } = await this.pool.query(
      `SELECT count(*) AS n, percentile_disc(0.5) WITHIN GROUP (ORDER BY e.at - m.created_at) AS p50,
              percentile_disc(0.95) WITHIN GROUP (ORDER BY e.at - m.created_at) AS p95
       FROM events e JOIN messages m ON m.id = e.message_id WHERE e.type = 'delivered' AND e.at >= $1`,
      [since],
    );
    const r = rows[0] as Row;
    return { count: r.n as number, p50: (r.p50 as number | null) ?? null, p95: (r.p95 as number | null) ?? null };
  }

  async topFailureReasons(since: number, limit: number): Promise<FailureReason[]> {
    const { rows } = await this.pool.query(
      `SELECT type, category, reply_enhanced, count(*) AS n, MAX(reply_code) AS code, MAX(reply_text) AS text FROM events
       WHERE type IN ('deferred', 'bounced') AND at >= $1 GROUP BY type, category, reply_enhanced ORDER BY n DESC, type, reply_enhanced LIMIT $2`,
      [since, limit],
    );
    return (rows as Row[]).map(failureReasonRow);
  }
}
