import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topFrames } from './profile-top.ts';
import { cpuSeconds } from './machine.ts';

test('topFrames sums self time per frame and per package, largest first', () => {
  const frame = (id: number, functionName: string, url: string, children?: number[]) =>
    ({ id, callFrame: { functionName, url, lineNumber: 9 }, children });
  const profile = {
    nodes: [
      frame(1, '(root)', '', [2, 3, 4]),
      frame(2, 'sqliteTransaction', 'file:///w/node_modules/better-sqlite3/lib/methods/transaction.js'),
      frame(3, 'claimDue', 'file:///w/src/store/sqlite/sqlite-store.ts'),
      frame(4, 'prepare', 'file:///w/node_modules/better-sqlite3/lib/methods/wrappers.js'),
    ],
    samples: [2, 2, 3, 4, 2],
    timeDeltas: [1000, 1000, 500, 250, 1000],
  };
  const { frames, files, totalMs } = topFrames(profile);
  assert.equal(totalMs, 3.75);
  assert.deepEqual(frames[0], ['sqliteTransaction node_modules/better-sqlite3/lib/methods/transaction.js:10', 3]);
  assert.deepEqual(frames[1], ['claimDue src/store/sqlite/sqlite-store.ts:10', 0.5]);
  assert.deepEqual(files[0], ['node_modules/better-sqlite3', 3.25]);
  assert.deepEqual(files[1], ['src/store/sqlite/sqlite-store.ts', 0.5]);
});

test('cpuSeconds reads this process’s CPU time and sees it grow', () => {
  const before = cpuSeconds([process.pid]);
  const end = performance.now() + 200;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  assert.ok(x > 0);
  const after = cpuSeconds([process.pid]);
  assert.ok(after > before, `${after} > ${before}`);
  assert.equal(cpuSeconds([2 ** 22 + 12345]), 0, 'a process that does not exist counts nothing');
});
