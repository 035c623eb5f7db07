// Per-credential sending policy over real sockets: rate limit, daily quota, size
// cap, source networks and sandbox, each refusal with its exact SMTP line or HTTP
// answer and nothing stored past it; one API key's limit shared by SMTP and HTTP;
// and one count shared by two nodes on PostgreSQL.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKey } from '../../src/credentials/api-keys.ts';
import type { SendingPolicy } from '../../src/store/store.ts';
import { createSchema, dropSchema, postgresSkip } from '../helpers/postgres.ts';
import { authedSession, message, send, tlsSession } from '../helpers/session.ts';
import { startTestSmarthost, TEST_PASSWORD, TEST_USER, type TestSmarthost } from '../helpers/smarthost.ts';
import { authPlain, type RawSmtp } from '../helpers/smtp-client.ts';
import { waitFor } from '../helpers/wait.ts';

// Nothing leaves loopback: delivery goes to a closed local port and stays deferred.
const NO_DELIVERY = { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9' };
const ULID = '[0-9A-HJKMNP-TV-Z]{26}';
const FROM = 'app@example.com';
const user = (query: string, name = TEST_USER) => `${name}:${TEST_PASSWORD}:example.com?${query}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Rate windows are clock minutes: a test whose sends must share one does not start in a minute's last 15 s. */
async function awayFromMinuteEnd(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 15_000) await sleep(left + 50);
}
const secondsToUtcMidnight = () => Math.ceil((86_400_000 - (Date.now() % 86_400_000)) / 1000);

const perMinute = (n: number) =>
  new RegExp(`^451 4\\.7\\.1 Rate limit exceeded: at most ${n} messages? per minute; retry in ([1-9]|[1-5]\\d|60) seconds$`);
function assertPerDay(line: string, n: number): void {
  const m = new RegExp(`^451 4\\.7\\.1 Rate limit exceeded: at most ${n} messages? per day; retry in (\\d+) seconds$`).exec(line);
  assert.ok(m, line);
  assert.ok(Math.abs(Number(m[1]) - secondsToUtcMidnight()) <= 2, `retry in ${m[1]} s, not at UTC midnight`);
}

const stored = async (s: TestSmarthost) => (await s.store.listMessages({ limit: 100 })).length;

async function http(s: TestSmarthost, key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${s.http!.port}${path}`, {
    method, body: body === undefined ? undefined : JSON.stringify(body),
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as any) : undefined };
}
const email = (over: Record<string, unknown> = {}) => ({ from: `App <${FROM}>`, to: 'a@example.org', subject: 'Hi', text: 'Hello', ...over });

async function newKey(s: TestSmarthost, name: string, policy: SendingPolicy) {
  return (await createApiKey(s.store, name, ['example.com'], policy)).key;
}

/** A whole transaction on `c`; the reply that ended it (MAIL's when refused there, else the one after the dot). */
async function trySend(c: RawSmtp): Promise<string> {
  const mail = await c.cmd(`MAIL FROM:<${FROM}>`);
  if (mail.code !== 250) return mail.last;
  assert.equal((await c.cmd('RCPT TO:<rcpt@example.org>')).code, 250);
  assert.equal((await c.cmd('DATA')).code, 354);
  c.write(message() + '.\r\n');
  return (await c.read()).last;
}

test('SMTP rate limit: 451 4.7.1 at MAIL FROM once over, without counting; at the commit when two sessions race', async (t) => {
  await awayFromMinuteEnd();
  const s = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_USERS: user('rate=3') });
  const c = await authedSession(s.ports.submission);
  t.after(() => c.close());
  for (let i = 0; i < 2; i++) assert.match((await send(c, FROM, ['rcpt@example.org'], message())).last, /^250 2\.0\.0 Ok: queued as /);

  // Both sessions are under the limit at MAIL FROM; only the first commit fits.
  const other = await authedSession(s.ports.submission);
  t.after(() => other.close());
  for (const session of [c, other]) {
    assert.equal((await session.cmd(`MAIL FROM:<${FROM}>`)).code, 250);
    assert.equal((await session.cmd('RCPT TO:<rcpt@example.org>')).code, 250);
    assert.equal((await session.cmd('DATA')).code, 354);
  }
  c.write(message() + '.\r\n');
  assert.match((await c.read()).last, /^250 2\.0\.0 Ok: queued as /);
  other.write(message() + '.\r\n');
  assert.match((await other.read()).last, perMinute(3));

  // Already over: refused before DATA, and asking again does not use anything up.
  for (let i = 0; i < 3; i++) assert.match((await c.cmd(`MAIL FROM:<${FROM}>`)).last, perMinute(3));
  assert.deepEqual(await s.store.sendCounts(`credential:${TEST_USER}`, Date.now()), { minute: 3, day: 0 });
  assert.equal(await stored(s), 3);
  assert.ok(s.logs.some((l) => l.event === 'rate_limit' && l.user === TEST_USER && l.limit === 'minute'));
});

