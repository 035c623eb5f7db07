// The store contract against the real PostgreSQL (test/helpers/postgres.ts),
// each test in a fresh schema, plus what only a networked store has to prove:
// migrations racing at start, wake-ups across nodes, commits that are shared and durable.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { newMessageId } from '../../src/store/ids.ts';
import { openPostgresStore, PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations.ts';
import type { NewMessage } from '../../src/store/store.ts';
import { adminQuery, createDatabase, createSchema, dropSchema, postgresSkip } from '../helpers/postgres.ts';
import { storeContract, type StoreFactory } from './store.ts';
import { adminStoreContract } from './admin-store.ts';

const skip = await postgresSkip();
// pg warns once per process about a query sent while the connection is busy:
// collected from the start, so every test in this file counts.
const deprecations: string[] = [];
process.on('warning', (w) => {
  if (w.name === 'DeprecationWarning') deprecations.push(w.message);
});
const schemas: string[] = [];
after(() => Promise.all(schemas.map(dropSchema)));

async function freshUrl(extraOptions = ''): Promise<string> {
  const { name, url } = await createSchema();
  schemas.push(name);
  if (!extraOptions) return url;
  const u = new URL(url);
  u.searchParams.set('options', `${u.searchParams.get('options')} ${extraOptions}`);
  return u.toString();
}

const msg = (): NewMessage => ({
  id: newMessageId(), sender: 'app@example.com', raw: Buffer.from('Subject: x\r\n\r\nbody\r\n'),
  recipients: [{ address: 'a@example.org', status: 'queued' }], source: 'smtp', credential: 'app', clientAddress: '127.0.0.1', createdAt: 1_000,
});

if (skip) {
  test('postgres: store contract', { skip }, () => {});
} else {
  const postgresFactory: StoreFactory = {
    open: async () => openPostgresStore(await freshUrl()),
    reopen: async (s) => {
      const url = (s as PostgresStore).url;
      await s.close();
      return openPostgresStore(url);
    },
    sibling: async (s) => openPostgresStore((s as PostgresStore).url),
  };
  storeContract('postgres', postgresFactory);
  adminStoreContract('postgres', postgresFactory);


  test('postgres: nodes starting together migrate once, under the advisory lock', async () => {
    const url = await freshUrl();
    const stores = await Promise.all(Array.from({ length: 5 }, () => openPostgresStore(url)));
    try {
      const { rows } = await adminQuery(`SELECT version FROM ${new URL(url).searchParams.get('options')!.split('=')[1]}.schema_migrations ORDER BY version`);
      assert.deepEqual(rows.map((r) => r.version), POSTGRES_MIGRATIONS.map((_, i) => i + 1));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('postgres: an enqueue or retry on one node wakes watchers on another (LISTEN/NOTIFY)', async () => {
    const url = await freshUrl();
    const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
    try {
      let calls = 0;
      const waitCalls = async (n: number, what: string) => {
        for (const deadline = Date.now() + 5_000; calls < n; await new Promise((r) => setTimeout(r, 10)))
          assert.ok(Date.now() < deadline, `node a was not woken ${what} within 5 s`);
      };
      a.watchWork(() => calls++);
      await waitCalls(1, 'once listening');
      const m = msg();
      await b.enqueue(m);
      await waitCalls(2, 'by an enqueue on node b');
      await b.retryMessage(m.id, 2_000);
      await waitCalls(3, 'by a retry on node b');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('postgres: a lost LISTEN connection is opened again, and wakes its watchers when it is', async () => {
    const store = await openPostgresStore(await freshUrl());
    try {
      let calls = 0;
      const waitCalls = async (n: number, what: string) => {
        for (const deadline = Date.now() + 5_000; calls < n; await new Promise((r) => setTimeout(r, 10)))
          assert.ok(Date.now() < deadline, `no wake-up ${what} within 5 s`);
      };
      store.watchWork(() => calls++);
      await waitCalls(1, 'once listening');
      const pid = (store as unknown as { listenClient: { processID: number } }).listenClient.processID;
      await adminQuery(`SELECT pg_terminate_backend(${pid})`);
      await waitCalls(2, 'after the LISTEN connection came back');
      await store.enqueue(msg());
      await waitCalls(3, 'by an enqueue on the new connection');
    } finally {
      await store.close();
    }
  });

  test('postgres: enqueues of one event-loop turn share one transaction (group commit)', async () => {
    const store = await openPostgresStore(await freshUrl());
    try {
      await Promise.all(Array.from({ length: 50 }, () => store.enqueue(msg())));
      await Promise.all(Array.from({ length: 3 }, () => store.enqueue(msg())));
      // xmin is the inserting transaction: two turns, two transactions.
      const { rows } = await (store as unknown as { pool: { query(sql: string): Promise<{ rows: { n: number }[] }> } }).pool
        .query('SELECT count(DISTINCT xmin::text) AS n FROM messages');
      assert.equal(rows[0]!.n, 2);
      assert.equal(await store.countPending(), 53);
    } finally {
      await store.close();
    }
  });

  test('postgres: sessions commit with synchronous_commit on even when the server default is off', async () => {
    const store = await openPostgresStore(await freshUrl('-c synchronous_commit=off'));
    try {
      const pool = (store as unknown as { pool: { query(sql: string): Promise<{ rows: { synchronous_commit: string }[] }> } }).pool;
      assert.equal((await pool.query('SHOW synchronous_commit')).rows[0]!.synchronous_commit, 'on');
    } finally {
      await store.close();
    }
  });

  test('postgres: a database default of off is turned on for our sessions; remote_apply is left alone', async (t) => {
    const url = await createDatabase(t);
    const name = new URL(url).pathname.slice(1);
    const levels = async (setting: string) => {
      await adminQuery(`ALTER DATABASE ${name} SET synchronous_commit = ${setting}`);
      const store = await openPostgresStore(url);
      try {
        const pool = (store as unknown as { pool: { query(sql: string): Promise<{ rows: { synchronous_commit: string }[] }> } }).pool;
        // Concurrent queries open several connections: each is prepared before its first query.
        const shown = await Promise.all(Array.from({ length: 4 }, () => pool.query('SHOW synchronous_commit')));
        return shown.map((r) => r.rows[0]!.synchronous_commit);
      } finally {
        await store.close();
      }
    };
    assert.deepEqual(await levels('off'), ['on', 'on', 'on', 'on']);
    assert.deepEqual(await levels('remote_apply'), ['remote_apply', 'remote_apply', 'remote_apply', 'remote_apply']);
  });

  test('postgres: every statement sent is counted, and /metrics exposes the count', async () => {
    const store = await openPostgresStore(await freshUrl());
    try {
      const before = store.statementCount();
      await store.enqueue(msg()); // BEGIN, the inserts, NOTIFY, COMMIT: several statements, one group commit
      await store.countPending(); // exactly one statement
      const afterEnqueue = store.statementCount();
      assert.ok(afterEnqueue - before >= 4, `${afterEnqueue - before} statements for one enqueue and one count`);
      await store.countPending();
      assert.equal(store.statementCount(), afterEnqueue + 1);
      const { createMetrics } = await import('../../src/metrics/metrics.ts');
      const text = await createMetrics(store).registry.metrics();
      const exposed = Number(/^smarthost_store_queries_total (\d+)$/m.exec(text)?.[1]);
      // Scraping runs its own countByStatus: at least what we saw, a few statements more at most.
      assert.ok(exposed >= afterEnqueue + 1 && exposed <= afterEnqueue + 3, `${exposed}`);
    } finally {
      await store.close();
    }
  });

  test('postgres: no query is ever sent on a connection that is still busy (no pg DeprecationWarning)', async () => {
    const store = await openPostgresStore(await freshUrl());
    try {
      // Fresh connections, each taken for a query right away, as the dashboard benchmark does.
      await Promise.all([store.enqueue(msg()), ...Array.from({ length: 8 }, () => store.countPending())]);
    } finally {
      await store.close();
    }
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    assert.deepEqual(deprecations, []);
  });
}
