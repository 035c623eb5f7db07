// One contract for every Store adapter: SQLite now, PostgreSQL next. An
// adapter passes only if it honours each point here.
import assert from 'node:assert/strict';
import type { ClaimedRecipient, Store } from '../../src/store/store.ts';
import { dashboardStoreContract } from './dashboard-store.ts';
import { msg, storeTests } from './harness.ts';

export interface StoreFactory {
  /** A fresh, empty store. */
  open(): Promise<Store>;
  /** The same store reopened after close (for persistence checks). */
  reopen(store: Store): Promise<Store>;
  /** A second handle on the same data, open at the same time, as another node or process opens it. */
  sibling(store: Store): Promise<Store>;
}

export function storeContract(name: string, factory: StoreFactory): void {
  const withStore = storeTests(name, factory);

  withStore('enqueue keeps the bytes, envelope and one row per recipient, and survives a reopen', async (s) => {
    const raw = Buffer.from([0x53, 0x3a, 0xff, 0x00, 0x0d, 0x0a]);
    const m = msg({ raw, recipients: [{ address: 'a@Example.ORG', status: 'queued' }, { address: 'b@x.test', status: 'suppressed' }] });
    await s.enqueue(m);
    const again = await factory.reopen(s);
    const got = await again.getMessage(m.id);
    assert.deepEqual(got?.raw, raw);
    assert.equal(got?.size, raw.length);
    assert.equal(got?.sender, 'app@example.com');
    const sum = await again.getMessageSummary(m.id);
    assert.deepEqual(sum?.recipients.map((r) => [r.address, r.status]), [['a@Example.ORG', 'queued'], ['b@x.test', 'suppressed']]);
    assert.deepEqual((await again.listEvents(m.id)).map((e) => e.type), ['queued', 'suppressed']);
    await again.close();
  });

  withStore('ready() resolves while the store can take mail', async (s) => {
    await s.ready();
    await s.enqueue(msg());
    await s.ready();
  });

  withStore('concurrent enqueues all commit (group commit) and each caller learns its own failure', async (s) => {
    const msgs = Array.from({ length: 200 }, () => msg());
    await Promise.all(msgs.map((m) => s.enqueue(m)));
    assert.equal(await s.countPending(), 200);
    const dup = msgs[0]!;
    const results = await Promise.allSettled([s.enqueue(dup), s.enqueue(msg())]);
    assert.equal(results[0].status, 'rejected');
    assert.equal(results[1].status, 'fulfilled');
  });

  withStore('claimDue leases due recipients once; an expired lease makes them claimable again', async (s) => {
    await s.enqueue(msg({ createdAt: 1_000 }));
    await s.enqueue(msg({ createdAt: 5_000 }));
    const first = await s.claimDue({ now: 2_000, limit: 10, leaseMs: 1_000, owner: 'a' });
    assert.equal(first.length, 1);
    assert.equal(first[0]!.domain, 'example.org');
    assert.equal(first[0]!.sender, 'app@example.com');
    assert.equal((await s.claimDue({ now: 2_500, limit: 10, leaseMs: 1_000, owner: 'b' })).length, 0, 'leased twice');
    assert.equal(await s.nextDueAt(2_500), 5_000);
    const again = await s.claimDue({ now: 3_000, limit: 10, leaseMs: 1_000, owner: 'b' });
    assert.deepEqual(again.map((r) => r.id), first.map((r) => r.id));
  });

  withStore('recordResults sets status, schedules retries, writes events and releases leases', async (s) => {
    const m = msg({ recipients: [{ address: 'a@x.test', status: 'queued' }, { address: 'b@x.test', status: 'queued' }] });
    await s.enqueue(m);
    const [a, b] = await s.claimDue({ now: 2_000, limit: 10, leaseMs: 60_000, owner: 'n1' });
    const reply = { code: 451, enhanced: '4.7.1' as const, text: 'later' };
    await s.recordResults([
      { recipientId: a!.id, status: 'delivered', attempts: 1, lastReply: '250 2.0.0 ok', event: { messageId: m.id, recipient: 'a@x.test', type: 'delivered', at: 2_100, route: 'mx', relay: 'mx.x.test[127.0.0.2]:25', tls: 'TLSv1.3', providerMessageId: 'p-1' } },
      { recipientId: b!.id, status: 'deferred', attempts: 1, nextAttemptAt: 9_000, lastReply: '451 4.7.1 later', event: { messageId: m.id, recipient: 'b@x.test', type: 'deferred', at: 2_100, reply, attempt: 1 } },
    ], 'n1');
    const sum = await s.getMessageSummary(m.id);
    assert.deepEqual(sum?.recipients.map((r) => [r.status, r.attempts, r.lastReply]), [['delivered', 1, '250 2.0.0 ok'], ['deferred', 1, '451 4.7.1 later']]);
    assert.equal((await s.claimDue({ now: 8_999, limit: 10, leaseMs: 1, owner: 'n2' })).length, 0);
    assert.equal(await s.nextDueAt(3_000), 9_000);
    assert.equal((await s.claimDue({ now: 9_000, limit: 10, leaseMs: 1, owner: 'n2' })).length, 1);
    const events = await s.listEvents(m.id);
    const deferred = events.find((e) => e.type === 'deferred');
    assert.deepEqual(deferred?.reply, reply);
    assert.equal(events.find((e) => e.type === 'delivered')?.tls, 'TLSv1.3');
    assert.equal(events.find((e) => e.type === 'delivered')?.providerMessageId, 'p-1');
    assert.equal(deferred?.providerMessageId, undefined);
    assert.equal(await s.countPending(), 1);
  });

  withStore('recordResults keeps the route a deferred recipient resumes with until the next result clears it', async (s) => {
    const m = msg();
    await s.enqueue(m);
    const [r] = await s.claimDue({ now: 2_000, limit: 10, leaseMs: 60_000, owner: 'n1' });
    assert.equal(r!.resumeRoute, undefined);
    const deferred = (at: number, resumeRoute?: string) => ({
      recipientId: r!.id, status: 'deferred' as const, attempts: 1, nextAttemptAt: at, lastReply: '451 4.4.2 lost', ...(resumeRoute && { resumeRoute }),
      event: { messageId: m.id, recipient: r!.address, type: 'deferred' as const, at: 2_100, route: 'resend' },
    });
    await s.recordResults([deferred(3_000, 'resend')], 'n1');
    const [again] = await s.claimDue({ now: 3_000, limit: 10, leaseMs: 60_000, owner: 'n2' });
    assert.equal(again!.resumeRoute, 'resend');
    await s.recordResults([deferred(4_000)], 'n2');
    const [third] = await s.claimDue({ now: 4_000, limit: 10, leaseMs: 60_000, owner: 'n3' });
    assert.equal(third!.resumeRoute, undefined);
  });

  withStore('releaseLeases gives work back; retryMessage makes it due now; deleteMessage removes it', async (s) => {
    const m = msg();
    await s.enqueue(m);
    assert.equal((await s.claimDue({ now: 2_000, limit: 10, leaseMs: 60_000, owner: 'n1' })).length, 1);
    await s.releaseLeases('n1');
    const [r] = await s.claimDue({ now: 2_000, limit: 10, leaseMs: 60_000, owner: 'n2' });
    await s.recordResults([{ recipientId: r!.id, status: 'deferred', attempts: 1, nextAttemptAt: 1e12, lastReply: null, event: { messageId: m.id, recipient: r!.address, type: 'deferred', at: 2_000 } }], 'n2');
    assert.equal(await s.retryMessage(m.id, 3_000), 1);
    assert.equal((await s.claimDue({ now: 3_000, limit: 10, leaseMs: 1, owner: 'n3' })).length, 1);
    assert.equal(await s.deleteMessage(m.id), true);
    assert.equal(await s.getMessage(m.id), undefined);
    assert.equal(await s.countPending(), 0);
    assert.equal(await s.deleteMessage(m.id), false);
  });

  withStore('listMessages: newest first, status filter, cursor', async (s) => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const m = msg({ recipients: [{ address: `r${i}@x.test`, status: i % 2 ? 'suppressed' : 'queued' }] });
      ids.push(m.id);
      await s.enqueue(m);
    }
    const page1 = await s.listMessages({ limit: 2 });
    assert.deepEqual(page1.map((m) => m.id), [ids[4], ids[3]]);
    const page2 = await s.listMessages({ limit: 2, before: page1[1]!.id });
    assert.deepEqual(page2.map((m) => m.id), [ids[2], ids[1]]);
    assert.deepEqual((await s.listMessages({ limit: 10, status: 'suppressed' })).map((m) => m.id), [ids[3], ids[1]]);
  });

  withStore('credentials: upsert, disable, remove', async (s) => {
    await s.upsertCredential({ username: 'app', passwordHash: 'h1', allowedSenders: ['example.com'], disabled: false, createdAt: 1, policy: { sandbox: true } });
    const policy = { ratePerMinute: 60, dailyQuota: 10_000, maxMessageSize: 1_000_000, sourceNetworks: ['10.0.0.0/8', '::1'] };
    await s.upsertCredential({ username: 'app', passwordHash: 'h2', allowedSenders: ['example.com', 'x@y.test'], disabled: false, createdAt: 1, policy });
    assert.deepEqual(await s.getCredential('app'), { username: 'app', passwordHash: 'h2', allowedSenders: ['example.com', 'x@y.test'], disabled: false, createdAt: 1, policy });
    assert.equal(await s.setCredentialDisabled('app', true), true);
    assert.equal((await s.getCredential('app'))?.disabled, true);
    assert.equal(await s.setCredentialDisabled('nobody', true), false);
    assert.equal((await s.listCredentials()).length, 1);
    assert.equal(await s.removeCredential('app'), true);
    assert.equal(await s.getCredential('app'), undefined);
  });

  withStore('two handles claiming at once never lease the same recipient, and together claim every one', async (s) => {
    const other = await factory.sibling(s);
    try {
      const msgs = Array.from({ length: 60 }, (_, i) =>
        msg({ createdAt: 1_000 + i, recipients: Array.from({ length: 5 }, (_, k) => ({ address: `r${k}@d${i % 3}.test`, status: 'queued' as const })) }));
      await Promise.all(msgs.map((m) => s.enqueue(m)));
      const claimAll = async (store: Store, owner: string) => {
        const ids: number[] = [];
        for (let round = 0; round < 100; round++) {
          const claimed = await store.claimDue({ now: 5_000, limit: 7, leaseMs: 60_000, owner });
          if (claimed.length === 0) break;
          ids.push(...claimed.map((r) => r.id));
        }
        return ids;
      };
      const [a, b] = await Promise.all([claimAll(s, 'node-a'), claimAll(other, 'node-b')]);
      const all = [...a, ...b];
      assert.equal(new Set(all).size, all.length, 'a recipient was leased to two claimers');
      assert.equal(all.length, 300);
    } finally {
      await other.close();
    }
  });

  withStore('enqueue with a lease commits the queued recipients leased and returns them claimed; no claim finds them until it runs out', async (s) => {
    const m = msg({
      createdAt: 1_000, lease: { owner: 'n1', until: 61_000 },
      recipients: [{ address: 'a@Example.ORG', status: 'queued' }, { address: 'b@x.test', status: 'suppressed' }, { address: 'c@x.test', status: 'queued' }],
    });
    const claimed = await s.enqueue(m);
    assert.deepEqual(claimed.map((r) => [r.address, r.domain, r.status, r.attempts, r.sender, r.messageCreatedAt, r.nextAttemptAt]),
      [['a@Example.ORG', 'example.org', 'queued', 0, 'app@example.com', 1_000, 1_000], ['c@x.test', 'x.test', 'queued', 0, 'app@example.com', 1_000, 1_000]]);
    assert.equal((await s.claimDue({ now: 2_000, limit: 10, leaseMs: 1_000, owner: 'n2' })).length, 0, 'claimed while leased');
    assert.equal(await s.nextDueAt(2_000), undefined, 'a leased recipient counted as due');
    // The lease holder records results like any claim's; another owner cannot.
    const [a, c] = claimed;
    await s.recordResults([{ recipientId: a!.id, status: 'delivered', attempts: 1, lastReply: '250 ok', event: { messageId: m.id, recipient: a!.address, type: 'delivered', at: 3_000 } }], 'n2');
    await s.recordResults([{ recipientId: c!.id, status: 'delivered', attempts: 1, lastReply: '250 ok', event: { messageId: m.id, recipient: c!.address, type: 'delivered', at: 3_000 } }], 'n1');
    assert.deepEqual((await s.getMessageSummary(m.id))!.recipients.map((r) => r.status), ['queued', 'suppressed', 'delivered']);
    const [again] = await s.claimDue({ now: 61_000, limit: 10, leaseMs: 1_000, owner: 'n2' });
    assert.equal(again?.id, a!.id, 'an expired lease from enqueue is claimable');
    // Without a lease nothing comes back claimed, and the recipient is claimable at once.
    const plain = msg({ createdAt: 1_000 });
    assert.deepEqual(await s.enqueue(plain), []);
    assert.equal((await s.claimDue({ now: 2_000, limit: 10, leaseMs: 1_000, owner: 'n2' }))[0]?.messageId, plain.id);
  });

  withStore('concurrent enqueues with leases each get their own recipients back (group commit)', async (s) => {
    const msgs = Array.from({ length: 50 }, (_, i) => msg({
      lease: { owner: 'n1', until: 5_000 }, recipients: Array.from({ length: 1 + (i % 3) }, (_, k) => ({ address: `r${i}-${k}@example.org`, status: 'queued' as const })),
    }));
    // One duplicate id in the same batch fails the batch: the others are written again one by one, with new ids.
    const first = msgs[0]!;
    const results: ClaimedRecipient[][] = [await s.enqueue(first)];
    const settled = await Promise.allSettled([...msgs.slice(1, 25), first, ...msgs.slice(25)].map((m) => s.enqueue(m)));
    assert.equal(settled.splice(24, 1)[0]!.status, 'rejected', 'a duplicate id committed');
    for (const r of settled) {
      assert.equal(r.status, 'fulfilled');
      if (r.status === 'fulfilled') results.push(r.value);
    }
    results.forEach((claimed, i) => {
      assert.deepEqual(claimed.map((r) => [r.messageId, r.address]), msgs[i]!.recipients.map((r) => [msgs[i]!.id, r.address]));
    });
    // Each id returned is the row of that recipient: the rows a claim finds once the leases run out.
    const rows = new Map((await s.claimDue({ now: 1e12, limit: 1_000, leaseMs: 1_000, owner: 'n2' })).map((r) => [r.id, `${r.messageId} ${r.address}`]));
    const returned = results.flat();
    assert.equal(rows.size, returned.length);
    for (const r of returned) assert.equal(rows.get(r.id), `${r.messageId} ${r.address}`);
  });

  withStore('watchWork: called once set up, then after enqueue and retryMessage commits; never after unsubscribing', async (s) => {
    let calls = 0;
    const waitCalls = async (n: number, what: string) => {
      for (const deadline = Date.now() + 5_000; calls < n; await new Promise((r) => setTimeout(r, 10)))
        assert.ok(Date.now() < deadline, `no wake-up ${what} within 5 s`);
    };
    const unwatch = s.watchWork(() => calls++);
    await waitCalls(1, 'once the watch was set up');
    const m = msg();
    await s.enqueue(m);
    await waitCalls(2, 'after enqueue');
    const [r] = await s.claimDue({ now: 2_000, limit: 1, leaseMs: 60_000, owner: 'n1' });
    await s.recordResults([{ recipientId: r!.id, status: 'deferred', attempts: 1, nextAttemptAt: 1e12, lastReply: null, event: { messageId: m.id, recipient: r!.address, type: 'deferred', at: 2_000 } }], 'n1');
    const before = calls;
    await s.retryMessage(m.id, 3_000);
    await waitCalls(before + 1, 'after retryMessage');
    // Recipients leased by enqueue are their node's already: nobody needs waking for them.
    const leased = calls;
    await s.enqueue(msg({ lease: { owner: 'n1', until: 1e12 } }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(calls, leased, 'woken for recipients leased by enqueue');
    unwatch();
    const after = calls;
    await s.enqueue(msg());
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(calls, after, 'called after unsubscribing');
  });

  withStore('insertCredential creates once and never overwrites', async (s) => {
    const c = { username: 'smarthost', passwordHash: 'h1', allowedSenders: ['*'], disabled: false, createdAt: 1, policy: {} };
    const results = await Promise.all([s.insertCredential(c), s.insertCredential({ ...c, passwordHash: 'h2' })]);
    assert.deepEqual(results.sort(), [false, true]);
    assert.equal((await s.listCredentials()).length, 1);
    assert.equal(await s.insertCredential({ ...c, passwordHash: 'h3' }), false);
    assert.notEqual((await s.getCredential('smarthost'))?.passwordHash, 'h3');
  });

  withStore('tags are kept with the message', async (s) => {
    const m = msg({ tags: [{ name: 'category', value: 'welcome' }] });
    await s.enqueue(m);
    await s.enqueue(msg());
    assert.deepEqual((await s.getMessageSummary(m.id))?.tags, [{ name: 'category', value: 'welcome' }]);
    assert.deepEqual((await s.listMessages({ limit: 1 }))[0]?.tags, []);
  });

  withStore('suppressions page by address', async (s) => {
    for (const a of ['c@x.test', 'a@x.test', 'b@x.test']) await s.addSuppression({ address: a, reason: 'r', createdAt: 1 });
    const page = await s.listSuppressions({ limit: 2 });
    assert.deepEqual(page.map((x) => x.address), ['a@x.test', 'b@x.test']);
    assert.deepEqual((await s.listSuppressions({ limit: 2, after: 'b@x.test' })).map((x) => x.address), ['c@x.test']);
  });

  withStore('suppressions are case-insensitive', async (s) => {
    await s.addSuppression({ address: 'Bad@Example.org', reason: 'hard bounce', createdAt: 1 });
    assert.deepEqual([...(await s.suppressedAmong(['bad@example.ORG', 'ok@example.org']))], ['bad@example.org']);
    assert.equal((await s.listSuppressions())[0]?.reason, 'hard bounce');
    assert.equal(await s.removeSuppression('BAD@example.org'), true);
    assert.equal((await s.suppressedAmong(['bad@example.org'])).size, 0);
  });

  withStore('api keys: create, find by hash, list, revoke by id or name', async (s) => {
    const key = { id: 'k1', name: 'ci', keyHash: 'h'.repeat(64), prefix: 'sh_abcd', allowedSenders: ['example.com'], createdAt: 5, revokedAt: null, policy: {},
      permission: 'sending_access' as const, disabled: false, lastUsedAt: null };
    await s.createApiKey(key);
    assert.deepEqual(await s.findApiKey(key.keyHash), key);
    assert.equal(await s.findApiKey('nope'), undefined);
    assert.equal((await s.listApiKeys()).length, 1);
    assert.equal(await s.revokeApiKey('ci', 9), true);
    assert.equal((await s.findApiKey(key.keyHash))?.revokedAt, 9);
    assert.equal(await s.revokeApiKey('k1', 10), false, 'revoked twice');
  });

  withStore('updateApiKey changes only what it is given, on active keys, by id or name', async (s) => {
    const key = {
      id: 'k1', name: 'ci', keyHash: 'a'.repeat(64), prefix: 'sh_a', allowedSenders: ['example.com'], createdAt: 5, revokedAt: null, policy: {},
      permission: 'full_access' as const, disabled: false, lastUsedAt: null,
    };
    await s.createApiKey(key);
    assert.equal(await s.updateApiKey('ci', { allowedSenders: ['example.com', 'x@y.test'] }), true);
    assert.equal(await s.updateApiKey('k1', { policy: { ratePerMinute: 5, sandbox: true } }), true);
    assert.deepEqual(await s.findApiKey(key.keyHash), { ...key, allowedSenders: ['example.com', 'x@y.test'], policy: { ratePerMinute: 5, sandbox: true } });
    assert.equal(await s.updateApiKey('nobody', { policy: {} }), false);
    await s.revokeApiKey('k1', 9);
    assert.equal(await s.updateApiKey('k1', { policy: {} }), false, 'a revoked key was changed');
  });

  withStore('consumeSend counts per minute and per UTC day, only what fits, and says when to retry', async (s) => {
    const day = Date.UTC(2030, 0, 2);
    const at = (min: number, sec = 0) => day + min * 60_000 + sec * 1_000;
    const limits = { perMinute: 2, perDay: 3 };
    assert.deepEqual(await s.consumeSend('credential:a', at(0, 10), limits), { ok: true });
    assert.deepEqual(await s.consumeSend('credential:a', at(0, 20), limits), { ok: true });
    assert.deepEqual(await s.consumeSend('credential:a', at(0, 45), limits), { ok: false, limit: 'minute', retryAfterMs: 15_000 });
    assert.deepEqual(await s.sendCounts('credential:a', at(0, 50)), { minute: 2, day: 2 }, 'a refusal was counted');
    assert.deepEqual(await s.consumeSend('credential:b', at(0, 50), limits), { ok: true }, 'another principal was counted with it');
    assert.deepEqual(await s.consumeSend('credential:a', at(1), limits), { ok: true }, 'a new minute');
    assert.deepEqual(await s.consumeSend('credential:a', at(2), limits), { ok: false, limit: 'day', retryAfterMs: 86_400_000 - 120_000 });
    assert.deepEqual(await s.sendCounts('credential:a', at(2)), { minute: 0, day: 3 });
    assert.deepEqual(await s.consumeSend('credential:a', day + 86_400_000, limits), { ok: true }, 'a new day');
    assert.deepEqual(await s.sendCounts('credential:a', day + 86_400_000), { minute: 1, day: 1 });
    assert.deepEqual(await s.consumeSend('key:k', at(0), {}), { ok: true }, 'no limits');
    assert.deepEqual(await s.sendCounts('key:k', at(0)), { minute: 0, day: 0 });
  });

  withStore('consumeSend from two handles at once lets exactly the limit through', async (s) => {
    const other = await factory.sibling(s);
    try {
      const now = Date.UTC(2030, 0, 2, 12);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? other : s).consumeSend('key:shared', now, { perMinute: 7 })));
      assert.equal(results.filter((r) => r.ok).length, 7);
      assert.deepEqual(await other.sendCounts('key:shared', now), { minute: 7, day: 0 });
    } finally {
      await other.close();
    }
  });

  withStore('addAuthFailure counts per client in a fixed window of the given length; authFailures only reads', async (s) => {
    const window = 600_000;
    const start = Date.UTC(2030, 0, 2, 12, 10);
    assert.equal(await s.authFailures('192.0.2.1', start, window), 0);
    assert.equal(await s.addAuthFailure('192.0.2.1', start, window), 1);
    assert.equal(await s.addAuthFailure('192.0.2.1', start + 1_000, window), 2);
    assert.equal(await s.addAuthFailure('2001:db8::/64', start + 2_000, window), 1, 'another client was counted with it');
    assert.equal(await s.addAuthFailure('192.0.2.1', start + window - 1, window), 3, 'the last millisecond of the window');
    assert.equal(await s.authFailures('192.0.2.1', start + window - 1, window), 3);
    assert.equal(await s.authFailures('192.0.2.1', start + window - 1, window), 3, 'reading counted something');
    assert.equal(await s.authFailures('192.0.2.1', start + window, window), 0, 'the next window starts at zero');
    assert.equal(await s.addAuthFailure('192.0.2.1', start + window, window), 1);
    assert.equal(await s.authFailures('192.0.2.1', start + window + 65_000, 60_000), 0, 'a window of another length');
    assert.equal(await s.addAuthFailure('192.0.2.1', start + window + 65_000, 60_000), 1);
    assert.deepEqual(await s.sendCounts('authfail:192.0.2.1', start + window), { minute: 0, day: 0 }, 'seen as send counts');
  });

  withStore('addAuthFailure from two handles at once: every failure counted once', async (s) => {
    const other = await factory.sibling(s);
    try {
      const now = Date.UTC(2030, 0, 2, 12, 1);
      const counts = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? other : s).addAuthFailure('198.51.100.9', now, 600_000)));
      assert.deepEqual(counts.sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
      assert.equal(await s.authFailures('198.51.100.9', now, 600_000), 20);
    } finally {
      await other.close();
    }
  });

  withStore('sandboxed recipients get a sandboxed event and are never claimed', async (s) => {
    const m = msg({ recipients: [{ address: 'a@x.test', status: 'sandboxed' }] });
    await s.enqueue(m);
    assert.deepEqual((await s.listEvents(m.id)).map((e) => [e.type, e.recipient]), [['sandboxed', 'a@x.test']]);
    assert.equal((await s.claimDue({ now: 1e12, limit: 10, leaseMs: 1_000, owner: 'n1' })).length, 0);
    assert.equal(await s.countPending(), 0);
    assert.equal(await s.retryMessage(m.id, 2_000), 0);
    assert.deepEqual((await s.listMessages({ limit: 10, status: 'sandboxed' })).map((x) => x.id), [m.id]);
  });

  withStore('idempotency keys: new, then pending, then done; release frees; expiry forgets', async (s) => {
    assert.deepEqual(await s.claimIdempotencyKey('key:a', 'k', 'hash1', 1_000, 100_000), { state: 'new' });
    assert.deepEqual(await s.claimIdempotencyKey('key:a', 'k', 'hash1', 1_001, 100_000), { state: 'pending', requestHash: 'hash1' });
    assert.deepEqual(await s.claimIdempotencyKey('key:b', 'k', 'hash9', 1_001, 100_000), { state: 'new' }, 'scopes are separate');
    await s.completeIdempotencyKey('key:a', 'k', 200, '{"id":"x"}');
    assert.deepEqual(await s.claimIdempotencyKey('key:a', 'k', 'hash2', 1_002, 100_000), { state: 'done', requestHash: 'hash1', status: 200, body: '{"id":"x"}' });
    assert.deepEqual(await s.claimIdempotencyKey('key:a', 'k', 'hash2', 200_000, 100_000), { state: 'new' }, 'expired keys are forgotten');
    await s.releaseIdempotencyKey('key:a', 'k');
    assert.deepEqual(await s.claimIdempotencyKey('key:a', 'k', 'hash3', 200_001, 100_000), { state: 'new' });
  });

  withStore('queryEvents: by time, by type, with an id cursor; listMessages by recipient', async (s) => {
    const a = msg({ createdAt: 1_000, recipients: [{ address: 'One@x.test', status: 'queued' }] });
    const b = msg({ createdAt: 2_000, recipients: [{ address: 'two@x.test', status: 'suppressed' }] });
    await s.enqueue(a);
    await s.enqueue(b);
    const all = await s.queryEvents({ limit: 10 });
    assert.deepEqual(all.map((e) => e.type), ['queued', 'suppressed']);
    assert.deepEqual((await s.queryEvents({ limit: 10, since: 1_500 })).map((e) => e.messageId), [b.id]);
    assert.deepEqual((await s.queryEvents({ limit: 10, type: 'queued' })).map((e) => e.messageId), [a.id]);
    assert.deepEqual((await s.queryEvents({ limit: 10, after: all[0]!.id })).map((e) => e.messageId), [b.id]);
    assert.deepEqual((await s.listMessages({ limit: 10, recipient: 'one@X.test' })).map((m) => m.id), [a.id]);
    assert.deepEqual((await s.listMessages({ limit: 10, after: a.id })).map((m) => m.id), [b.id]);
    assert.deepEqual(await s.countByStatus(), { queued: 1, suppressed: 1 });
  });

  withStore('renewLeases extends only the leases named: a row its owner lost track of runs out; another owner\'s stays', async (s) => {
    for (const createdAt of [1_000, 1_001, 1_002]) await s.enqueue(msg({ createdAt }));
    const [kept, lost] = await s.claimDue({ now: 2_000, limit: 2, leaseMs: 1_000, owner: 'n1' });
    const [other] = await s.claimDue({ now: 2_000, limit: 1, leaseMs: 1_000, owner: 'n2' });
    await s.renewLeases('n1', 10_000, [kept!.id, other!.id]);
    const due = await s.claimDue({ now: 5_000, limit: 10, leaseMs: 1_000, owner: 'n3' });
    assert.deepEqual(due.map((r) => r.id).sort(), [lost!.id, other!.id].sort(), 'renewed what was not named, or another owner\'s lease');
  });

  withStore('renewLeases keeps work with a live owner; recordResults is fenced by the lease owner', async (s) => {
    const m = msg();
    await s.enqueue(m);
    const [r] = await s.claimDue({ now: 2_000, limit: 1, leaseMs: 1_000, owner: 'slow' });
    await s.renewLeases('slow', 10_000, [r!.id]);
    assert.equal((await s.claimDue({ now: 5_000, limit: 1, leaseMs: 1_000, owner: 'other' })).length, 0, 'a renewed lease was taken');
    assert.equal((await s.claimDue({ now: 10_000, limit: 1, leaseMs: 1_000, owner: 'other' })).length, 1);
    // 'slow' finishes late: its event is kept, but the row now belongs to 'other'.
    await s.recordResults([{ recipientId: r!.id, status: 'delivered', attempts: 1, lastReply: '250 ok', event: { messageId: m.id, recipient: r!.address, type: 'delivered', at: 11_000 } }], 'slow');
    assert.equal((await s.getMessageSummary(m.id))?.recipients[0]?.status, 'queued');
    assert.equal((await s.listEvents(m.id)).filter((e) => e.type === 'delivered').length, 1);
  });

  withStore('webhooks: events fill the outbox in their own transaction; claim, retry, deliver, fail, replay', async (s) => {
    await s.addWebhook({ id: 'wh1', url: 'https://hooks.example/a', secret: 'whsec_x', events: ['queued', 'delivered'], createdAt: 1 });
    await s.addWebhook({ id: 'wh2', url: 'https://hooks.example/b', secret: 'whsec_y', events: ['bounced'], createdAt: 2 });
    const m = msg();
    await s.enqueue(m);
    const claimed = await s.claimWebhookDeliveries({ now: 5_000, limit: 10, leaseMs: 1_000, owner: 'n1' });
    assert.equal(claimed.length, 1, 'only wh1 subscribes to queued');
    const d = claimed[0]!;
    assert.equal(d.webhook.id, 'wh1');
    assert.deepEqual(d.webhook.events, ['queued', 'delivered']);
    assert.equal(d.event.type, 'queued');
    assert.equal(d.event.messageId, m.id);
    assert.equal(d.sender, 'app@example.com');
    assert.equal((await s.claimWebhookDeliveries({ now: 5_500, limit: 10, leaseMs: 1_000, owner: 'n2' })).length, 0, 'leased twice');

    await s.recordWebhookAttempt({ outboxId: d.outboxId, owner: 'n1', at: 5_100, status: 500, error: 'HTTP 500', outcome: 'retry', nextAttemptAt: 9_000 });
    assert.equal((await s.claimWebhookDeliveries({ now: 8_999, limit: 10, leaseMs: 1_000, owner: 'n1' })).length, 0);
    const again = await s.claimWebhookDeliveries({ now: 9_000, limit: 10, leaseMs: 1_000, owner: 'n1' });
    assert.equal(again[0]?.attempts, 1);
    // A stale owner's result is ignored.
    await s.recordWebhookAttempt({ outboxId: d.outboxId, owner: 'zombie', at: 9_050, status: 200, outcome: 'delivered' });
    await s.recordWebhookAttempt({ outboxId: d.outboxId, owner: 'n1', at: 9_100, status: 410, error: 'HTTP 410', outcome: 'failed' });
    let [status] = (await s.listWebhooks()).filter((w) => w.id === 'wh1');
    assert.deepEqual([status!.pending, status!.delivered, status!.failed, status!.lastError, status!.lastAttemptAt], [0, 0, 1, 'HTTP 410', 9_100]);
    assert.deepEqual((await s.listWebhookAttempts('wh1', 10)).map((a) => [a.status, a.outcome]), [[410, 'failed'], [500, 'retry']]);

    assert.equal(await s.replayWebhook('wh1', 10_000), 1);
    const replayed = await s.claimWebhookDeliveries({ now: 10_000, limit: 10, leaseMs: 1_000, owner: 'n1' });
    await s.recordWebhookAttempt({ outboxId: replayed[0]!.outboxId, owner: 'n1', at: 10_001, status: 204, outcome: 'delivered' });
    [status] = (await s.listWebhooks()).filter((w) => w.id === 'wh1');
    assert.deepEqual([status!.pending, status!.delivered, status!.failed], [0, 1, 0]);
    assert.equal(await s.replayWebhook('wh1', 11_000), 0, 'nothing failed');
    assert.equal(await s.replayWebhook('wh1', 11_000, 0), 1, 'replay delivered ones since a time');

    assert.equal(await s.removeWebhook('wh1'), true);
    assert.equal(await s.removeWebhook('wh1'), false);
    assert.deepEqual((await s.listWebhooks()).map((w) => w.id), ['wh2']);
  });

  withStore('domains: DKIM keys per (domain, selector), listed by domain, removed with the domain', async (s) => {
    const key = (domain: string, selector: string, createdAt: number) => ({
      domain, selector, algorithm: 'rsa-sha256' as const, privateKey: `enc:v1:${selector}`, publicKey: 'MIIB', createdAt,
    });
    await s.addDomainKey(key('Example.COM', 'sh202611', 1));
    await s.addDomainKey({ ...key('example.com', 'sh202611e', 2), algorithm: 'ed25519-sha256' });
    await s.addDomainKey(key('other.test', 'sh202611', 3));
    await assert.rejects(s.addDomainKey(key('example.com', 'sh202611', 4)), 'one row per (domain, selector)');
    assert.deepEqual(await s.listDomainKeys('EXAMPLE.com'), [
      { ...key('example.com', 'sh202611', 1), signing: true }, { ...key('example.com', 'sh202611e', 2), algorithm: 'ed25519-sha256', signing: true },
    ]);
    assert.deepEqual((await s.listDomainKeys()).map((k) => [k.domain, k.selector]),
      [['example.com', 'sh202611'], ['example.com', 'sh202611e'], ['other.test', 'sh202611']]);
    assert.equal(await s.removeDomain('Example.com'), true);
    assert.equal(await s.removeDomain('example.com'), false);
    assert.deepEqual((await s.listDomainKeys()).map((k) => k.domain), ['other.test']);
  });

  withStore('MTA-STS policies: one per domain, replaced by a newer fetch, seen by a sibling and after a reopen', async (s) => {
    const policy = { domain: 'example.com', id: '20261125', mode: 'enforce' as const, mx: ['mx.example.com', '*.mail.example.com'], maxAge: 86_400, fetchedAt: 1_000 };
    assert.equal(await s.getMtaStsPolicy('example.com'), undefined);
    await s.putMtaStsPolicy({ ...policy, domain: 'Example.COM' });
    assert.deepEqual(await s.getMtaStsPolicy('EXAMPLE.com'), policy);
    const none = { ...policy, id: '20261126', mode: 'none' as const, mx: [], maxAge: 3_600, fetchedAt: 2_000 };
    await s.putMtaStsPolicy(none);
    const sibling = await factory.sibling(s);
    assert.deepEqual(await sibling.getMtaStsPolicy('example.com'), none, 'another node sees the replacement');
    await sibling.close();
    const again = await factory.reopen(s);
    assert.deepEqual(await again.getMtaStsPolicy('example.com'), none);
    assert.equal(await again.getMtaStsPolicy('other.test'), undefined);
    await again.close();
  });

  withStore('domains: rotation stops the old keys signing in one step; only a key that no longer signs can be retired', async (s) => {
    const key = (selector: string, createdAt: number) => ({
      domain: 'example.com', selector, algorithm: 'rsa-sha256' as const, privateKey: `enc:v1:${selector}`, publicKey: 'MIIB', createdAt,
    });
    assert.equal(await s.rotateDomainKeys('example.com', [key('sh202612', 2)]), false, 'no keys: nothing to rotate');
    assert.deepEqual(await s.listDomainKeys('example.com'), []);
    await s.addDomainKey(key('sh202611', 1));
    assert.equal(await s.retireDomainKey('example.com', 'sh202611'), false, 'the signing key stays');
    assert.equal(await s.rotateDomainKeys('EXAMPLE.com', [key('sh202612', 2), { ...key('sh202612e', 3), algorithm: 'ed25519-sha256' }]), true);
    assert.deepEqual((await s.listDomainKeys('example.com')).map((k) => [k.selector, k.signing]),
      [['sh202611', false], ['sh202612', true], ['sh202612e', true]]);
    await assert.rejects(s.rotateDomainKeys('example.com', [key('sh202611', 4)]), 'a selector in use is refused');
    assert.deepEqual((await s.listDomainKeys('example.com')).map((k) => [k.selector, k.signing]),
      [['sh202611', false], ['sh202612', true], ['sh202612e', true]], 'a failed rotation changes nothing');
    assert.equal(await s.retireDomainKey('Example.com', 'sh202611'), true);
    assert.equal(await s.retireDomainKey('example.com', 'sh202611'), false);
    assert.deepEqual((await s.listDomainKeys('example.com')).map((k) => k.selector), ['sh202612', 'sh202612e']);
  });

  withStore('domains: a watcher hears every change of keys made through the store, and nothing once it stops watching', async (s) => {
    const key = (selector: string, createdAt: number) => ({
      domain: 'example.com', selector, algorithm: 'rsa-sha256' as const, privateKey: `enc:v1:${selector}`, publicKey: 'MIIB', createdAt,
    });
    let heard = 0;
    const unwatch = s.watchDomainKeys(() => heard++);
    await s.addDomainKey(key('sh202611', 1));
    assert.equal(heard, 1, 'add');
    await s.rotateDomainKeys('example.com', [key('sh202612', 2)]);
    assert.equal(heard, 2, 'rotate');
    await s.retireDomainKey('example.com', 'sh202611');
    assert.equal(heard, 3, 'retire');
    await s.saveDomainCheck({ domain: 'example.com', checkedAt: 10, ok: true, results: [] });
    assert.equal(heard, 3, 'a check changes no key');
    await s.removeDomain('example.com');
    assert.equal(heard, 4, 'remove');
    unwatch();
    await s.addDomainKey(key('sh202613', 3));
    assert.equal(heard, 4);
  });

  withStore('domains: the last check per domain replaces the one before and goes with the domain', async (s) => {
    await s.addDomainKey({ domain: 'example.com', selector: 'sh1', algorithm: 'rsa-sha256', privateKey: 'k', publicKey: 'p', createdAt: 1 });
    const failing = { record: 'spf' as const, name: 'example.com', status: 'missing' as const, expected: 'a:relay.test', hint: 'publish it' };
    await s.saveDomainCheck({ domain: 'Example.com', checkedAt: 10, ok: false, results: [failing] });
    await s.saveDomainCheck({ domain: 'other.test', checkedAt: 11, ok: true, results: [] });
    assert.deepEqual(await s.listDomainChecks('example.COM'), [{ domain: 'example.com', checkedAt: 10, ok: false, results: [failing] }]);
    const passing = { ...failing, status: 'ok' as const, found: 'v=spf1 a:relay.test ~all', hint: undefined };
    delete passing.hint;
    await s.saveDomainCheck({ domain: 'example.com', checkedAt: 20, ok: true, results: [passing] });
    assert.deepEqual(await s.listDomainChecks(), [
      { domain: 'example.com', checkedAt: 20, ok: true, results: [passing] }, { domain: 'other.test', checkedAt: 11, ok: true, results: [] },
    ]);
    await s.removeDomain('example.com');
    assert.deepEqual((await s.listDomainChecks()).map((c) => c.domain), ['other.test']);
  });

  withStore('messages keep how they were DKIM-signed; unsigned ones are counted per From: domain', async (s) => {
    const signed = msg({ dkim: { domain: 'example.com', selectors: ['sh202611', 'sh202611e'] }, createdAt: 1_000 });
    const unsigned = [
      msg({ dkim: { domain: 'nokey.test', selectors: [] }, createdAt: 2_000 }),
      msg({ dkim: { domain: 'nokey.test', selectors: [] }, createdAt: 3_000 }),
      msg({ dkim: { domain: 'also.test', selectors: [] }, createdAt: 2_500 }),
    ];
    const none = msg();
    for (const m of [signed, ...unsigned, none]) await s.enqueue(m);
    assert.deepEqual((await s.getMessageSummary(signed.id))?.dkim, { domain: 'example.com', selectors: ['sh202611', 'sh202611e'] });
    assert.deepEqual((await s.getMessageSummary(unsigned[0]!.id))?.dkim, { domain: 'nokey.test', selectors: [] });
    assert.equal((await s.getMessageSummary(none.id))?.dkim, null);
    assert.deepEqual((await s.listMessages({ limit: 10 })).map((m) => m.dkim?.selectors.length ?? null).sort(), [0, 0, 0, 2, null]);
    assert.deepEqual(await s.unsignedMail(), [{ domain: 'also.test', count: 1, lastAt: 2_500 }, { domain: 'nokey.test', count: 2, lastAt: 3_000 }]);
  });

  withStore('purgeExpired forgets old idempotency keys and ended counter windows, nothing current', async (s) => {
    await s.claimIdempotencyKey('key:a', 'old', 'h', 1_000, 10 ** 12);
    await s.claimIdempotencyKey('key:a', 'new', 'h', 5_000, 10 ** 12);
    await s.consumeSend('credential:old', 60_000, { perMinute: 10 });
    await s.consumeSend('credential:new', 600_000, { perMinute: 10 });
    assert.equal(await s.purgeExpired({ idempotencyBefore: 2_000, countersBefore: 300_000 }), 2);
    assert.deepEqual(await s.claimIdempotencyKey('key:a', 'old', 'h2', 6_000, 10 ** 12), { state: 'new' });
    assert.deepEqual(await s.claimIdempotencyKey('key:a', 'new', 'h', 6_000, 10 ** 12), { state: 'pending', requestHash: 'h' });
    assert.equal((await s.sendCounts('credential:new', 600_000)).minute, 1);
  });

  withStore('releaseLeases with recipient ids gives back only those', async (s) => {
    await s.enqueue(msg({ recipients: [{ address: 'a@x.test', status: 'queued' }, { address: 'b@x.test', status: 'queued' }] }));
    const [a, b] = await s.claimDue({ now: 2_000, limit: 10, leaseMs: 60_000, owner: 'n1' });
    await s.releaseLeases('n2', [a!.id]);
    assert.equal((await s.claimDue({ now: 2_000, limit: 10, leaseMs: 60_000, owner: 'n2' })).length, 0, 'another owner released n1 leases');
    await s.releaseLeases('n1', [a!.id]);
    assert.deepEqual((await s.claimDue({ now: 2_000, limit: 10, leaseMs: 60_000, owner: 'n2' })).map((r) => r.id), [a!.id]);
    assert.notEqual(a!.id, b!.id);
  });

  withStore('findDeliveryByProviderId finds the message and recipients a provider id was sent to', async (s) => {
    const m = msg({ recipients: [{ address: 'A@x.test', status: 'queued' }, { address: 'b@x.test', status: 'queued' }] });
    await s.enqueue(m);
    for (const recipient of ['A@x.test', 'b@x.test'])
      await s.addEvent({ messageId: m.id, recipient, type: 'delivered', at: 2_000, route: 'resend', providerMessageId: 'prov-1' });
    assert.deepEqual(await s.findDeliveryByProviderId('prov-1'), { messageId: m.id, recipients: ['A@x.test', 'b@x.test'] });
    assert.deepEqual(await s.findDeliveryByProviderId('prov-1', 'a@X.TEST'), { messageId: m.id, recipients: ['A@x.test'] });
    assert.equal(await s.findDeliveryByProviderId('prov-1', 'c@x.test'), undefined);
    assert.equal(await s.findDeliveryByProviderId('prov-2'), undefined);
  });

  withStore('recordProviderReport applies event, bounce and suppression once, and leaves other states alone', async (s) => {
    const m = msg({ recipients: [{ address: 'A@x.test', status: 'queued' }, { address: 'b@x.test', status: 'queued' }] });
    await s.enqueue(m);
    const claimed = await s.claimDue({ now: 2_000, limit: 10, leaseMs: 60_000, owner: 'n1' });
    await s.recordResults(claimed.map((r) => ({
      recipientId: r.id, status: r.address === 'A@x.test' ? 'delivered' as const : 'deferred' as const, attempts: 1, nextAttemptAt: 9_000,
      lastReply: '250 2.0.0 ok', event: { messageId: m.id, recipient: r.address, type: 'delivered' as const, at: 2_100 },
    })), 'n1');
    const reply = { code: 550, enhanced: '5.1.1' as const, text: 'no such user' };
    const report = (recipient: string, eventKey: string) => ({
      provider: 'resend', eventKey, event: { messageId: m.id, recipient, type: 'bounced' as const, at: 3_000, route: 'resend', reply },
      bounce: { lastReply: '550 5.1.1 no such user' }, suppression: { address: recipient, reason: 'resend bounce: no such user', createdAt: 3_000 },
    });
    assert.equal(await s.recordProviderReport(report('A@x.test', 'ev-1')), true);
    assert.equal(await s.recordProviderReport(report('A@x.test', 'ev-1')), false, 'the same event twice');
    assert.equal(await s.recordProviderReport({ ...report('b@x.test', 'ev-2'), provider: 'postmark' }), true);
    const sum = await s.getMessageSummary(m.id);
    assert.deepEqual(sum?.recipients.map((r) => [r.address, r.status, r.lastReply]),
      [['A@x.test', 'bounced', '550 5.1.1 no such user'], ['b@x.test', 'deferred', '250 2.0.0 ok']], 'only a delivered recipient becomes bounced');
    const bounced = (await s.listEvents(m.id)).filter((e) => e.type === 'bounced');
    assert.deepEqual(bounced.map((e) => [e.recipient, e.route, e.reply?.enhanced]), [['A@x.test', 'resend', '5.1.1'], ['b@x.test', 'resend', '5.1.1']]);
    assert.deepEqual((await s.listSuppressions()).map((x) => [x.address, x.reason]),
      [['a@x.test', 'resend bounce: no such user'], ['b@x.test', 'resend bounce: no such user']]);
    // An address already on the list keeps the operator's reason.
    await s.addSuppression({ address: 'c@x.test', reason: 'manual', createdAt: 1 });
    await s.recordProviderReport({ ...report('c@x.test', 'ev-3'), bounce: undefined });
    assert.equal((await s.listSuppressions()).find((x) => x.address === 'c@x.test')?.reason, 'manual');
    // Recorded keys are forgotten by purgeExpired once older than the cut, not before.
    assert.equal(await s.purgeExpired({ idempotencyBefore: 0, countersBefore: 0, providerEventsBefore: 3_000 }), 0);
    assert.equal(await s.purgeExpired({ idempotencyBefore: 0, countersBefore: 0, providerEventsBefore: 3_001 }), 3);
    assert.equal(await s.recordProviderReport(report('A@x.test', 'ev-1')), true);
  });
  dashboardStoreContract(name, factory);
}
