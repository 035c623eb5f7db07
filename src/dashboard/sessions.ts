// Dashboard logins kept in the store, so any node behind a load balancer can
// serve them. The browser holds a random 256-bit id in an HttpOnly cookie; the
// store keeps only its SHA-256, with a CSRF token and the times that end it.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdminSession, Store } from '../store/store.ts';

export const SESSION_COOKIE = 'smarthost_session';

export interface SessionTimes {
  /** Ends after this long without a request. */
  idleMs: number;
  /** Ends this long after login, however active. */
  lifetimeMs: number;
}

/** Touching the session at most this often keeps a busy page from writing on every request. */
const TOUCH_EVERY_MS = 15_000;

const hashId = (id: string) => createHash('sha256').update(id).digest('hex');

export async function startSession(store: Store, times: SessionTimes, now = Date.now()): Promise<{ cookie: string; session: AdminSession }> {
  // A login is the moment to forget sessions that ended: no timer needed on any node.
  await store.purgeAdminSessions({ idleBefore: now - times.idleMs, createdBefore: now - times.lifetimeMs });
  const cookie = randomBytes(32).toString('base64url');
  const session: AdminSession = { idHash: hashId(cookie), csrfToken: randomBytes(32).toString('base64url'), createdAt: now, lastSeenAt: now };
  await store.createAdminSession(session);
  return { cookie, session };
}

/** The live session for this cookie, touched; undefined when there is none or it has ended (then it is removed). */
export async function findSession(store: Store, cookie: string | undefined, times: SessionTimes, now = Date.now()): Promise<AdminSession | undefined> {
  if (!cookie) return undefined;
  const session = await store.getAdminSession(hashId(cookie));
  if (!session) return undefined;
  if (!isLive(session, times, now)) {
    await store.deleteAdminSession(session.idHash);
    return undefined;
  }
  if (now - session.lastSeenAt >= TOUCH_EVERY_MS) await store.touchAdminSession(session.idHash, now);
  return session;
}

/** Whether the session is still within both limits at `now`, without touching it (the live-update stream asks this). */
export const isLive = (s: AdminSession, times: SessionTimes, now: number): boolean =>
  now - s.lastSeenAt < times.idleMs && now - s.createdAt < times.lifetimeMs;

export async function endSession(store: Store, cookie: string | undefined): Promise<void> {
  if (cookie) await store.deleteAdminSession(hashId(cookie));
}

/** Constant-time comparison of the token a request carries with the session's. */
export function csrfTokenMatches(session: AdminSession, token: unknown): boolean {
  if (typeof token !== 'string') return false;
  const a = Buffer.from(token);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && timingSafeEqual(a, b);
}
