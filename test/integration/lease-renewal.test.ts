// Regression: a delivery group waiting for a per-destination slot longer than
// one lease was claimed again by the same scheduler and sent twice. Leases are
// now renewed while the owner lives, and results are fenced by the lease owner.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startFakeMx } from '../helpers/fake-mx.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';
import { submit } from '../helpers/submit.ts';
import { waitFor } from '../helpers/wait.ts';

test('a slow destination behind a per-destination limit gets each message exactly once', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2', dataDelayMs: 300 }, t);
  const dns = await startDnsServer({ 'slow.test': { a: ['127.0.0.2'] } }, t);
  const s = await startTestSmarthost(t, {
    SMARTHOST_DNS_SERVERS: dns.server, SMARTHOST_MX_PORT: String(mx.port),
    SMARTHOST_LEASE_TIME: '1s', SMARTHOST_PER_DESTINATION_CONCURRENCY: '1',
  });
  const ids: string[] = [];
  for (let i = 0; i < 8; i++) ids.push(await submit(s.ports.submission, { to: [`r${i}@slow.test`] }));
  // 8 deliveries × 300 ms one at a time outlast the 1 s lease about twice over.
  await waitFor('all delivered', async () => (await s.store.countPending()) === 0, 20_000);
  assert.equal(mx.messages.length, 8, `${mx.messages.length - 8} duplicate deliveries`);
  for (const id of ids) {
    const delivered = (await s.store.listEvents(id)).filter((e) => e.type === 'delivered');
    assert.equal(delivered.length, 1, id);
  }
});
