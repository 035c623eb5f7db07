// The PostgreSQL side of the dashboard: admin passwords, login sessions and the
// live view's cursor and route health. Split from postgres-store.ts by concern.
import type pg from 'pg';
import { FAILED, routeEvents, sessionRow } from '../sqlite/dashboard.ts';
import type { AdminSession, EventType, RouteEvents } from '../store.ts';

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

  async lastRouteEvents(route: string): Promise<RouteEvents> {
    // One probe of events_route_type_time per type: the newest row, however long the route's history.
    const of = async (type: EventType) =>
      (await this.pool.query('SELECT * FROM events WHERE route = $1 AND type = $2 ORDER BY at DESC LIMIT 1', [route, type])).rows[0] as Row | undefined;
    const [delivered, ...failed] = await Promise.all([of('delivered'), ...FAILED.map(of)]);
    return routeEvents(delivered, failed);
  }
}
