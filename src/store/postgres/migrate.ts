// Applies the versioned schema at start: one node at a time, each version in its own transaction.
import type pg from 'pg';
import { POSTGRES_MIGRATIONS } from './migrations.ts';

/** pg_advisory_lock key held while migrating ('smth'), so nodes starting together migrate one at a time. */
const MIGRATION_LOCK = 0x736d7468;

export async function applyMigrations(pool: pg.Pool): Promise<void> {
  const c = await pool.connect();
  let broken: unknown;
  try {
    // Session-level lock: nodes starting together wait here; the first applies
    // each version, the others then find it applied.
    await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
      const applied = (await c.query('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations')).rows[0].v as number;
      for (let version = applied + 1; version <= POSTGRES_MIGRATIONS.length; version++) {
        await c.query('BEGIN');
        try {
          await c.query(POSTGRES_MIGRATIONS[version - 1]!);
          await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [version, Date.now()]);
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK').catch(() => {});
          throw err;
        }
      }
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch((err: unknown) => (broken = err));
    }
  } finally {
    // A connection whose unlock failed is closed, which frees the lock too.
    c.release(broken as Error | undefined);
  }
}
