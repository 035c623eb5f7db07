// The store contract, continued: what the dashboard needs (admin password, sessions, live cursor,
// message and suppression filters; the overview's numbers are deliveryStats in admin-store.ts). Called from storeContract in store.ts.
import assert from 'node:assert/strict';
import type { SmtpReply } from '../../src/delivery/smtp-reply.ts';
import { msg, storeTests } from './harness.ts';
import type { StoreFactory } from './store.ts';

export function dashboardStoreContract(name: string, factory: StoreFactory): void {
  const withStore = storeTests(name, factory);

  withStore('the admin password hash is created once and replaced only when asked', async (s) => {
    assert.equal(await s.getAdminPasswordHash('admin'), undefined);
    assert.equal(await s.setAdminPasswordHash('admin', 'h1', 1_000, true), true);
    assert.equal(await s.setAdminPasswordHash('admin', 'h2', 2_000, true), false);
    assert.equal(await s.getAdminPasswordHash('admin'), 'h1');
    assert.equal(await s.setAdminPasswordHash('admin', 'h3', 3_000), true);
    assert.equal(await s.getAdminPasswordHash('admin'), 'h3');
  });

  withStore('admin sessions: created, seen by another node, touched forward only, deleted, purged by idle or age', async (s) => {
    await s.createAdminSession({ idHash: 'a', csrfToken: 'ta', createdAt: 1_000, lastSeenAt: 1_000 });
    await s.createAdminSession({ idHash: 'b', csrfToken: 'tb', createdAt: 1_000, lastSeenAt: 1_000 });
    await s.createAdminSession({ idHash: 'c', csrfToken: 'tc', createdAt: 5_000, lastSeenAt: 5_000 });
    const other = await factory.sibling(s);
    try {
      assert.deepEqual(await other.getAdminSession('a'), { idHash: 'a', csrfToken: 'ta', createdAt: 1_000, lastSeenAt: 1_000 });
    } finally {
      await other.close();
    }
    await s.touchAdminSession('a', 9_000);
    await s.touchAdminSession('a', 8_000); // a slower node's older touch does not move it back
    assert.equal((await s.getAdminSession('a'))?.lastSeenAt, 9_000);
    await s.deleteAdminSession('c');
    assert.equal(await s.getAdminSession('c'), undefined);
    // b idles since 1_000; a was created at 1_000 but is fresh: a cut on age takes it too.
    assert.equal(await s.purgeAdminSessions({ idleBefore: 2_000, createdBefore: 0 }), 1);
    assert.equal(await s.getAdminSession('b'), undefined);
    assert.ok(await s.getAdminSession('a'));
    assert.equal(await s.purgeAdminSessions({ idleBefore: 0, createdBefore: 2_000 }), 1);
    assert.equal(await s.getAdminSession('a'), undefined);
  });

  withStore('lastEventId follows the newest event', async (s) => {
    assert.equal(await s.lastEventId(), 0);
    const m = msg();
    await s.enqueue(m);
    const [queued] = await s.listEvents(m.id);
    assert.equal(await s.lastEventId(), queued!.id);
    await s.addEvent({ messageId: m.id, recipient: null, type: 'retry', at: 2_000 });
    assert.equal(await s.lastEventId(), (await s.listEvents(m.id))[1]!.id);
  });

  withStore('listMessages filters by sender (any case), alone and with a recipient filter', async (s) => {
    const a = msg({ sender: 'News@Example.com', createdAt: 1_000 });
    const b = msg({ sender: 'app@example.com', createdAt: 1_000 });
    const c = msg({ sender: 'news@example.com', recipients: [{ address: 'z@example.org', status: 'queued' }], createdAt: 1_000 });
    for (const m of [a, b, c]) await s.enqueue(m);
    assert.deepEqual((await s.listMessages({ sender: 'NEWS@example.com', limit: 10 })).map((m) => m.id), [c.id, a.id]);
    assert.deepEqual((await s.listMessages({ sender: 'news@example.com', recipient: 'a@example.org', limit: 10 })).map((m) => m.id), [a.id]);
    assert.deepEqual((await s.listMessages({ sender: 'news@example.com', status: 'queued', limit: 1 })).map((m) => m.id), [c.id]);
    assert.deepEqual((await s.listMessages({ sender: 'news@example.com', before: c.id, limit: 10 })).map((m) => m.id), [a.id]);
  });

  withStore('listMessages filters by credential or key, alone and with other filters', async (s) => {
    const a = msg({ credential: 'key:billing' });
    const b = msg({ credential: 'app' });
    const c = msg({ credential: 'key:billing', sender: 'other@example.com', recipients: [{ address: 'z@example.org', status: 'suppressed' }] });
    for (const m of [a, b, c]) await s.enqueue(m);
    assert.deepEqual((await s.listMessages({ credential: 'key:billing', limit: 10 })).map((m) => m.id), [c.id, a.id]);
    assert.deepEqual((await s.listMessages({ credential: 'key:billing', status: 'suppressed', limit: 10 })).map((m) => m.id), [c.id]);
    assert.deepEqual((await s.listMessages({ credential: 'key:billing', sender: 'app@example.com', limit: 10 })).map((m) => m.id), [a.id]);
    assert.deepEqual((await s.listMessages({ credential: 'key:other', limit: 10 })).map((m) => m.id), []);
  });

  withStore('listMessages filters by a tag (name and value exactly), alone and with other filters', async (s) => {
    const a = msg({ tags: [{ name: 'campaign', value: 'spring' }, { name: 'user', value: '42' }] });
    const b = msg({ tags: [{ name: 'campaign', value: 'summer' }] });
    const c = msg({ tags: [{ name: 'campaign', value: 'spring' }], recipients: [{ address: 'z@example.org', status: 'suppressed' }] });
    const d = msg({});
    for (const m of [a, b, c, d]) await s.enqueue(m);
    assert.deepEqual((await s.listMessages({ tag: { name: 'campaign', value: 'spring' }, limit: 10 })).map((m) => m.id), [c.id, a.id]);
    assert.deepEqual((await s.listMessages({ tag: { name: 'user', value: '42' }, limit: 10 })).map((m) => m.id), [a.id]);
    assert.deepEqual((await s.listMessages({ tag: { name: 'campaign', value: 'spring' }, status: 'queued', limit: 10 })).map((m) => m.id), [a.id]);
    assert.deepEqual((await s.listMessages({ tag: { name: 'campaign', value: 'Spring' }, limit: 10 })).map((m) => m.id), []);
  });

  withStore('listSuppressions filters by a literal, case-insensitive part of the address', async (s) => {
    for (const address of ['a_b@example.org', 'axb@example.org', 'c@other.test'])
      await s.addSuppression({ address, reason: 'r', createdAt: 1_000 });
    assert.deepEqual((await s.listSuppressions({ search: 'A_B' })).map((x) => x.address), ['a_b@example.org']);
    assert.deepEqual((await s.listSuppressions({ search: 'example.org', limit: 1, after: 'a_b@example.org' })).map((x) => x.address), ['axb@example.org']);
    assert.deepEqual((await s.listSuppressions({ search: '%' })).map((x) => x.address), []);
  });

  withStore('lastRouteEvents: a route\'s newest delivery and newest failed try, other routes apart', async (s) => {
    const m = msg();
    await s.enqueue(m);
    assert.deepEqual(await s.lastRouteEvents('mx'), {});
    const refused = { code: 451, enhanced: '4.4.1', text: 'Connection refused' } as const;
    const ok = { code: 250, enhanced: '2.0.0', text: 'OK' } as const;
    const at = (type: 'attempt' | 'deferred' | 'bounced' | 'delivered', route: string, when: number, reply: SmtpReply = refused) =>
      s.addEvent({ messageId: m.id, recipient: 'a@example.org', type, at: when, route, reply });
    await at('delivered', 'mx', 2_000, ok);
    await at('delivered', 'mx', 5_000, { ...ok, text: 'newest' });
    await at('deferred', 'mx', 3_000);
    await at('attempt', 'mx', 4_000, { ...refused, text: 'handed on' });
    await at('bounced', 'mx', 1_000);
    await at('deferred', 'relay', 9_000);
    const mx = await s.lastRouteEvents('mx');
    assert.deepEqual([mx.delivered?.at, mx.delivered?.reply?.text, mx.failed?.at, mx.failed?.type, mx.failed?.reply?.text], [5_000, 'newest', 4_000, 'attempt', 'handed on']);
    const relay = await s.lastRouteEvents('relay');
    assert.deepEqual([relay.delivered, relay.failed?.type, relay.failed?.at], [undefined, 'deferred', 9_000]);
  });
}
