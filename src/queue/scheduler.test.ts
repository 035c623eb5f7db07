import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { waitFor } from '../../test/helpers/wait.ts';
import type { DeliverDeps } from '../delivery/deliver.ts';
import type { DeliveryGroup, Router } from '../delivery/router.ts';
import { newMessageId } from '../store/ids.ts';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { ClaimedRecipient, NewMessage, Store, StoredMessage } from '../store/store.ts';
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

/** A store whose claims hand out the given batches in turn (then nothing), counting them; router groups nothing. */
function countingStore(batches: number[]) {
  const claims: { limit: number; got: number }[] = [];
  let listener = () => {};
  const store = {
    watchWork: (l: () => void) => ((listener = l), () => {}),
    claimDue: async ({ limit }: { limit: number }) => {
      const got = Math.min(limit, batches.shift() ?? 0);
      claims.push({ limit, got });
      return Array.from({ length: got }, (_, i) => ({ id: i }));
    },
    nextDueAt: async () => undefined,
    renewLeases: async () => {},
    releaseLeases: async () => {},
  } as unknown as Store;
  return { store, claims, wake: () => listener() };
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
};

test('a claim that took less than its limit is not followed by another until new work wakes the scheduler', async (t) => {
  const { store, claims, wake } = countingStore([3, 2]);
  const scheduler = new Scheduler(store, { group: () => [] } as unknown as Router, {} as DeliverDeps, pino({ level: 'silent' }), { concurrency: 2, leaseMs: 60_000 });
  scheduler.start();
  t.after(() => scheduler.stop(100));
  await settle();
  assert.deepEqual(claims, [{ limit: 16, got: 3 }], 'claimed again after taking all that was due');
  wake();
  wake();
  await settle();
  assert.deepEqual(claims.map((c) => c.got), [3, 2], 'one claim per wake-up, however many wakes');
});

test('a full claim is followed by another at once: more may be due', async (t) => {
  const { store, claims } = countingStore([16, 16, 5]);
  const scheduler = new Scheduler(store, { group: () => [] } as unknown as Router, {} as DeliverDeps, pino({ level: 'silent' }), { concurrency: 2, leaseMs: 60_000 });
  scheduler.start();
  t.after(() => scheduler.stop(100));
  await settle();
  assert.deepEqual(claims.map((c) => c.got), [16, 16, 5]);
});

test('a delivery that ends makes the scheduler claim again only when the store says work is due', async (t) => {
  const { store, claims, wake } = countingStore([1, 1, 1]);
  let due: number | undefined;
  const ends: (() => void)[] = [];
  const claim = store.claimDue.bind(store);
  Object.assign(store, {
    claimDue: (o: Parameters<Store['claimDue']>[0]) => ((due = undefined), claim(o)), // a claim takes what was due
    nextDueAt: async () => due,
    // Each delivery stops at reading its message, until the test ends it (it fails: its lease is given back).
    getMessage: () => new Promise((_, reject) => ends.push(() => reject(new Error('ended by the test')))),
  });
  const router = { group: (rows: { id: number }[]) => rows.map((r) => ({ messageId: `m${r.id}`, routes: [], recipients: [r] })) } as unknown as Router;
  const deps = { store } as DeliverDeps;
  const scheduler = new Scheduler(store, router, deps, pino({ level: 'silent' }), { concurrency: 2, leaseMs: 60_000 });
  scheduler.start();
  t.after(() => (ends.forEach((end) => end()), scheduler.stop(100)));
  await settle();
  assert.equal(claims.length, 1);

  ends.shift()!();
  await settle();
  assert.equal(claims.length, 1, 'claimed again with nothing due');

  wake();
  await settle();
  assert.equal(claims.length, 2, 'new work was not claimed');
  due = Date.now() - 1; // the lease it gives back is due at once
  ends.shift()!();
  await settle();
  assert.equal(claims.length, 3, 'work due again was not claimed');
});

