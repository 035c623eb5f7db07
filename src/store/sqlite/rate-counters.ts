// Send counting for the SQLite store (see ../rate-windows.ts). One IMMEDIATE
// transaction reads and bumps the counters, so other processes on the same
// file (a second `serve`, the CLI) wait on the write lock instead of racing.
import type Database from 'better-sqlite3';
import {
  allowance, AUTH_FAILURE_WINDOW, authFailPrincipal, countsAt, fixedWindowStart, limitedWindows, windowStart,
  type SendAllowance, type SendCounts, type SendLimits,
} from '../rate-windows.ts';

type CounterRow = { window_name: string; window_start: number; count: number };

export function createRateCounters(db: Database.Database) {
  const select = db.prepare('SELECT window_name, window_start, count FROM rate_counters WHERE principal = ?');
  // A row from an earlier window starts again at 1 (SET reads the row's old values).
  const bump = db.prepare(
    `INSERT INTO rate_counters (principal, window_name, window_start, count) VALUES (?, ?, ?, 1)
     ON CONFLICT (principal, window_name) DO UPDATE SET
       count = CASE WHEN window_start = excluded.window_start THEN count + 1 ELSE 1 END, window_start = excluded.window_start`,
  );
  const bumpReturning = db.prepare(
    `INSERT INTO rate_counters (principal, window_name, window_start, count) VALUES (?, ?, ?, 1)
     ON CONFLICT (principal, window_name) DO UPDATE SET
       count = CASE WHEN window_start = excluded.window_start THEN count + 1 ELSE 1 END, window_start = excluded.window_start
     RETURNING count`,
  );
  const selectOne = db.prepare('SELECT window_start, count FROM rate_counters WHERE principal = ? AND window_name = ?');
  const counts = (principal: string, now: number): SendCounts => countsAt(select.all(principal) as CounterRow[], now);
  const consume = db.transaction((principal: string, now: number, limits: SendLimits): SendAllowance => {
    const verdict = allowance(counts(principal, now), limits, now);
    if (verdict.ok) for (const name of limitedWindows(limits)) bump.run(principal, name, windowStart(name, now));
    return verdict;
  });
  return {
    consume: (principal: string, now: number, limits: SendLimits): SendAllowance => consume.immediate(principal, now, limits),
    counts,
    addAuthFailure: (client: string, now: number, windowMs: number): number =>
      (bumpReturning.get(authFailPrincipal(client), AUTH_FAILURE_WINDOW, fixedWindowStart(windowMs, now)) as { count: number }).count,
    authFailures: (client: string, now: number, windowMs: number): number => {
      const r = selectOne.get(authFailPrincipal(client), AUTH_FAILURE_WINDOW) as { window_start: number; count: number } | undefined;
      return r && r.window_start === fixedWindowStart(windowMs, now) ? r.count : 0;
    },
  };
}
