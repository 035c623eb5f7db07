// The one place that picks the adapter: a database URL means PostgreSQL
// (several nodes share it), none means the embedded SQLite file in dataDir.
// The PostgreSQL adapter and its driver are loaded only when used (about 5 MB
// of a SQLite node's memory otherwise).
import type { Config } from '../config/schema.ts';
import { openSqliteStore } from './sqlite/sqlite-store.ts';
import type { Store } from './store.ts';

export async function openStore(config: Pick<Config, 'databaseUrl' | 'dataDir'>): Promise<Store> {
  if (!config.databaseUrl) return openSqliteStore(config.dataDir);
  const { openPostgresStore } = await import('./postgres/postgres-store.ts');
  return openPostgresStore(config.databaseUrl);
}
