// The dashboard's data and actions over real HTTP: list filters and cursor
// pages, the raw download, retry / delete / unsuppress from a message, errors
// in plain words, and two nodes on one PostgreSQL sharing logins and live updates.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { overview } from '../../src/admin/stats.ts';
import { ensureAdminPassword } from '../../src/dashboard/admin-password.ts';
import { idFloor, newMessageId } from '../../src/store/ids.ts';
import type { NewMessage } from '../../src/store/store.ts';
import { dashboardSession } from '../helpers/dashboard-session.ts';
import { createDatabase, postgresSkip } from '../helpers/postgres.ts';
import { startTestSmarthost, type TestSmarthost } from '../helpers/smarthost.ts';
import { readUntil } from '../helpers/wait.ts';

const ADMIN_PASSWORD = 'dashboard actions password';

const loggedIn = (s: TestSmarthost) => dashboardSession(s, ADMIN_PASSWORD);

const message = (over: Partial<NewMessage>): NewMessage => ({
  id: newMessageId(over.createdAt), sender: 'app@example.com', raw: Buffer.from('Subject: hi\r\n\r\nbody\r\n'),
  recipients: [{ address: 'a@example.org', status: 'queued' }], source: 'http', credential: 'key:x', clientAddress: '127.0.0.1',
  createdAt: Date.now(), ...over,
});

/** Message ids in a rows fragment, in order. */
const idsIn = (fragment: string) => [...fragment.matchAll(/data-message-id="([^"]+)"/g)].map((m) => m[1]);