test('SMTP daily quota: the retry time is the next UTC midnight', async (t) => {
  const s = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_USERS: user('quota=1&rate=100') });
  const c = await authedSession(s.ports.submission);
  t.after(() => c.close());
  assert.match(await trySend(c), /^250 /);
  assertPerDay(await trySend(c), 1);
  assert.equal(await stored(s), 1);
});

test('per-credential size cap: 552 5.3.4 for a declared SIZE and for the data; HTTP 413 for a key', async (t) => {
  const s = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_USERS: user('max_size=2000') });
  const c = await authedSession(s.ports.submission);
  t.after(() => c.close());
  assert.equal((await c.cmd(`MAIL FROM:<${FROM}> SIZE=5000`)).last, '552 5.3.4 Message too big (at most 2000 bytes)');
  assert.equal((await c.cmd('RSET')).code, 250);
  const big = await send(c, FROM, ['rcpt@example.org'], message({}, `${'y'.repeat(70)}\r\n`.repeat(40)));
  assert.equal(big.last, '552 5.3.4 Message too big (at most 2000 bytes)');
  assert.match((await send(c, FROM, ['rcpt@example.org'], message())).last, /^250 /, 'a small one still fits');

  const key = await newKey(s, 'small', { maxMessageSize: 2000 });
  const r = await http(s, key, 'POST', '/emails', email({ text: 'z'.repeat(3000) }));
  assert.equal(r.status, 413);
  assert.match(r.body.message, /^email is \d+ bytes; the limit is 2000$/);
  assert.equal(r.body.name, 'validation_error');
  assert.equal(await stored(s), 1);
});

test('source networks: AUTH from elsewhere is 535 5.7.8 and counts as a failure; an API key gets 403', async (t) => {
  const s = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_USERS: `${user('cidr=10.0.0.0/8')},${user('cidr=127.0.0.0/8;10.0.0.0/8', 'local')}` });
  const c = await tlsSession(s.ports.submission);
  t.after(() => c.close());
  const refused = '535 5.7.8 Authentication failed: this credential is not allowed from your address';
  assert.equal((await c.cmd(`AUTH PLAIN ${authPlain(TEST_USER, TEST_PASSWORD)}`)).last, refused);
  assert.equal((await c.cmd(`AUTH PLAIN ${authPlain(TEST_USER, TEST_PASSWORD)}`)).last, refused);
  assert.equal((await c.cmd(`AUTH PLAIN ${authPlain(TEST_USER, TEST_PASSWORD)}`)).last, '421 4.7.0 Too many authentication failures; closing connection, try again later');
  assert.ok(s.logs.some((l) => l.event === 'auth' && l.reason === 'source address not allowed'));
  (await authedSession(s.ports.submission, 'local')).close();

  const key = await newKey(s, 'office', { sourceNetworks: ['10.0.0.0/8'] });
  const r = await http(s, key, 'POST', '/emails', email());
  assert.deepEqual({ status: r.status, body: r.body }, {
    status: 403, body: { statusCode: 403, name: 'validation_error', message: 'This API key is not allowed from your address' },
  });
  const smtp = await tlsSession(s.ports.submission);
  t.after(() => smtp.close());
  assert.equal((await smtp.cmd(`AUTH PLAIN ${authPlain('office', key)}`)).last,
    '535 5.7.8 Authentication failed: this API key is not allowed from your address');
  assert.equal(await stored(s), 0);
});

test('sandbox: accepted and recorded as sandboxed, never delivered, no DSN; over SMTP and HTTP', async (t) => {
  const s = await startTestSmarthost(t, { ...NO_DELIVERY, SMARTHOST_USERS: `${user('sandbox=1')},${TEST_USER}2:${TEST_PASSWORD}:example.com` });
  const c = await authedSession(s.ports.submission);
  t.after(() => c.close());
  const reply = (await send(c, FROM, ['a@example.org', 'b@example.org'], message())).last;
  const id = new RegExp(`^250 2\\.0\\.0 Ok: queued as (${ULID}) \\(sandbox: recorded, not delivered\\)$`).exec(reply)?.[1];
  assert.ok(id, reply);
  // A normal message alongside shows the scheduler ran: it gets attempted (and deferred), the sandboxed one never.
  const real = await authedSession(s.ports.submission, `${TEST_USER}2`);
  t.after(() => real.close());
  const realId = /queued as (\S+)/.exec((await send(real, FROM, ['c@example.org'], message())).last)![1]!;
  await waitFor('the normal message to be attempted', async () => (await s.store.listEvents(realId)).some((e) => e.type === 'deferred'));

  assert.deepEqual((await s.store.getMessageSummary(id))?.recipients.map((r) => [r.address, r.status]), [['a@example.org', 'sandboxed'], ['b@example.org', 'sandboxed']]);
  assert.deepEqual((await s.store.listEvents(id)).map((e) => [e.type, e.recipient]), [['sandboxed', 'a@example.org'], ['sandboxed', 'b@example.org']]);
  assert.equal(await stored(s), 2, 'a DSN was made');

  const key = await newKey(s, 'test-mode', { sandbox: true });
  const sent = await http(s, key, 'POST', '/emails', email());
  assert.equal(sent.status, 200);
  assert.equal((await http(s, key, 'GET', `/emails/${sent.body.id}`)).body.recipients[0].status, 'sandboxed');
  const listed = await http(s, key, 'GET', '/emails?status=sandboxed');
  assert.deepEqual(listed.body.data.map((m: { id: string }) => m.id).sort(), [id, sent.body.id].sort());
  assert.equal((await http(s, key, 'GET', '/events?type=sandboxed')).body.data.length, 3);
});

