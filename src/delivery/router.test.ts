import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClaimedRecipient } from '../store/store.ts';
import type { Transport } from './outcome.ts';
import { createRouter } from './router.ts';
import type { AutoRoute } from './routing/auto-route.ts';
import type { RouteTable } from './routing/route-table.ts';

const transport = (name: string): Transport => ({ name, send: async () => [] });
const table = (over: Partial<RouteTable>): RouteTable => ({
  default: ['mx'], rules: [], transports: new Map(['mx', 'relay', 'resend'].map((n) => [n, transport(n)])), describe: (n) => `through ${n}`, ...over,
});
let nextId = 1;
const rcpt = (messageId: string, address: string, sender = 'app@example.com'): ClaimedRecipient => ({
  id: nextId++, messageId, address, domain: address.split('@')[1]!, status: 'queued', attempts: 0, nextAttemptAt: 0,
  lastReply: null, updatedAt: 0, sender, messageCreatedAt: 0,
});
const shape = (groups: ReturnType<ReturnType<typeof createRouter>['group']>) =>
  groups.map((g) => `${g.messageId} ${g.routes.map((t) => t.name).join(',')}: ${g.recipients.map((r) => r.address).join(' ')}`);

test('a list starting with mx groups per message and domain; relay and providers per message; rules split a message', () => {
  const claimed = [rcpt('m1', 'a@example.org'), rcpt('m1', 'b@example.net'), rcpt('m1', 'c@example.org'), rcpt('m2', 'd@example.org'), rcpt('m1', 'e@rule.test')];
  const rules = [{ recipientDomain: ['rule.test'], routes: ['resend', 'relay'] }];
  assert.deepEqual(shape(createRouter(table({ default: ['mx', 'relay'], rules })).group(claimed)), [
    'm1 mx,relay: a@example.org c@example.org',
    'm1 mx,relay: b@example.net',
    'm2 mx,relay: d@example.org',
    'm1 resend,relay: e@rule.test',
  ]);
  assert.deepEqual(shape(createRouter(table({ default: ['relay', 'mx'], rules })).group(claimed)), [
    'm1 relay,mx: a@example.org b@example.net c@example.org',
    'm2 relay,mx: d@example.org',
    'm1 resend,relay: e@rule.test',
  ]);
});

test('auto asks the probe for the list at each grouping', () => {
  let current = ['mx', 'relay'];
  const auto = { routes: () => current, status: () => 'probing egress: mx, relay' } as AutoRoute;
  const router = createRouter(table({ default: ['auto'] }), auto);
  const claimed = [rcpt('m1', 'a@example.org'), rcpt('m1', 'b@example.net')];
  assert.deepEqual(shape(router.group(claimed)), ['m1 mx,relay: a@example.org', 'm1 mx,relay: b@example.net']);
  current = ['relay'];
  assert.deepEqual(shape(router.group(claimed)), ['m1 relay: a@example.org b@example.net']);
  assert.equal(router.status(), 'probing egress: mx, relay');
});

test('status names the default list in plain words', () => {
  assert.equal(createRouter(table({ default: ['relay', 'mx'] })).status(), 'delivering through relay, failing over through mx');
  assert.equal(createRouter(table({ default: ['mx'], rules: [{ senderDomain: ['a.test'], routes: ['relay'] }, { senderDomain: ['b.test'], routes: ['relay'] }] })).status(),
    'delivering through mx (2 rules for other domains)');
});
