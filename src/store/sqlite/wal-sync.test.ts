import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { msg } from '../../../test/contract/harness.ts';
import { requireProgram, skipWithout } from '../../../test/helpers/run.ts';
import { tempDir } from '../../../test/helpers/temp-dir.ts';
import { openSqliteStore, SqliteStore } from './sqlite-store.ts';

const run = promisify(execFile);


test('an enqueued message is committed, then answered only once the WAL sync has finished', async (t) => {
  const path = join(tempDir(t, 'smarthost-wal-sync'), 'smarthost.db');
  let finishSync = () => {};
  let syncs = 0;
  const store = new SqliteStore(path, () => (syncs++, new Promise<void>((resolve) => (finishSync = resolve))));
  t.after(() => store.close());
  const m = msg();
  let answered = false;
  const enqueued = store.enqueue(m).then(() => (answered = true));

  for (let turns = 0; syncs === 0 && turns < 100; turns++) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(syncs, 1, 'the commit was not followed by a WAL sync');
  const other = new Database(path, { readonly: true });
  t.after(() => other.close());
  assert.equal((other.prepare('SELECT count(*) AS n FROM messages WHERE id = ?').get(m.id) as { n: number }).n, 1, 'not committed before the sync');
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(answered, false, 'answered before the sync finished');
  finishSync();
  await enqueued;
  assert.equal(syncs, 1);
});

test('close() waits for a batch still syncing: its caller is answered, the message is kept', async (t) => {
  const path = join(tempDir(t, 'smarthost-wal-sync'), 'smarthost.db');
  const m = msg();
  const store = new SqliteStore(path);
  let answered = false;
  const enqueued = store.enqueue(m).then(() => (answered = true));
  await store.close();
  assert.equal(answered, true, 'closed before the batch was synced');
  await enqueued;
  const again = new SqliteStore(path);
  t.after(() => again.close());
  assert.equal((await again.getMessage(m.id))?.id, m.id);
});

// The real syncer, seen from the kernel: the event loop's thread writes the WAL
// without syncing it, a thread-pool thread fdatasyncs that same file, and the
// enqueue resolves only after that.
test('enqueue: the WAL is fdatasynced by a thread-pool thread, not the event loop, before it resolves', { skip: skipWithout('strace') }, async (t) => {
  const dir = tempDir(t, 'smarthost-wal-sync');
  await openSqliteStore(dir).close(); // the schema (and its synchronous commits) before the trace
  const trace = join(dir, 'strace.txt');
  const message = (m: ReturnType<typeof msg>) => {
    const { raw, ...fields } = m;
    return `{ ...${JSON.stringify(fields)}, raw: Buffer.from(${JSON.stringify(raw.toString())}) }`;
  };
  // The first write to a new WAL syncs its header on the event loop (SQLite's own, once per WAL
  // restart after a checkpoint), so the traced message is the second.
  const script = `
    import { openSqliteStore } from ${JSON.stringify(new URL('./sqlite-store.ts', import.meta.url).pathname)};
    const store = openSqliteStore(${JSON.stringify(dir)});
    await store.enqueue(${message(msg())});
    process.stdout.write('enqueue\\n');
    await store.enqueue(${message(msg())});
    process.stdout.write('enqueued\\n');
    await store.close();`;
  await run(requireProgram('strace'), ['-f', '-y', '-e', 'trace=fsync,fdatasync,pwrite64,write', '-o', trace,
    process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: new URL('../../..', import.meta.url).pathname });

  const lines = readFileSync(trace, 'utf8').split('\n');
  const mainTid = lines[0]!.split(/\s+/)[0];
  const from = lines.findIndex((l) => l.includes('write(1<') && l.includes('"enqueue\\n"'));
  const to = lines.findIndex((l) => l.includes('write(1<') && l.includes('"enqueued\\n"'));
  assert.ok(from > 0 && to > from, 'markers not traced');
  const during = lines.slice(from, to).filter((l) => l.includes('smarthost.db-wal>'));
  const walWrites = during.filter((l) => / pwrite64\(/.test(l));
  const syncs = during.filter((l) => /fd?a?t?a?sync\(/.test(l));
  assert.ok(walWrites.length > 0, 'the message was not written to the WAL');
  assert.ok(walWrites.every((l) => l.startsWith(`${mainTid} `)), 'WAL written off the event loop');
  assert.equal(syncs.length, 1, `one sync of the WAL expected:\n${syncs.join('\n')}`);
  assert.match(syncs[0]!, /fdatasync\(/);
  assert.notEqual(syncs[0]!.split(/\s+/)[0], mainTid, 'the event loop synced the WAL itself');
  assert.ok(during.indexOf(syncs[0]!) > during.indexOf(walWrites.at(-1)!), 'synced before the last WAL write');
});

test('after a failed WAL sync, new messages, claims and ready() fail with its error (nothing is delivered again and again)', async (t) => {
  const path = join(tempDir(t, 'smarthost-wal-sync'), 'smarthost.db');
  const store = new SqliteStore(path, async () => {
    throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
  });
  t.after(() => store.close());
  await assert.rejects(store.enqueue(msg()), /EIO/);
  await assert.rejects(store.enqueue(msg()), /EIO/);
  await assert.rejects(store.claimDue({ now: Date.now(), limit: 8, leaseMs: 60_000, owner: 'node' }), /EIO/);
  // What /readyz reports, so a load balancer stops sending here.
  await assert.rejects(store.ready(), /^Error: store cannot commit: a sync of its write-ahead log failed \(EIO: i\/o error, fdatasync\); nothing is accepted/);
});

test('a database reached through a symlink: the WAL beside the real file is the one synced', async (t) => {
  const dir = tempDir(t, 'smarthost-wal-sync');
  mkdirSync(join(dir, 'real'));
  new Database(join(dir, 'real', 'smarthost.db')).close();
  symlinkSync(join(dir, 'real', 'smarthost.db'), join(dir, 'smarthost.db'));
  const store = new SqliteStore(join(dir, 'smarthost.db'));
  t.after(() => store.close());
  const m = msg();
  await store.enqueue(m);
  assert.equal((await store.getMessage(m.id))?.id, m.id);
  assert.ok(existsSync(join(dir, 'real', 'smarthost.db-wal')) && !existsSync(join(dir, 'smarthost.db-wal')), 'SQLite put its WAL elsewhere');
});
