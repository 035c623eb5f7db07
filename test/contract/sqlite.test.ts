import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { openSqliteStore, SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { storeContract, type StoreFactory } from './store.ts';
import { adminStoreContract } from './admin-store.ts';

const sqliteFactory: StoreFactory = {
  open: async () => openSqliteStore(mkdtempSync(join(tmpdir(), 'smarthost-store-'))),
  reopen: async (s) => {
    const path = (s as SqliteStore).path;
    await s.close();
    return new SqliteStore(path);
  },
  sibling: async (s) => new SqliteStore((s as SqliteStore).path),
};
storeContract('sqlite', sqliteFactory);
adminStoreContract('sqlite', sqliteFactory);

test('sqlite: WAL journal and synchronous=FULL on the connection that commits', async () => {
  const store = openSqliteStore(mkdtempSync(join(tmpdir(), 'smarthost-store-')));
  const db = (store as unknown as { db: Database.Database }).db;
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('synchronous', { simple: true }), 2); // 2 = FULL
  await store.close();
});
