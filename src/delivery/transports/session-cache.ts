// Idle SMTP sessions kept between deliveries to the same host, as Postfix's
// connection cache does: the next message to a busy destination skips the TCP
// connect, greeting, EHLO, TLS handshake and AUTH, and the receiver is spared
// one connection per message. A session the server dropped meanwhile costs a
// new connection, never a message: one whose last transaction was refused is
// checked with RSET before it carries mail again (Postfix's smtp_rset_timeout
// exists "to verify that a cached session is still usable"); one whose last
// message was delivered is found dead by its MAIL FROM, before any byte of the
// next message goes out (smtp-session.ts).
import type SMTPConnection from 'nodemailer/lib/smtp-connection';

/** Postfix's smtp_connection_reuse_time_limit: a long-lived session is retired, and the next one is opened anew. */
const REUSE_LIMIT_MS = 300_000;

export interface SessionCacheSettings {
  /** How long a session waits for the next message; 0 turns the cache off (Postfix smtp_connection_cache_time_limit, 2 s). */
  idleMs: number;
  /** Parked sessions at most (all hosts together); parking one more says QUIT to the longest idle. */
  maxParked: number;
}

interface SessionCacheOptions extends SessionCacheSettings {
  /** A session older than this is closed instead of parked. */
  maxAgeMs: number;
}

/** An open session and where its connection's trouble ('error', 'end') goes now. */
export interface CachedSession {
  conn: SMTPConnection;
  openedAt: number;
  /** The last transaction was refused: the server may still hold part of it until an RSET. */
  resetBeforeUse: boolean;
  /** The transaction using the session handles trouble; while parked, the cache forgets the session. */
  onTrouble: (err?: Error) => void;
}

interface Parked {
  session: CachedSession;
  timer: NodeJS.Timeout;
}

const usable = (conn: SMTPConnection) => !conn.destroyed && !!conn._socket && !conn._socket.destroyed;

export class SessionCache {
  private readonly idle = new Map<string, Parked[]>();
  /** Every parked session and its key, longest idle first (a Map keeps insertion order). */
  private readonly byAge = new Map<Parked, string>();
  private closed = false;

  private constructor(private readonly opts: SessionCacheOptions) {}

  /** A transport's cache; without settings it is off and every delivery has its own session. */
  static create(settings?: SessionCacheSettings): SessionCache {
    return new SessionCache({ idleMs: 0, maxParked: 0, ...settings, maxAgeMs: REUSE_LIMIT_MS });
  }

  get enabled(): boolean {
    return this.opts.idleMs > 0 && this.opts.maxParked > 0 && !this.closed;
  }

  /** The most recently parked session for `key` (the least likely to have been dropped), taken out of the cache. */
  take(key: string): CachedSession | undefined {
    const list = this.idle.get(key);
    while (list?.length) {
      const parked = list.pop()!;
      if (!list.length) this.idle.delete(key);
      this.byAge.delete(parked);
      clearTimeout(parked.timer);
      const { session } = parked;
      if (usable(session.conn)) return session;
      session.conn.close();
    }
    return undefined;
  }

  /** Keeps a session whose last transaction ended cleanly; one that is too old, or parked after close(), says QUIT. */
  park(key: string, session: CachedSession): void {
    if (!this.enabled || Date.now() - session.openedAt >= this.opts.maxAgeMs || !usable(session.conn)) {
      return quit(session.conn);
    }
    const parked: Parked = {
      session,
      timer: setTimeout(() => {
        this.forget(key, parked);
        quit(session.conn);
      }, this.opts.idleMs),
    };
    // The server may hang up on an idle session (its own timeout, a restart): forget it then.
    session.onTrouble = () => {
      this.forget(key, parked);
      session.conn.close();
    };
    if (this.byAge.size >= this.opts.maxParked) {
      const [oldest, oldestKey] = this.byAge.entries().next().value!;
      this.forget(oldestKey, oldest);
      quit(oldest.session.conn);
    }
    const list = this.idle.get(key);
    if (list) list.push(parked);
    else this.idle.set(key, [parked]);
    this.byAge.set(parked, key);
  }

  /** Says QUIT on every parked session; sessions parked from now on are closed at once. */
  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) {
      for (const { session, timer } of list) {
        clearTimeout(timer);
        quit(session.conn);
      }
    }
    this.idle.clear();
    this.byAge.clear();
  }

  private forget(key: string, parked: Parked): void {
    clearTimeout(parked.timer);
    this.byAge.delete(parked);
    const list = this.idle.get(key);
    const i = list?.indexOf(parked) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    if (!list!.length) this.idle.delete(key);
  }
}

function quit(conn: SMTPConnection): void {
  if (usable(conn)) conn.quit();
  else conn.close();
}