test('the message list filters by status, recipient, sender, subject, credential or key, tag and time, and pages by cursor', async (t) => {
  // Nothing to deliver to: recipients stay queued (no DNS server answers; a long retry keeps them put).
  const s = await startTestSmarthost(t, { SMARTHOST_ADMIN_PASSWORD: ADMIN_PASSWORD, SMARTHOST_RETRY_INITIAL: '1h', SMARTHOST_DNS_SERVERS: '127.0.0.1:9' });
  await s.scheduler.stop(0);
  const { get } = await loggedIn(s);
  const hour = 3_600_000;
  const t0 = Date.UTC(2026, 0, 10, 12);
  const old = message({ createdAt: t0 - 2 * hour, sender: 'news@example.com' });
  const mid = message({ createdAt: t0 - hour, recipients: [{ address: 'b@example.org', status: 'suppressed' }] });
  const recent = message({ createdAt: t0, sender: 'News@Example.com', credential: 'key:billing', tags: [{ name: 'campaign', value: 'a=b' }], subject: 'Your 100% Invoice' });
  for (const m of [old, mid, recent]) await s.store.enqueue(m);

  assert.deepEqual(idsIn(await (await get('/ui/messages/rows')).text()), [recent.id, mid.id, old.id]);
  assert.deepEqual(idsIn(await (await get('/ui/messages/rows?status=suppressed')).text()), [mid.id]);
  assert.deepEqual(idsIn(await (await get('/ui/messages/rows?recipient=B@example.org')).text()), [mid.id]);
  assert.deepEqual(idsIn(await (await get('/ui/messages/rows?sender=news@example.com')).text()), [recent.id, old.id]);
  assert.deepEqual(idsIn(await (await get('/ui/messages/rows?credential=key:billing')).text()), [recent.id]);
  assert.deepEqual(idsIn(await (await get('/ui/messages/rows?credential=app')).text()), []);
  assert.deepEqual(idsIn(await (await get(`/ui/messages/rows?subject=${encodeURIComponent('100% invoice')}`)).text()), [recent.id]);
  assert.deepEqual(idsIn(await (await get('/ui/messages/rows?subject=1000')).text()), []);
  // Filters combine; the form shows every one, filled in as given.
  assert.deepEqual(idsIn(await (await get('/ui/messages/rows?subject=invoice&status=suppressed')).text()), []);
  const form = await (await get(`/ui/messages?status=queued&recipient=a@example.org&sender=news@example.com&subject=invoice&credential=key:billing&tag=${encodeURIComponent('campaign=a=b')}&since=2026-01-10T11:30&until=2026-01-10T13:00&tz=0`)).text();
  assert.deepEqual(idsIn(form), [recent.id]);
  for (const [name, value] of [['recipient', 'a@example.org'], ['sender', 'news@example.com'], ['subject', 'invoice'], ['credential', 'key:billing'],
    ['tag', 'campaign=a=b'], ['since', '2026-01-10T11:30'], ['until', '2026-01-10T13:00']])
    assert.match(form, new RegExp(`<input id="f-${name}" name="${name}" type="[a-z-]+" value="${value}"`), name);
  assert.match(form, /<option selected>queued<\/option>/);
  assert.deepEqual(idsIn(await (await get(`/ui/messages/rows?tag=${encodeURIComponent('campaign=a=b')}`)).text()), [recent.id]);
  // Times as the viewer typed them in UTC+1 (getTimezoneOffset -60): 12:30 local is 11:30 UTC.
  assert.deepEqual(idsIn(await (await get('/ui/messages/rows?since=2026-01-10T11:30&tz=-60')).text()), [recent.id, mid.id]);
  assert.deepEqual(idsIn(await (await get('/ui/messages/rows?until=2026-01-10T11:30&tz=0')).text()), [mid.id, old.id]);
  assert.deepEqual(idsIn(await (await get(`/ui/messages/rows?cursor=${recent.id}`)).text()), [mid.id, old.id]);

  // A full page links to the next one with the same filters.
  for (let i = 0; i < 30; i++) await s.store.enqueue(message({ createdAt: t0 + 1_000 + i, sender: 'bulk@example.com' }));
  const first = await (await get('/ui/messages?sender=bulk@example.com')).text();
  assert.equal(idsIn(first).length, 25);
  const next = /href="\/ui\/messages\?([^"]+)">Older messages/.exec(first)![1]!.replace(/&amp;/g, '&');
  assert.equal(new URLSearchParams(next).get('sender'), 'bulk@example.com');
  assert.equal(idsIn(await (await get(`/ui/messages/rows?${next}`)).text()).length, 5);

  const bad = await (await get('/ui/messages?status=lost&since=yesterday&tag=campaign')).text();
  assert.ok(bad.includes('Some filters were not understood (status: use one of queued, deferred, delivered, bounced, expired, suppressed, sandboxed, cancelled; '
    + 'tag: tags look like name=value; since: times look like 2026-11-25T14:30); showing all messages.'), bad);
});

