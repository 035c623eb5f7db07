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

test('SMARTHOST_DELIVERY_CONCURRENCY bounds the deliveries in progress at once', async (t) => {
  const { SMTPServer } = await import('smtp-server');
  // A transaction runs from MAIL FROM to the reply after DATA; idle sessions kept for reuse are not deliveries.
  let inProgress = 0;
  let peak = 0;
  const mx = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], disableReverseLookup: true, logger: false,
    onMailFrom(_a, _s, cb) {
      peak = Math.max(peak, ++inProgress);
      cb();
    },
    onData(stream, _s, cb) {
      stream.resume();
      stream.on('end', () => setTimeout(() => {
        inProgress--;
        cb();
      }, 100));
    },
  });
  await new Promise<void>((r) => mx.listen(0, '127.0.0.2', r));
  t.after(() => new Promise<void>((r) => mx.close(() => r())));
  const domains = Array.from({ length: 10 }, (_, i) => `d${i}.test`);
  const dns = await startDnsServer(Object.fromEntries(domains.map((d) => [d, { a: ['127.0.0.2'] }])), t);
  const s = await startTestSmarthost(t, {
    SMARTHOST_DNS_SERVERS: dns.server, SMARTHOST_MX_PORT: String((mx.server.address() as { port: number }).port),
    SMARTHOST_DELIVERY_CONCURRENCY: '2', SMARTHOST_PER_DESTINATION_CONCURRENCY: '10',
  });
  // One message to ten domains: one claim yields ten delivery groups at once.
  await submit(s.ports.submission, { to: domains.map((d) => `r@${d}`) });
  await waitFor('all delivered', async () => (await s.store.countPending()) === 0, 20_000);
  assert.ok(peak >= 1 && peak <= 2, `${peak} deliveries were in progress at once`);
});

test('a group whose results cannot be recorded gives its leases back and is retried, not held while the node lives', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2' }, t);
  const dns = await startDnsServer({ 'once.test': { a: ['127.0.0.2'] } }, t);
  const s = await startTestSmarthost(t, { SMARTHOST_DNS_SERVERS: dns.server, SMARTHOST_MX_PORT: String(mx.port) });
  const record = s.store.recordResults.bind(s.store);
  let failures = 0;
  s.store.recordResults = async (updates, owner) => {
    if (failures++ === 0) throw new Error('SQLITE_IOERR: disk I/O error (injected)');
    return record(updates, owner);
  };
  const id = await submit(s.ports.submission, { to: ['r@once.test'] });
  await waitFor('delivery recorded on the retry', async () => (await s.store.getMessageSummary(id))?.recipients[0]?.status === 'delivered', 15_000);
  assert.equal(failures, 2);
  assert.equal(mx.messages.length, 2, 'the first attempt was delivered but not recorded: at-least-once');
});
