// The store contract for what the admin API adds (src/admin/*): key
// permissions and last use, cancelling, message filters, suppression search,
// webhook deliveries one by one, and the overview's statistics. Run against
// both adapters by sqlite.test.ts and postgres.test.ts.
import assert from 'node:assert/strict';
import { idFloor, newMessageId } from '../../src/store/ids.ts';
import type { ApiKey, NewMessage, Store } from '../../src/store/store.ts';
import { storeTests } from './harness.ts';
import type { StoreFactory } from './store.ts';

// Ids carry their creation time, and newMessageId never goes back in time within a process: tests that read
// times from ids use times after every id made so far (T1, then T2), in the order the tests run.
const T1 = 2_000_000_000_000;
const T2 = 2_100_000_000_000;

const msg = (over: Partial<NewMessage> = {}): NewMessage => ({
  id: newMessageId(over.createdAt), sender: 'app@example.com', raw: Buffer.from('Subject: x\r\n\r\nbody\r\n'),
  recipients: [{ address: 'a@example.org', status: 'queued' }], source: 'http', credential: 'app', clientAddress: '127.0.0.1',
  createdAt: 1_000, ...over,
});

const apiKey = (over: Partial<ApiKey> = {}): ApiKey => ({
  id: 'k1', name: 'ci', keyHash: 'c'.repeat(64), prefix: 'sh_c', allowedSenders: ['example.com'], createdAt: 5, revokedAt: null, policy: {},
  permission: 'full_access', disabled: false, lastUsedAt: null, ...over,
});

