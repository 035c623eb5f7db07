// Send counting for the PostgreSQL store (see ../rate-windows.ts), shared by
// every node on the database: the count lives in one row per window and is
// read and bumped under that row's lock.
import type pg from 'pg';
import {
  allowance, AUTH_FAILURE_WINDOW, authFailPrincipal, countsAt, fixedWindowStart, limitedWindows, windowStart,
  type SendAllowance, type SendCounts, type SendLimits,
} from '../rate-windows.ts';

type CounterRow = { window_name: string; window_start: number; count: number };

/** Run inside a transaction: the row locks taken here hold until it commits. */
export async function consumeSend(c: pg.PoolClient, principal: string, now: number, limits: SendLimits): Promise<SendAllowance> {
  const names = limitedWindows(limits);
  if (names.length === 0) return { ok: true };
  // The upsert locks each window's row (ON CONFLICT DO UPDATE waits for a concurrent holder, then
  // sees its committed count), always in the same order so two sends cannot deadlock. A row left
  // from an earlier window restarts at zero. The count is bumped below only when the message fits.
  const { rows } = await c.query(
    `INSERT INTO rate_counters (principal, window_name, window_start, count)
     SELECT $1, n, s, 0 FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS u(n, s, i) ORDER BY i
     ON CONFLICT (principal, window_name) DO UPDATE SET
       count = CASE WHEN rate_counters.window_start = excluded.window_start THEN rate_counters.count ELSE 0 END,
       window_start = excluded.window_start
     RETURNING window_name, window_start, count`,
    [principal, names, names.map((n) => windowStart(n, now))],
  );
  const verdict = allowance(countsAt(rows as CounterRow[], now), limits, now);
  if (verdict.ok)
    await c.query('UPDATE rate_counters SET count = count + 1 WHERE principal = $1 AND window_name = ANY($2::text[])', [principal, names]);
  return verdict;
}

export async function sendCounts(pool: pg.Pool, principal: string, now: number): Promise<SendCounts> {
  const { rows } = await pool.query('SELECT window_name, window_start, count FROM rate_counters WHERE principal = $1', [principal]);
  return countsAt(rows as CounterRow[], now);
}

/** One statement: the upsert serialises concurrent failures from every node on the client's row. */
export async function addAuthFailure(pool: pg.Pool, client: string, now: number, windowMs: number): Promise<number> {
  const { rows } = await pool.query(
    `INSERT INTO rate_counters (principal, window_name, window_start, count) VALUES ($1, $2, $3, 1)
     ON CONFLICT (principal, window_name) DO UPDATE SET
       count = CASE WHEN rate_counters.window_start = excluded.window_start THEN rate_counters.count + 1 ELSE 1 END,
       window_start = excluded.window_start
     RETURNING count`,
    [authFailPrincipal(client), AUTH_FAILURE_WINDOW, fixedWindowStart(windowMs, now)],
  );
  return (rows[0] as { count: number }).count;
}

export async function authFailures(pool: pg.Pool, client: string, now: number, windowMs: number): Promise<number> {
  const { rows } = await pool.query(
    'SELECT count FROM rate_counters WHERE principal = $1 AND window_name = $2 AND window_start = $3',
    [authFailPrincipal(client), AUTH_FAILURE_WINDOW, fixedWindowStart(windowMs, now)],
  );
  return (rows[0] as { count: number } | undefined)?.count ?? 0;
}
