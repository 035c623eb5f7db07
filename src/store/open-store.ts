// The one place that picks the adapter: a database URL means PostgreSQL
// (several nodes share it), none means the embedded SQLite file in dataDir.
import type { Config } from '../config/schema.ts';
import { openPostgresStore } from './postgres/postgres-store.ts';
import { openSqliteStore } from './sqlite/sqlite-store.ts';
import type { Store } from './store.ts';

export function openStore(config: Pick<Config, 'databaseUrl' | 'dataDir'>): Promise<Store> {
  return config.databaseUrl ? openPostgresStore(config.databaseUrl) : Promise.resolve(openSqliteStore(config.dataDir));
}