export function adminStoreContract(name: string, factory: StoreFactory): void {
  const withStore = storeTests(name, factory);

  withStore('api keys keep their permission; disable and enable; touch writes at most once a minute', async (s) => {
    await s.createApiKey(apiKey({ permission: 'sending_access' }));
    assert.equal((await s.findApiKey('c'.repeat(64)))?.permission, 'sending_access');
    assert.equal(await s.updateApiKey('k1', { disabled: true }), true);
    assert.equal((await s.findApiKey('c'.repeat(64)))?.disabled, true);
    assert.equal(await s.updateApiKey('ci', { disabled: false }), true);
    assert.equal((await s.findApiKey('c'.repeat(64)))?.disabled, false);
    await s.touchApiKey('k1', 100_000);
    await s.touchApiKey('k1', 130_000);
    assert.equal((await s.findApiKey('c'.repeat(64)))?.lastUsedAt, 100_000, 'written twice within a minute');
    await s.touchApiKey('k1', 160_000);
    assert.equal((await s.findApiKey('c'.repeat(64)))?.lastUsedAt, 160_000);

    await s.upsertCredential({ username: 'app', passwordHash: 'h', allowedSenders: ['*'], disabled: false, createdAt: 1, policy: {} });
    assert.equal((await s.getCredential('app'))?.lastUsedAt, undefined, 'never used');
    await s.touchCredential('app', 100_000);
    await s.touchCredential('app', 150_000);
    assert.equal((await s.getCredential('app'))?.lastUsedAt, 100_000);
    // Replacing the credential (CLI policy, allow, …) keeps when it was last used.
    await s.upsertCredential({ ...(await s.getCredential('app'))!, allowedSenders: ['example.com'] });
    assert.equal((await s.listCredentials())[0]?.lastUsedAt, 100_000);
  });

  withStore('cancelMessage takes pending recipients out of the queue, fences a delivery in flight, and logs each', async (s) => {
    const m = msg({ recipients: [{ address: 'a@x.test', status: 'queued' }, { address: 'b@x.test', status: 'queued' }, { address: 'c@x.test', status: 'suppressed' }] });
    await s.enqueue(m);
    const [a] = await s.claimDue({ now: 2_000, limit: 1, leaseMs: 60_000, owner: 'n1' });
    assert.equal(await s.cancelMessage(m.id, 3_000), 2);
    // The deliverer that held a@ comes back with a deferral: it must not put the recipient back in the queue.
    await s.recordResults([{ recipientId: a!.id, status: 'deferred', attempts: 1, nextAttemptAt: 4_000, lastReply: '451 later',
      event: { messageId: m.id, recipient: a!.address, type: 'deferred', at: 3_500 } }], 'n1');
    const sum = await s.getMessageSummary(m.id);
    assert.deepEqual(sum?.recipients.map((r) => [r.address, r.status]), [['a@x.test', 'cancelled'], ['b@x.test', 'cancelled'], ['c@x.test', 'suppressed']]);
    assert.equal(await s.countPending(), 0);
    assert.equal((await s.claimDue({ now: 10_000, limit: 10, leaseMs: 1_000, owner: 'n2' })).length, 0);
    assert.deepEqual((await s.listEvents(m.id)).filter((e) => e.type === 'cancelled').map((e) => [e.recipient, e.at, e.detail]),
      [['a@x.test', 3_000, 'cancelled by operator'], ['b@x.test', 3_000, 'cancelled by operator']]);
    assert.equal(await s.cancelMessage(m.id, 5_000), 0, 'nothing left to cancel');
    assert.equal(await s.cancelMessage('01JAAAAAAAAAAAAAAAAAAAAAAA', 5_000), 0);
  });

  withStore('listMessages filters: sender, credential, subject, tag, status, recipient, and a time range by id', async (s) => {
    const a = msg({ createdAt: T1 + 10_000, sender: 'App@Example.com', subject: 'Your 50% off order', tags: [{ name: 'category', value: 'welcome' }] });
    const b = msg({ createdAt: T1 + 20_000, sender: 'news@example.com', credential: 'key:ci', subject: 'Weekly news', recipients: [{ address: 'B@x.test', status: 'queued' }] });
    const c = msg({ createdAt: T1 + 30_000, sender: 'app@example.com', subject: 'Receipt', tags: [{ name: 'category', value: 'receipt' }, { name: 'user', value: '42' }] });
    for (const m of [a, b, c]) await s.enqueue(m);
    const ids = async (q: Parameters<Store['listMessages']>[0]) => (await s.listMessages(q)).map((m) => m.id);
    assert.deepEqual(await ids({ limit: 10, sender: 'APP@example.com' }), [c.id, a.id]);
    assert.deepEqual(await ids({ limit: 10, credential: 'key:ci' }), [b.id]);
    assert.deepEqual(await ids({ limit: 10, subject: 'NEWS' }), [b.id]);
    assert.deepEqual(await ids({ limit: 10, subject: '50%' }), [a.id], '% is taken literally');
    assert.deepEqual(await ids({ limit: 10, subject: '_' }), [], '_ is taken literally');
    assert.deepEqual(await ids({ limit: 10, tag: { name: 'user', value: '42' } }), [c.id]);
    assert.deepEqual(await ids({ limit: 10, tag: { name: 'category', value: 'welcome' }, sender: 'app@example.com' }), [a.id]);
    assert.deepEqual(await ids({ limit: 10, recipient: 'b@X.test', status: 'queued' }), [b.id]);
    assert.deepEqual(await ids({ limit: 10, recipient: 'b@x.test', status: 'delivered' }), []);
    assert.deepEqual(await ids({ limit: 10, after: idFloor(T1 + 15_000), before: idFloor(T1 + 25_000) }), [b.id]);
    assert.deepEqual(await ids({ limit: 1, sender: 'app@example.com', before: c.id }), [a.id], 'cursor with a filter');
    assert.deepEqual((await s.listMessages({ limit: 1, tag: { name: 'user', value: '42' } }))[0]?.tags,
      [{ name: 'category', value: 'receipt' }, { name: 'user', value: '42' }]);
    // Deleting a message takes its tags with it.
    assert.equal(await s.deleteMessage(c.id), true);
    assert.deepEqual(await ids({ limit: 10, tag: { name: 'user', value: '42' } }), []);
  });

  withStore('listSuppressions search: case-insensitive substring, wildcards literal, with the cursor', async (s) => {
    for (const a of ['ann@x.test', 'bob@y.test', 'anna_b@x.test', 'carl@x.test']) await s.addSuppression({ address: a, reason: 'r', createdAt: 1 });
    assert.deepEqual((await s.listSuppressions({ search: 'ANN' })).map((x) => x.address), ['ann@x.test', 'anna_b@x.test']);
    assert.deepEqual((await s.listSuppressions({ search: '_' })).map((x) => x.address), ['anna_b@x.test']);
    assert.deepEqual((await s.listSuppressions({ search: '@x.test', limit: 1, after: 'ann@x.test' })).map((x) => x.address), ['anna_b@x.test']);
    assert.deepEqual(await s.listSuppressions({ search: '%' }), []);
  });

  withStore('webhook deliveries: listed newest first with the last status; one replayed; the secret replaced', async (s) => {
    await s.addWebhook({ id: 'wh1', url: 'https://hooks.example/a', secret: 'whsec_old', events: ['queued'], createdAt: 1 });
    await s.addWebhook({ id: 'wh2', url: 'https://hooks.example/b', secret: 'whsec_b', events: ['queued'], createdAt: 2 });
    const m1 = msg();
    const m2 = msg({ recipients: [{ address: 'z@x.test', status: 'queued' }] });
    await s.enqueue(m1);
    await s.enqueue(m2);
    const claimed = (await s.claimWebhookDeliveries({ now: 5_000, limit: 10, leaseMs: 1_000, owner: 'n1' })).filter((d) => d.webhook.id === 'wh1');
    assert.equal(claimed.length, 2);
    await s.recordWebhookAttempt({ outboxId: claimed[0]!.outboxId, owner: 'n1', at: 5_100, status: 500, error: 'HTTP 500', outcome: 'failed' });
    await s.recordWebhookAttempt({ outboxId: claimed[1]!.outboxId, owner: 'n1', at: 5_200, error: 'connect ECONNREFUSED', outcome: 'retry', nextAttemptAt: 9_000 });
    const list = await s.listWebhookDeliveries('wh1', { limit: 10 });
    assert.deepEqual(list.map((d) => [d.messageId, d.eventType, d.recipient, d.status, d.attempts, d.lastStatus, d.lastError, d.lastAttemptAt]), [
      [m2.id, 'queued', 'z@x.test', 'pending', 1, undefined, 'connect ECONNREFUSED', 5_200],
      [m1.id, 'queued', 'a@example.org', 'failed', 1, 500, 'HTTP 500', 5_100],
    ]);
    assert.deepEqual((await s.listWebhookDeliveries('wh1', { limit: 1, before: list[0]!.id })).map((d) => d.id), [list[1]!.id]);
    assert.equal(await s.replayWebhookDelivery('wh2', list[1]!.id, 6_000), false, 'another webhook’s delivery');
    assert.equal(await s.replayWebhookDelivery('wh1', list[1]!.id, 6_000), true);
    const again = await s.claimWebhookDeliveries({ now: 6_000, limit: 10, leaseMs: 1_000, owner: 'n1' });
    assert.deepEqual(again.filter((d) => d.webhook.id === 'wh1').map((d) => [d.outboxId, d.attempts]), [[list[1]!.id, 0]]);
    assert.equal(await s.setWebhookSecret('wh1', 'whsec_new'), true);
    assert.equal(await s.setWebhookSecret('nope', 'whsec_new'), false);
    assert.equal(await s.replayWebhookDelivery('wh1', list[0]!.id, 7_000), true);
    const signed = await s.claimWebhookDeliveries({ now: 9_500, limit: 10, leaseMs: 1_000, owner: 'n3' });
    assert.ok(signed.length > 0);
    for (const d of signed.filter((x) => x.webhook.id === 'wh1')) assert.equal(d.webhook.secret, 'whsec_new');
  });

  withStore('deliveryStats: accepted and outcomes per bucket, latencies, top failure reasons', async (s) => {
    const hour = 3_600_000;
    const from = T2;
    const m1 = msg({ createdAt: from + 10 * 60_000 });
    const m2 = msg({ createdAt: from + 40 * 60_000, recipients: [{ address: 'a@x.test', status: 'queued' }, { address: 'b@x.test', status: 'queued' }] });
    const outside = msg({ createdAt: from + hour + 1 });
    for (const m of [m1, m2, outside]) await s.enqueue(m);
    const rcpts = await s.claimDue({ now: from + 2 * hour, limit: 10, leaseMs: hour, owner: 'n1' });
    const byAddr = (msgId: string, a: string) => rcpts.find((r) => r.messageId === msgId && r.address === a)!;
    const full = { code: 452, enhanced: '4.2.2' as const, text: 'Mailbox full' };
    await s.recordResults([
      { recipientId: byAddr(m1.id, 'a@example.org').id, status: 'delivered', attempts: 1, lastReply: '250 ok',
        event: { messageId: m1.id, recipient: 'a@example.org', type: 'delivered', at: from + 12 * 60_000 } },
      { recipientId: byAddr(m2.id, 'a@x.test').id, status: 'deferred', attempts: 1, nextAttemptAt: from + hour, lastReply: '452',
        event: { messageId: m2.id, recipient: 'a@x.test', type: 'deferred', at: from + 41 * 60_000, reply: full, category: 'mailbox' } },
      { recipientId: byAddr(m2.id, 'b@x.test').id, status: 'bounced', attempts: 1, lastReply: '550',
        event: { messageId: m2.id, recipient: 'b@x.test', type: 'bounced', at: from + 42 * 60_000, reply: { code: 550, enhanced: '5.1.1', text: 'No such user' }, category: 'mailbox' } },
    ], 'n1');
    await s.addEvent({ messageId: m2.id, recipient: 'a@x.test', type: 'deferred', at: from + 50 * 60_000, reply: { ...full, text: 'Mailbox full (2)' }, category: 'mailbox' });

    const stats = await s.deliveryStats({ from, to: from + hour, buckets: 4, topReasons: 5, latencySample: 100 });
    assert.deepEqual(stats.buckets, [
      { start: from, accepted: 1, delivered: 1, deferred: 0, bounced: 0 },
      { start: from + 15 * 60_000, accepted: 0, delivered: 0, deferred: 0, bounced: 0 },
      { start: from + 30 * 60_000, accepted: 1, delivered: 0, deferred: 1, bounced: 1 },
      { start: from + 45 * 60_000, accepted: 0, delivered: 0, deferred: 1, bounced: 0 },
    ]);
    assert.deepEqual(stats.latenciesMs, [2 * 60_000]);
    assert.deepEqual(stats.reasons, [
      { type: 'deferred', category: 'mailbox', code: 452, enhanced: '4.2.2', sample: 'Mailbox full (2)', count: 2 },
      { type: 'bounced', category: 'mailbox', code: 550, enhanced: '5.1.1', sample: 'No such user', count: 1 },
    ]);
    const small = await s.deliveryStats({ from, to: from + hour, buckets: 1, topReasons: 1, latencySample: 0 });
    assert.deepEqual([small.buckets.length, small.buckets[0]!.accepted, small.latenciesMs.length, small.reasons.length], [1, 2, 0, 1]);
  });
}