test('a message: raw download, retry now, unsuppress and suppress a recipient, delete; a missing one is a plain 404', async (t) => {
  const s = await startTestSmarthost(t, { SMARTHOST_ADMIN_PASSWORD: ADMIN_PASSWORD, SMARTHOST_DNS_SERVERS: '127.0.0.1:9' });
  await s.scheduler.stop(0);
  const { get, post } = await loggedIn(s);
  const raw = Buffer.from('Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nDKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel1; b=abc\r\n\r\nbody\r\n');
  const m = message({ raw, recipients: [{ address: 'a@example.org', status: 'queued' }, { address: 'gone@example.org', status: 'suppressed' }] });
  await s.store.enqueue(m);
  await s.store.addSuppression({ address: 'gone@example.org', reason: 'test', createdAt: 1 });

  const page = await (await get(`/ui/messages/${m.id}`)).text();
  assert.match(page, /<h1 class="subject">Grüße<\/h1>/);
  assert.match(page, /signed by <span class="mono">d=example\.com s=sel1<\/span> \(rsa-sha256\)/);

  const download = await get(`/ui/messages/${m.id}/raw`);
  assert.equal(download.headers.get('content-type'), 'message/rfc822');
  assert.equal(download.headers.get('content-disposition'), `attachment; filename="${m.id}.eml"`);
  assert.deepEqual(Buffer.from(await download.arrayBuffer()), raw);

  const retried = await post(`/ui/messages/${m.id}/retry`);
  assert.equal(retried.status, 303);
  assert.equal(retried.headers.get('location'), `/ui/messages/${m.id}?notice=retried`);
  assert.deepEqual((await s.store.listEvents(m.id)).filter((e) => e.type === 'retry').map((e) => e.detail), ['retry requested by operator']);
  assert.match(await (await get(`/ui/messages/${m.id}?notice=retried`)).text(), /Retry scheduled: the pending recipients are due now\./);

  const unsuppressed = await post('/ui/suppressions/remove', { address: 'gone@example.org', back: `/ui/messages/${m.id}` });
  assert.equal(unsuppressed.headers.get('location'), `/ui/messages/${m.id}?notice=unsuppressed`);
  assert.deepEqual(await s.store.suppressedAmong(['gone@example.org']), new Set<string>());
  const suppressed = await post('/ui/suppressions', { address: 'a@example.org', reason: 'from the message page', back: 'https://evil.example/' });
  assert.equal(suppressed.headers.get('location'), '/ui/suppressions?notice=suppressed', 'an outside "back" must not be followed');
  const badAddress = await post('/ui/suppressions', { address: 'not an address' });
  assert.equal(badAddress.status, 422);
  assert.match(await badAddress.text(), /address: invalid email address &quot;not an address&quot;/);

  // Delete from queue is DELETE /emails/{id}: pending recipients cancelled, the message and its history kept.
  const deleted = await post(`/ui/messages/${m.id}/delete`);
  assert.equal(deleted.headers.get('location'), `/ui/messages/${m.id}?notice=cancelled`);
  assert.deepEqual((await s.store.getMessageSummary(m.id))?.recipients.map((r) => r.status), ['cancelled', 'suppressed']);
  assert.ok((await s.store.listEvents(m.id)).some((e) => e.type === 'cancelled'));
  assert.equal((await post(`/ui/messages/${m.id}/delete`)).headers.get('location'), `/ui/messages/${m.id}?notice=nothing-to-cancel`);
  assert.equal((await post(`/ui/messages/${newMessageId()}/delete`)).status, 404);
  await s.store.deleteMessage(m.id);
  const missing = await get(`/ui/messages/${m.id}`);
  assert.equal(missing.status, 404);
  const text = await missing.text();
  assert.match(text, /There is no message with this id\. It may have been deleted; find others under Messages\./);
  assert.doesNotMatch(text, /\bat .*\.ts:\d+/, 'a stack trace leaked');
});

test('the test message form refuses a bad address in plain words', async (t) => {
  const s = await startTestSmarthost(t, { SMARTHOST_ADMIN_PASSWORD: ADMIN_PASSWORD });
  const { post } = await loggedIn(s);
  const res = await post('/ui/connect/test', { from: 'app@example.com', to: 'nobody' });
  assert.equal(res.status, 200);
  assert.match(await res.text(), /<p class="error" role="alert">To: invalid email address &quot;nobody&quot;\. Correct it and send again\.<\/p>/);
});

test('without SMARTHOST_ADMIN_PASSWORD a password is generated and printed once; a set one replaces it', async (t) => {
  const s = await startTestSmarthost(t);
  const banner = s.printed.join('\n');
  const password = /^ {2}admin password: (\S+)$/m.exec(banner)?.[1];
  assert.ok(password && password.length >= 20, banner);
  assert.match(banner, new RegExp(`^ {2}dashboard: http://relay\\.test:${s.ports.http}/$`, 'm'));
  assert.ok(!JSON.stringify(s.logs).includes(password), 'the password was logged');
  const printed: string[] = [];
  await ensureAdminPassword(s.store, undefined, 'x', (l) => printed.push(l));
  assert.equal(printed.length, 0, 'printed again');
  await ensureAdminPassword(s.store, ADMIN_PASSWORD, 'x', (l) => printed.push(l));
  assert.equal(printed.length, 0);
  const { get } = await loggedIn(s);
  assert.equal((await get('/ui/messages')).status, 200);
});

