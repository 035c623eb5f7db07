import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { DeliverDeps } from '../delivery/deliver.ts';
import type { Router } from '../delivery/router.ts';
import type { Store } from '../store/store.ts';
import { Scheduler } from './scheduler.ts';

test('a failed claim (SQLITE_BUSY) is logged and retried: the scheduler keeps running', async () => {
  let claims = 0;
  const store = {
    watchWork: () => () => {},
    claimDue: async () => {
      claims++;
      if (claims === 1) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      return [];
    },
    nextDueAt: async () => Date.now(), // always due: the scheduler looks again at once
    renewLeases: async () => {},
    releaseLeases: async () => {},
  } as unknown as Store;
  const router = { group: () => [] } as unknown as Router;
  const errors: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(JSON.parse(line).msg) });
  const scheduler = new Scheduler(store, router, {} as DeliverDeps, logger, { concurrency: 2, leaseMs: 60_000 });
  scheduler.start();
  const deadline = Date.now() + 10_000;
  while (claims < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  await scheduler.stop(100);
  assert.ok(claims >= 3, `claimed ${claims} times`);
  assert.deepEqual(errors, ['claiming due recipients failed; trying again in a second']);
});