test('new work that arrives while a claim is running is claimed next, even when the claim was short', async (t) => {
  const { store, claims, wake } = countingStore([1, 1]);
  let release = () => {};
  const claim = store.claimDue.bind(store);
  Object.assign(store, {
    // The first claim waits (as a PostgreSQL round trip does) while a message is queued.
    claimDue: async (o: Parameters<Store['claimDue']>[0]) => {
      if (claims.length === 0) await new Promise<void>((resolve) => (release = resolve));
      return claim(o);
    },
  });
  const scheduler = new Scheduler(store, { group: () => [] } as unknown as Router, {} as DeliverDeps, pino({ level: 'silent' }), { concurrency: 2, leaseMs: 60_000 });
  scheduler.start();
  t.after(() => scheduler.stop(100));
  await settle();
  wake();
  release();
  await settle();
  assert.deepEqual(claims.map((c) => c.got), [1, 1], 'the work queued during the claim was left for a timed look');
});

test('twenty deliveries in flight, each listening for the shutdown signal, raise no listener-leak warning', async (t) => {
  const groups = 20;
  const claimed = Array.from({ length: groups }, (_, i) => ({ id: i, messageId: `m${i}`, address: `r${i}@example.org`, attempts: 0, messageCreatedAt: Date.now() }));
  let listening = 0;
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const transport = {
    name: 'test',
    async send(_msg: unknown, rcpts: readonly string[], signal: AbortSignal) {
      // As smtp-session.ts does for each attempt: close the session if the scheduler stops.
      const onAbort = () => {};
      signal.addEventListener('abort', onAbort, { once: true });
      listening++;
      await released;
      signal.removeEventListener('abort', onAbort);
      return rcpts.map((rcpt) => ({ rcpt, kind: 'delivered' as const, reply: { code: 250, enhanced: '2.0.0', text: 'ok' } }));
    },
  };
  let handed = false;
  const store = {
    watchWork: () => () => {},
    claimDue: async () => (handed ? [] : ((handed = true), claimed)),
    nextDueAt: async () => undefined,
    getMessage: async (id: string) => ({ id, sender: 'a@example.com', raw: Buffer.from('x'), source: 'smtp', credential: null, clientAddress: null, size: 1, createdAt: Date.now() }),
    recordResults: async () => {},
    renewLeases: async () => {},
    releaseLeases: async () => {},
  } as unknown as Store;
  const router = { group: (rs: typeof claimed) => rs.map((r) => ({ messageId: r.messageId, routes: [transport], recipients: [r] })) } as unknown as Router;
  const metrics = { deliveries: { inc: () => {} }, deliveryLatency: { observe: () => {} } };
  const deps = { store, metrics, hostname: 'test', logger: pino({ level: 'silent' }), lifetimeMs: 60_000, retryInitialMs: 1000, retryMaxMs: 1000 } as unknown as DeliverDeps;
  const warnings: string[] = [];
  const onWarning = (w: Error) => void warnings.push(w.name);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const scheduler = new Scheduler(store, router, deps, pino({ level: 'silent' }), { concurrency: groups, leaseMs: 60_000 });
  scheduler.start();
  t.after(async () => {
    release();
    await scheduler.stop(1000);
  });
  const deadline = Date.now() + 10_000;
  while (listening < groups && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(listening, groups, 'every delivery started');
  await new Promise((resolve) => setImmediate(resolve)); // 'warning' is emitted on the next tick
  assert.deepEqual(warnings.filter((w) => w === 'MaxListenersExceededWarning'), []);
});

/** A real SQLite store counting claims and body reads, a transport that records what it sent, and a router to it. */
function handoffRig(t: TestContext, route?: (rs: ClaimedRecipient[]) => DeliveryGroup[]) {
  const store = openSqliteStore(tempDir(t, 'handoff'));
  const counts = { claims: 0, reads: 0 };
  const claimDue = store.claimDue.bind(store);
  const getMessage = store.getMessage.bind(store);
  store.claimDue = (o) => (counts.claims++, claimDue(o));
  store.getMessage = (id) => (counts.reads++, getMessage(id));
  const sent: { raw: string; rcpts: readonly string[] }[] = [];
  const transport = {
    name: 'test',
    async send(m: StoredMessage, rcpts: readonly string[]) {
      sent.push({ raw: m.raw.toString(), rcpts });
      return rcpts.map((rcpt) => ({ rcpt, kind: 'delivered' as const, reply: { code: 250, enhanced: '2.0.0', text: 'ok' } }));
    },
  };
  const router = { group: route ?? ((rs: ClaimedRecipient[]) => [{ messageId: rs[0]!.messageId, routes: [transport], recipients: rs }]) } as unknown as Router;
  const metrics = { deliveries: { inc: () => {} }, deliveryLatency: { observe: () => {} } };
  const deps = { store, metrics, hostname: 'test', logger: pino({ level: 'silent' }), lifetimeMs: 60_000, retryInitialMs: 1000, retryMaxMs: 1000 } as unknown as DeliverDeps;
  const scheduler = new Scheduler(store, router, deps, pino({ level: 'silent' }), { concurrency: 1, leaseMs: 60_000 });
  t.after(async () => {
    await scheduler.stop(1000);
    await store.close();
  });
  const newMessage = (lease: NewMessage['lease']): NewMessage => ({
    id: newMessageId(), sender: 'app@example.com', raw: Buffer.from('Subject: handed over\r\n\r\nbody\r\n'), source: 'smtp', credential: null,
    clientAddress: '127.0.0.1', createdAt: Date.now(), recipients: [{ address: 'a@example.org', status: 'queued' }], lease,
  });
  const stored = (m: NewMessage): StoredMessage => ({ id: m.id, sender: m.sender, raw: m.raw, source: m.source, credential: m.credential, clientAddress: m.clientAddress, size: m.raw.length, createdAt: m.createdAt });
  return { store, counts, sent, scheduler, newMessage, stored };
}

test('a message committed under reserve() is delivered from memory: no claim, no read of its body', async (t) => {
  const { store, counts, sent, scheduler, newMessage, stored } = handoffRig(t);
  assert.equal(scheduler.reserve(), undefined, 'reserved before the scheduler started');
  scheduler.start();
  await settle(); // its first look at the queue: one claim, which finds nothing
  const before = { ...counts };
  const lease = scheduler.reserve();
  assert.ok(lease);
  const m = newMessage(lease);
  const claimed = await store.enqueue(m);
  assert.equal(claimed.length, 1);
  scheduler.queued(true, claimed, stored(m));
  await waitFor('the handed-over message delivered', async () => (await store.getMessageSummary(m.id))?.recipients[0]?.status === 'delivered', 5_000);
  assert.deepEqual(sent, [{ raw: 'Subject: handed over\r\n\r\nbody\r\n', rcpts: ['a@example.org'] }]);
  assert.deepEqual(counts, before, 'claimed or read from the store');
});

test('reserve() holds a delivery slot until queued(); none when every slot is busy or after stop; a late hand-over gives its leases back', async (t) => {
  const { store, sent, scheduler, newMessage, stored } = handoffRig(t);
  scheduler.start();
  await settle();
  const lease = scheduler.reserve();
  assert.ok(lease);
  assert.equal(scheduler.reserve(), undefined, 'a second reservation with concurrency 1');
  scheduler.queued(true, [], undefined); // its commit failed
  const again = scheduler.reserve();
  assert.ok(again, 'the failed commit kept its slot');
  // The scheduler stops (giving back its leases) while the message is being committed under its lease.
  await scheduler.stop(1000);
  assert.equal(scheduler.reserve(), undefined, 'reserved after stop');
  const m = newMessage(again);
  const claimed = await store.enqueue(m);
  scheduler.queued(true, claimed, stored(m));
  await waitFor('the lease given back', async () => (await store.claimDue({ now: Date.now(), limit: 10, leaseMs: 1000, owner: 'other' })).length === 1, 5_000);
  assert.deepEqual(sent, [], 'delivered after stop');
});

test('a hand-over whose routing throws does not fail the accept: its leases are given back for a claim', async (t) => {
  const { store, sent, scheduler, newMessage, stored } = handoffRig(t, () => {
    throw new Error('no route');
  });
  scheduler.start();
  await settle();
  const m = newMessage(scheduler.reserve());
  const claimed = await store.enqueue(m);
  assert.equal(claimed.length, 1);
  assert.doesNotThrow(() => scheduler.queued(true, claimed, stored(m)));
  await waitFor('the lease given back', async () => (await store.claimDue({ now: Date.now(), limit: 10, leaseMs: 1000, owner: 'other' }))[0]?.messageId === m.id, 5_000);
  assert.deepEqual(sent, []);
  assert.ok(scheduler.reserve(), 'the slot stayed reserved');
});