const pgSkip = await postgresSkip();

test('two nodes on one PostgreSQL: a login on one works on the other, and the other one streams the first one\'s events', { skip: pgSkip }, async (t) => {
  const url = await createDatabase(t);
  const env = { SMARTHOST_ADMIN_PASSWORD: ADMIN_PASSWORD, SMARTHOST_DATABASE_URL: url };
  // Started without t: the database is dropped in an after hook registered first, so the nodes must stop before it.
  const a = await startTestSmarthost(undefined, env);
  const b = await startTestSmarthost(undefined, env).catch(async (err: unknown) => {
    await a.close();
    throw err;
  });
  try {
    const onA = await loggedIn(a);
    const baseB = `http://127.0.0.1:${b.ports.http}`;
    assert.equal((await fetch(`${baseB}/ui/messages`, { headers: { cookie: onA.cookie }, redirect: 'manual' })).status, 200);

    const stream = await fetch(`${baseB}/ui/live`, { headers: { cookie: onA.cookie } });
    assert.equal(stream.status, 200);
    const reader = stream.body!.getReader();
    const m = message({});
    await a.store.enqueue(m);
    await readUntil(reader, m.id);
    await reader.cancel();
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('the overview shows the numbers of the stats service (GET /stats): counts, latency percentiles, the top failure reasons explained', async (t) => {
  const s = await startTestSmarthost(t, { SMARTHOST_ADMIN_PASSWORD: ADMIN_PASSWORD, SMARTHOST_DNS_SERVERS: '127.0.0.1:9' });
  await s.scheduler.stop(0);
  const { get } = await loggedIn(s);
  const now = Date.now();
  // The stats read acceptance time from the id; newMessageId never goes back in time, and earlier tests here made later ids.
  const m = message({ id: `${idFloor(now - 60_000).slice(0, 10)}${'7'.repeat(16)}`, createdAt: now - 60_000,
    recipients: [{ address: 'a@example.org', status: 'queued' }, { address: 'b@example.org', status: 'queued' }] });
  await s.store.enqueue(m);
  await s.store.addEvent({ messageId: m.id, recipient: 'a@example.org', type: 'delivered', at: now - 30_000, route: 'mx' });
  for (let i = 0; i < 2; i++)
    await s.store.addEvent({ messageId: m.id, recipient: 'b@example.org', type: 'deferred', at: now - 20_000, category: 'greylist',
      reply: { code: 451, enhanced: '4.7.1', text: 'Greylisted, try again' } });
  const page = await (await get('/ui/?window=hour')).text();
  // One message accepted (messages, by acceptance time); its recipients' outcomes by event time — as GET /stats counts them.
  assert.match(page, /<span class="n">1<\/span> accepted<\/li><li class="total series-delivered"><span class="n">1<\/span> delivered<\/li><li class="total series-deferred"><span class="n">2<\/span> deferred/);
  const stats = await overview(s.store, 'hour');
  assert.deepEqual([stats.buckets.reduce((n, b) => n + b.accepted, 0), stats.latency.p50Ms, stats.reasons[0]!.count], [1, 30_000, 2]);
  assert.match(page, /<dt>Median \(p50\)<\/dt><dd>30\.0 s<\/dd><dt>95th percentile<\/dt><dd>30\.0 s<\/dd>/);
  assert.match(page, /<td class="num">2<\/td><td><span class="status status-deferred">deferred<\/span><\/td><td><span class="category">greylist<\/span><\/td>\s*<td class="mono small">451 4\.7\.1 Greylisted, try again<\/td>\s*<td>greylisted: the receiver defers unknown senders once\. <em>nothing to do: smarthost retries, and the next attempt is normally accepted\.<\/em><\/td>/);
  assert.match(page, /<svg viewBox="0 0 720 200" role="img" aria-label="Per 5 min: messages accepted; recipients delivered, deferred and bounced">/);
  assert.equal((page.match(/<rect class="bar /g) ?? []).length, 3, 'one bar each for accepted, delivered and deferred');
});