test('an API key is also an SMTP login (name + key); its rate limit holds across SMTP and HTTP together', async (t) => {
  await awayFromMinuteEnd();
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const key = await newKey(s, 'ci', { ratePerMinute: 4 });
  const c = await authedSession(s.ports.submission, 'ci', key);
  t.after(() => c.close());
  for (let i = 0; i < 2; i++) assert.match(await trySend(c), /^250 2\.0\.0 Ok: queued as /);
  for (let i = 0; i < 2; i++) assert.equal((await http(s, key, 'POST', '/emails', email())).status, 200);

  const over = await http(s, key, 'POST', '/emails', email());
  assert.equal(over.status, 429);
  assert.deepEqual(Object.keys(over.body).sort(), ['message', 'name', 'statusCode']);
  assert.equal(over.body.name, 'rate_limit_exceeded');
  assert.match(`451 4.7.1 ${over.body.message}`, perMinute(4));
  assert.equal(over.headers.get('retry-after'), /retry in (\d+) seconds/.exec(over.body.message)![1]);
  const postmark = await http(s, key, 'POST', '/email', { From: FROM, To: 'a@example.org', Subject: 'Hi', TextBody: 'x' }, { authorization: '', 'x-postmark-server-token': key });
  assert.equal(postmark.status, 429);
  assert.equal(postmark.body.ErrorCode, 429);
  assert.match(await trySend(c), perMinute(4));

  const messages = await s.store.listMessages({ limit: 100 });
  assert.deepEqual(messages.map((m) => m.credential), ['key:ci', 'key:ci', 'key:ci', 'key:ci']);
  // The key's name with another secret, or the secret with another name, is no login.
  const wrong = await tlsSession(s.ports.submission);
  t.after(() => wrong.close());
  assert.equal((await wrong.cmd(`AUTH PLAIN ${authPlain('other', key)}`)).last, '535 5.7.8 Authentication credentials invalid');
  await s.store.revokeApiKey('ci', Date.now());
  assert.equal((await wrong.cmd(`AUTH PLAIN ${authPlain('ci', key)}`)).last, '535 5.7.8 Authentication credentials invalid');
});

test('HTTP daily quota: a batch that would not fit is refused whole; then 429 daily_quota_exceeded until UTC midnight', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const key = await newKey(s, 'ci', { dailyQuota: 2 });
  const tooMany = await http(s, key, 'POST', '/emails/batch', [email(), email(), email()]);
  assert.equal(tooMany.status, 429);
  assert.equal(tooMany.body.name, 'daily_quota_exceeded');
  assert.equal(await stored(s), 0, 'part of a refused batch was queued');
  assert.equal((await http(s, key, 'POST', '/emails/batch', [email(), email()])).status, 200);
  const over = await http(s, key, 'POST', '/emails', email());
  assert.equal(over.status, 429);
  assert.equal(over.body.name, 'daily_quota_exceeded');
  assertPerDay(`451 4.7.1 ${over.body.message}`, 2);
  assert.ok(Math.abs(Number(over.headers.get('retry-after')) - secondsToUtcMidnight()) <= 2);
  assert.equal(await stored(s), 2);
});

test('two nodes on one PostgreSQL share one count: 5 per minute, 3 sent to each, exactly 5 accepted', { skip: await postgresSkip() }, async (t) => {
  const { name, url } = await createSchema();
  await awayFromMinuteEnd();
  const env = { ...NO_DELIVERY, SMARTHOST_DATABASE_URL: url, SMARTHOST_USERS: user('rate=5') };
  const nodes = [await startTestSmarthost(t, env), await startTestSmarthost(t, env)];
  t.after(() => dropSchema(name)); // after hooks run in order: the nodes close first
  const sessions = await Promise.all(nodes.flatMap((n) => [0, 1, 2].map(() => authedSession(n.ports.submission))));
  t.after(() => sessions.forEach((c) => c.close()));
  const replies = await Promise.all(sessions.map(trySend));
  assert.equal(replies.filter((r) => r.startsWith('250 2.0.0 Ok: queued as ')).length, 5, replies.join('\n'));
  assert.deepEqual(replies.filter((r) => !r.startsWith('250 ')).map((r) => perMinute(5).test(r)), [true], replies.join('\n'));
  assert.equal(await stored(nodes[0]!), 5);
});
