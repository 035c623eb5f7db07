// WAL checkpoints off the event loop (checkpointer.ts): seen from the kernel, and when they fail.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { msg } from '../../../test/contract/harness.ts';
import { requireProgram, skipWithout } from '../../../test/helpers/run.ts';
import { tempDir } from '../../../test/helpers/temp-dir.ts';
import { EVERY_ROWS, startCheckpointer } from './checkpointer.ts';
import { BACKSTOP_CHECKPOINT_PAGES, SQLITE_CHECKPOINT_PAGES } from './connection.ts';
import { openSqliteStore } from './sqlite-store.ts';

const run = promisify(execFile);

test('1,000 messages of 4 KiB: the event loop never syncs the database file, another thread does, and the WAL starts over', { skip: skipWithout('strace') }, async (t) => {
  const dir = tempDir(t, 'smarthost-checkpoint');
  await openSqliteStore(dir).close(); // the schema before the trace
  const trace = join(dir, 'strace.txt');
  // 20 at a time, as a busy node takes them; then the WAL's size, before close() checkpoints it away.
  const script = `
    import { statSync } from 'node:fs';
    import { msg } from ${JSON.stringify(new URL('../../../test/contract/harness.ts', import.meta.url).pathname)};
    import { openSqliteStore } from ${JSON.stringify(new URL('./sqlite-store.ts', import.meta.url).pathname)};
    const store = openSqliteStore(${JSON.stringify(dir)});
    const raw = Buffer.from('Subject: x\\r\\n\\r\\n' + 'x'.repeat(4096) + '\\r\\n');
    for (let i = 0; i < 50; i++) await Promise.all(Array.from({ length: 20 }, () => store.enqueue(msg({ raw }))));
    process.stdout.write(process.pid + ' ' + statSync(${JSON.stringify(join(dir, 'smarthost.db-wal'))}).size);
    await store.close();`;
  const { stdout } = await run(requireProgram('strace'), ['-f', '-y', '-e', 'trace=fsync,fdatasync', '-o', trace,
    process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: new URL('../../..', import.meta.url).pathname });

  const lines = readFileSync(trace, 'utf8').split('\n').filter((l) => /f(data)?sync\(/.test(l));
  const [mainTid, walBytes] = stdout.split(' ');
  const ofDatabase = lines.filter((l) => l.includes('/smarthost.db>'));
  // close() is the last connection's own checkpoint, on the event loop: not counted.
  const beforeClose = ofDatabase.slice(0, -1);
  assert.ok(beforeClose.length >= 2, `the database file was synced ${beforeClose.length} times: no checkpoint ran\n${lines.join('\n')}`);
  assert.deepEqual(beforeClose.filter((l) => l.startsWith(`${mainTid} `)), [], 'the event loop synced the database file (a checkpoint of its own)');
  // Without a restart 1,000 messages take about 7,000 pages of WAL (28 MB); the checkpoints keep it near 1,500.
  assert.ok(Number(walBytes) < 12 * 2 ** 20, `the WAL grew to ${walBytes} bytes: it never started over`);
});

test('the connection that commits leaves checkpoints to the checkpointer, keeping its own only as a backstop', (t) => {
  const store = openSqliteStore(tempDir(t, 'smarthost-checkpoint'));
  t.after(() => store.close());
  const db = (store as unknown as { db: { pragma(s: string, o: { simple: true }): unknown } }).db;
  assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), BACKSTOP_CHECKPOINT_PAGES);
});

test('a checkpoint empties the WAL into the database file, from a thread of its own', async (t) => {
  const dir = tempDir(t, 'smarthost-checkpoint');
  const store = openSqliteStore(dir);
  t.after(() => store.close());
  await Promise.all(Array.from({ length: 20 }, () => store.enqueue(msg())));
  const checkpointer = startCheckpointer(join(dir, 'smarthost.db'), (err) => assert.fail(err));
  t.after(() => checkpointer.close());
  checkpointer.committed(EVERY_ROWS, 0);
  await checkpointer.due();
  const other = new Database(join(dir, 'smarthost.db'));
  t.after(() => other.close());
  const [r] = other.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
  assert.ok(r!.log > 0 && r!.checkpointed === r!.log, `frames left behind: ${JSON.stringify(r)}`);
});

test('a checkpoint that fails is reported once, resolves (the next batch goes on), and none is tried again', async (t) => {
  const path = join(tempDir(t, 'smarthost-checkpoint'), 'not-a-database');
  writeFileSync(path, 'x'.repeat(8192));
  const failures: string[] = [];
  const checkpointer = startCheckpointer(path, (err) => failures.push(err.message));
  t.after(() => checkpointer.close());
  checkpointer.committed(EVERY_ROWS, 0);
  await checkpointer.due();
  assert.deepEqual(failures, ['WAL checkpoint failed: file is not a database']);
  checkpointer.committed(EVERY_ROWS, 0);
  assert.equal(checkpointer.due(), undefined);
});

test('a database the checkpoint thread cannot open is reported with the reason', async (t) => {
  const failures: string[] = [];
  const checkpointer = startCheckpointer(join(tempDir(t, 'smarthost-checkpoint'), 'gone', 'smarthost.db'), (err) => failures.push(err.message));
  t.after(() => checkpointer.close());
  checkpointer.committed(EVERY_ROWS, 0);
  await checkpointer.due();
  assert.match(failures.join(), /^WAL checkpoint failed: Cannot open database because the directory does not exist$/);
});

test('after a failed checkpoint the store checkpoints on its own again (SQLite\'s 1,000 pages) and keeps taking mail', async (t) => {
  const dir = tempDir(t, 'smarthost-checkpoint');
  const store = openSqliteStore(dir);
  t.after(() => store.close());
  const db = (store as unknown as { db: Database.Database }).db;
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  t.after(() => void process.off('warning', onWarning));
  // The checkpoint thread's connection cannot open a database that is no longer where the store found it.
  renameSync(dir, `${dir}-moved`);
  t.after(() => renameSync(`${dir}-moved`, dir));
  const raw = Buffer.alloc(5 * 2 ** 20, 'x'); // past EVERY_BYTES at once
  await store.enqueue(msg({ raw }));
  for (let i = 0; i < 50 && warnings.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.match(warnings.join(), /^WAL checkpoint failed: .*; SQLite checkpoints the WAL itself from now on$/);
  assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), SQLITE_CHECKPOINT_PAGES);
  await store.enqueue(msg());
  await store.ready();
});

test('after close() nothing is due and no thread starts', async () => {
  const checkpointer = startCheckpointer('/nonexistent/smarthost.db', (err) => assert.fail(err));
  await checkpointer.close();
  checkpointer.committed(EVERY_ROWS, 0);
  assert.equal(checkpointer.due(), undefined);
});

test('nothing is due before enough is written, and a quiet store never starts the thread', () => {
  const checkpointer = startCheckpointer('/nonexistent/smarthost.db', (err) => assert.fail(err));
  assert.equal(checkpointer.due(), undefined, 'nothing written');
  checkpointer.committed(10, 4096);
  assert.equal(checkpointer.due(), undefined, '10 rows, 4 KiB');
  return checkpointer.close();
});
