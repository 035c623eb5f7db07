// The SQLite side of the dashboard: admin passwords, login sessions and the
// live view's cursor and route health. Split from sqlite-store.ts by concern.
import type Database from 'better-sqlite3';
import { eventRow } from '../event-row.ts';
import type { AdminSession, EventType, RouteEvents } from '../store.ts';

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

  async lastRouteEvents(route: string): Promise<RouteEvents> {
    // One probe of events_route_type_time per type: the newest row, however long the route's history.
    const newest = this.db.prepare('SELECT * FROM events WHERE route = ? AND type = ? ORDER BY at DESC LIMIT 1');
    const of = (type: EventType) => newest.get(route, type) as Row | undefined;
    return routeEvents(of('delivered'), FAILED.map(of));
  }
}

export function sessionRow(r: Row): AdminSession {
  return { idHash: r.id_hash as string, csrfToken: r.csrf_token as string, createdAt: r.created_at as number, lastSeenAt: r.last_seen_at as number };
}

/** Tries that failed on a route: handed on to the next route, deferred, bounced. */
export const FAILED: EventType[] = ['attempt', 'deferred', 'bounced'];

export function routeEvents(delivered: Row | undefined, failed: (Row | undefined)[]): RouteEvents {
  const newest = failed.reduce<Row | undefined>((a, b) => (b && (!a || Number(b.at) > Number(a.at)) ? b : a), undefined);
  return { ...(delivered && { delivered: eventRow(delivered) }), ...(newest && { failed: eventRow(newest) }) };
}
