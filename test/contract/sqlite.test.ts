import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { DUE_SQL, openSqliteStore, SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
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

test('sqlite: the page cache is 4 MB, not the 16 MB better-sqlite3 builds SQLite with', async () => {
  const store = openSqliteStore(mkdtempSync(join(tmpdir(), 'smarthost-store-')));
  const db = (store as unknown as { db: Database.Database }).db;
  assert.equal(db.pragma('cache_size', { simple: true }), -4000);
  await store.close();
});

test('sqlite: a claim commits without fsync, and the connection is back to synchronous=FULL for the next commit', async () => {
  const store = openSqliteStore(mkdtempSync(join(tmpdir(), 'smarthost-store-')));
  const db = (store as unknown as { db: Database.Database }).db;
  await store.enqueue({
    id: '01JBENCH0000000000000000001', sender: 'a@example.com', recipients: [{ address: 'b@example.org', status: 'queued' }],
    raw: Buffer.from('Subject: x\r\n\r\nx\r\n'), source: 'smtp', credential: null, clientAddress: null, createdAt: 1,
  });
  const claimed = await store.claimDue({ now: 10, limit: 5, leaseMs: 1000, owner: 'node-a' });
  assert.equal(claimed.length, 1);
  assert.equal(db.pragma('synchronous', { simple: true }), 2); // 2 = FULL
  await store.close();
});

test('sqlite: the scheduler finds due work and its leases through indexes: no scan or sort of the queue', async () => {
  const store = openSqliteStore(mkdtempSync(join(tmpdir(), 'smarthost-store-')));
  const db = (store as unknown as { db: Database.Database }).db;
  const plan = (sql: string) => {
    const params = Array<number>((sql.match(/\?/g) ?? []).length).fill(0);
    return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join(' / ');
  };
  // A queue of 50,000 made claims and idle looks sort every waiting row (npm run bench, scenario 4).
  for (const [name, sql] of Object.entries(DUE_SQL)) {
    const p = plan(sql);
    assert.doesNotMatch(p, /TEMP B-TREE/, `${name} sorts: ${p}`);
    assert.doesNotMatch(p, /SCAN (r|recipients)$|SCAN (r|recipients) \//, `${name} scans the table: ${p}`);
  }
  assert.match(plan(DUE_SQL.claim), /SEARCH r USING INDEX recipients_due \(next_attempt_at<\?\)/);
  assert.match(plan(DUE_SQL.nextDue), /SCAN recipients USING INDEX recipients_due/);
  assert.match(plan(DUE_SQL.renewLeases), /SEARCH recipients USING (COVERING )?INDEX recipients_lease_owner \(lease_owner=\? AND rowid=\?\)/);
  await store.close();
});
