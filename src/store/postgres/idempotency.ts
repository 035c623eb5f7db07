// PostgreSQL Idempotency-Key records, and the purge of expired keys and counter windows.
import type pg from 'pg';
import type { IdempotencyClaim } from '../store.ts';

type Row = Record<string, unknown>;

/** Runs inside the caller's transaction (the ON CONFLICT row lock must cover the read). */
export async function claimIdempotencyKey(c: pg.PoolClient, scope: string, key: string, requestHash: string, now: number, ttlMs: number): Promise<IdempotencyClaim> {
  // Inserts, or takes over an expired row; a live row is left alone but
  // locked (ON CONFLICT locks it), so the read below cannot race a release.
  const claimed = await c.query(
    `INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, created_at = excluded.created_at, status = NULL, body = NULL
       WHERE idempotency_keys.created_at < $5`,
    [scope, key, requestHash, now, now - ttlMs],
  );
  if (claimed.rowCount) return { state: 'new' };
  const r = (await c.query('SELECT * FROM idempotency_keys WHERE scope = $1 AND key = $2', [scope, key])).rows[0] as Row;
  if (r.status == null) return { state: 'pending', requestHash: r.request_hash as string };
  return { state: 'done', requestHash: r.request_hash as string, status: r.status as number, body: r.body as string };
}

export async function completeIdempotencyKey(pool: pg.Pool, scope: string, key: string, status: number, body: string): Promise<void> {
  await pool.query('UPDATE idempotency_keys SET status = $1, body = $2 WHERE scope = $3 AND key = $4', [status, body, scope, key]);
}

export async function releaseIdempotencyKey(pool: pg.Pool, scope: string, key: string): Promise<void> {
  await pool.query('DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status IS NULL', [scope, key]);
}

export async function purgeExpired(pool: pg.Pool, cut: { idempotencyBefore: number; countersBefore: number }): Promise<number> {
  const a = await pool.query('DELETE FROM idempotency_keys WHERE created_at < $1', [cut.idempotencyBefore]);
  const b = await pool.query('DELETE FROM rate_counters WHERE window_start < $1', [cut.countersBefore]);
  return (a.rowCount ?? 0) + (b.rowCount ?? 0);
}
