import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAsyncGroupCommit } from './async-group-commit.ts';

test('writes of one event-loop turn share one batch; the next turn gets its own', async () => {
  const batches: number[][] = [];
  const write = createAsyncGroupCommit<number>(async (items) => void batches.push(items));
  await Promise.all([write(1), write(2), write(3)]);
  await write(4);
  assert.deepEqual(batches, [[1, 2, 3], [4]]);
});

test('a failing batch is retried item by item, so only the bad item is rejected', async () => {
  const write = createAsyncGroupCommit<number>(async (items) => {
    if (items.includes(2)) throw new Error('duplicate');
  });
  const results = await Promise.allSettled([write(1), write(2), write(3)]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
});
