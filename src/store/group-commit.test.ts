import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createGroupCommit } from './group-commit.ts';

/** In these tests a negative item stands for a delivery result (not durable), others for messages. */
const durable = (n: number) => n >= 0;

/** A sync the test finishes by hand, recording what was written when each one started. */
function manualSync(log: string[]) {
  const waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  const sync = () => {
    log.push('sync');
    return new Promise<void>((resolve, reject) => void waiting.push({ resolve, reject }));
  };
  return { sync, finish: () => waiting.shift()!.resolve(), fail: (err: Error) => waiting.shift()!.reject(err), count: () => waiting.length };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

test('writes of one turn share a transaction and a sync; none is answered before its sync ends', async () => {
  const log: string[] = [];
  const s = manualSync(log);
  const answered: number[] = [];
  const gc = createGroupCommit<number>((items) => void log.push(`write ${items}`), { sync: s.sync, durable });
  const all = [1, 2, 3].map((n) => gc.write(n).then(() => void answered.push(n)));
  await turn();
  assert.deepEqual(log, ['write 1,2,3', 'sync']);
  await turn();
  assert.deepEqual(answered, [], 'answered before the sync finished');
  s.finish();
  await Promise.all(all);
  assert.deepEqual(answered, [1, 2, 3]);
});

test('writes that arrive during a sync wait for it, then share the next transaction and sync', async () => {
  const log: string[] = [];
  const s = manualSync(log);
  const gc = createGroupCommit<number>((items) => void log.push(`write ${items}`), { sync: s.sync, durable });
  const first = gc.write(1);
  await turn();
  const later = [gc.write(2), gc.write(3)];
  await turn();
  await turn();
  assert.deepEqual(log, ['write 1', 'sync'], 'written while the previous sync ran');
  s.finish();
  await first;
  await turn();
  assert.deepEqual(log, ['write 1', 'sync', 'write 2,3', 'sync']);
  s.finish();
  await Promise.all(later);
  await gc.close();
});

test('a failing batch is retried item by item, so only the bad item is rejected', async () => {
  const written: number[][] = [];
  const gc = createGroupCommit<number>((items) => {
    if (items.includes(2)) throw new Error('constraint failed');
    written.push(items);
  }, { sync: async () => {}, durable });
  const results = await Promise.allSettled([gc.write(1), gc.write(2), gc.write(3)]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.equal((results[1] as PromiseRejectedResult).reason.message, 'constraint failed');
  assert.deepEqual(written, [[1], [3]]);
});

test('a failed sync rejects its batch and every later write, without writing them', async () => {
  const log: string[] = [];
  const s = manualSync(log);
  const gc = createGroupCommit<number>((items) => void log.push(`write ${items}`), { sync: s.sync, durable });
  const first = gc.write(1);
  await turn();
  const during = gc.write(2);
  s.fail(new Error('EIO: i/o error, fdatasync'));
  await assert.rejects(first, /EIO/);
  await assert.rejects(during, /EIO/);
  await assert.rejects(gc.write(3), /EIO/);
  assert.deepEqual(log, ['write 1', 'sync']);
  assert.equal(s.count(), 0);
});

test('close() waits for the batch being synced', async () => {
  const s = manualSync([]);
  const gc = createGroupCommit<number>(() => {}, { sync: s.sync, durable });
  let closed = false;
  void gc.write(1);
  const closing = gc.close().then(() => (closed = true));
  await turn();
  await turn();
  assert.equal(closed, false);
  s.finish();
  await closing;
});

test('a delivery result is answered once committed; a lazy sync follows; a message in the batch is still synced first', async () => {
  const log: string[] = [];
  const s = manualSync(log);
  const gc = createGroupCommit<number>((items) => void log.push(`write ${items}`), { sync: s.sync, durable, lazySyncMs: 5 });
  await gc.write(-1);
  assert.deepEqual(log, ['write -1'], 'waited for a sync');
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(log, ['write -1', 'sync'], 'no lazy sync');
  s.finish();

  const answered: number[] = [];
  const both = [gc.write(2), gc.write(-2)].map((p, i) => p.then(() => void answered.push([2, -2][i]!)));
  await turn();
  await turn();
  assert.deepEqual(answered, [-2], 'the result waited, or the message did not');
  s.finish();
  await Promise.all(both);
  assert.deepEqual(log, ['write -1', 'sync', 'write 2,-2', 'sync']);
  await gc.close();
});

test('close() syncs a result whose lazy sync has not run yet', async () => {
  const log: string[] = [];
  const gc = createGroupCommit<number>((items) => void log.push(`write ${items}`), { sync: async () => void log.push('sync'), durable, lazySyncMs: 60_000 });
  await gc.write(-1);
  assert.deepEqual(log, ['write -1']);
  await gc.close();
  assert.deepEqual(log, ['write -1', 'sync']);
});

test('a failed lazy sync fails the writes after it', async () => {
  const gc = createGroupCommit<number>(() => {}, { sync: async () => { throw new Error('EIO: i/o error, fdatasync'); }, durable, lazySyncMs: 1 });
  await gc.write(-1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await assert.rejects(gc.write(1), /EIO/);
  await assert.rejects(gc.write(-2), /EIO/);
});

test('a write after close() is refused, not left to a database about to close', async () => {
  const gc = createGroupCommit<number>(() => {}, { sync: async () => {}, durable });
  await gc.close();
  await assert.rejects(gc.write(1), /the store is closed/);
});

test('SQLITE_BUSY fails the whole batch at once: no item is retried alone (each retry would wait busy_timeout)', async () => {
  let calls = 0;
  const gc = createGroupCommit<number>(() => {
    calls++;
    throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
  }, { sync: async () => {}, durable });
  const results = await Promise.allSettled([gc.write(1), gc.write(2), gc.write(3)]);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
  assert.equal(calls, 1);
});

test('afterBatch runs once a batch is answered, and the next batch commits only when its promise ends', async () => {
  const log: string[] = [];
  const s = manualSync(log);
  let endCheckpoint = () => {};
  const gc = createGroupCommit<number>((items) => void log.push(`write ${items}`), {
    sync: s.sync, durable,
    afterBatch: (items) => {
      log.push(`after ${items}`);
      return items.includes(1) ? new Promise<void>((resolve) => (endCheckpoint = resolve)) : undefined;
    },
  });
  const first = gc.write(1);
  await turn();
  s.finish();
  await first;
  await turn();
  assert.deepEqual(log, ['write 1', 'sync', 'after 1'], 'afterBatch did not run once the batch was answered');
  const second = gc.write(2);
  await turn();
  await turn();
  assert.deepEqual(log, ['write 1', 'sync', 'after 1'], 'the next batch committed during the checkpoint');
  endCheckpoint();
  for (let i = 0; i < 5 && s.count() === 0; i++) await turn();
  s.finish();
  await second;
  assert.deepEqual(log, ['write 1', 'sync', 'after 1', 'write 2', 'sync', 'after 2']);
});

test('an afterBatch that rejects fails every later write with its error, as a failed sync does', async () => {
  const gc = createGroupCommit<number>(() => {}, {
    sync: async () => {}, durable,
    afterBatch: () => Promise.reject(new Error('WAL checkpoint failed: disk I/O error')),
  });
  await gc.write(1);
  await turn();
  await assert.rejects(gc.write(2), /WAL checkpoint failed: disk I\/O error/);
  assert.match(String(gc.failure()), /disk I\/O error/);
});

test('an afterBatch that throws fails every later write with its error, and the group commit still answers', async () => {
  const gc = createGroupCommit<number>(() => {}, {
    sync: async () => {}, durable,
    afterBatch: () => {
      throw new Error('cannot start a thread');
    },
  });
  await gc.write(1);
  await assert.rejects(gc.write(2), /cannot start a thread/);
  await gc.close();
});
