// The admin API over real sockets: key permissions, keys and credentials,
// queue actions, suppression search and CSV, webhook deliveries, stats, and routes.
// Every error path with its exact answer, and nothing accepted lost by it.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { test, type TestContext } from 'node:test';
import nodemailer from 'nodemailer';
import { Webhook as Verifier } from 'standardwebhooks';
import { createApiKey } from '../../src/credentials/api-keys.ts';
import { verifyPassword } from '../../src/credentials/password.ts';
import type { ApiKeyPermission } from '../../src/store/store.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startFakeMx } from '../helpers/fake-mx.ts';
import { startTestSmarthost, type TestSmarthost } from '../helpers/smarthost.ts';
import { submit } from '../helpers/submit.ts';
import { waitFor } from '../helpers/wait.ts';

const NO_DELIVERY = { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9' };

type Call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number; headers: Headers; text: string; body: any }>;

function caller(s: TestSmarthost, key: string): Call {
  return async (method, path, body, headers = {}) => {
    const res = await fetch(`http://127.0.0.1:${s.http!.port}${path}`, {
      method, headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const json = res.headers.get('content-type')?.startsWith('application/json') && text ? JSON.parse(text) : undefined;
    return { status: res.status, headers: res.headers, text, body: json };
  };
}

async function api(t: TestContext, env: Record<string, string> = NO_DELIVERY, permission: ApiKeyPermission = 'full_access') {
  const s = await startTestSmarthost(t, env);
  const { key, record } = await createApiKey(s.store, 'admin', ['example.com'], {}, permission);
  return { s, key, record, call: caller(s, key) };
}

const email = (over: Record<string, unknown> = {}) => ({ from: 'app@example.com', to: 'a@example.org', subject: 'Hello', text: 'Hi', ...over });
const err = (statusCode: number, name: string, message: string) => ({ statusCode, name, message });

/** Everything accepted so far, with every recipient's state (queued and deferred alike: the scheduler moves them): a failed call must leave it as it was. */
const snapshot = async (s: TestSmarthost) =>
  (await s.store.listMessages({ limit: 1000 })).map((m) =>
    [m.id, m.recipients.map((r) => `${r.address}=${r.status === 'queued' || r.status === 'deferred' ? 'pending' : r.status}`).join(' ')]);

test('a sending_access key sends on all four send endpoints and gets 403 restricted_api_key everywhere else', async (t) => {
  const { s, key, call } = await api(t, NO_DELIVERY, 'sending_access');
  assert.equal((await call('POST', '/emails', email())).status, 200);
  assert.equal((await call('POST', '/emails/batch', [email(), email()])).status, 200);
  const pm = { authorization: '', 'x-postmark-server-token': key };
  const postmark = { From: 'app@example.com', To: 'a@example.org', Subject: 'x', TextBody: 'x' };
  assert.equal((await call('POST', '/email', postmark, pm)).body.ErrorCode, 0);
  assert.equal((await call('POST', '/email/batch', [postmark], pm)).body[0].ErrorCode, 0);
  const before = await snapshot(s);
  assert.equal(before.length, 5);
  const [first] = before[0]!;
  const restricted = err(403, 'restricted_api_key', 'This API key is restricted to only send emails');
  for (const [method, path, body] of [
    ['GET', '/emails'], ['GET', `/emails/${first}`], ['POST', `/emails/${first}/retry`], ['DELETE', `/emails/${first}`], ['GET', '/events'],
    ['GET', '/suppressions'], ['POST', '/suppressions', { email: 'x@example.org' }], ['DELETE', '/suppressions/x@example.org'], ['GET', '/suppressions.csv'],
    ['GET', '/webhooks'], ['POST', '/webhooks', { url: 'https://hooks.example/x' }], ['GET', '/api-keys'], ['POST', '/api-keys', { name: 'x', allowed_senders: ['*'] }],
    ['DELETE', `/api-keys/${(await s.store.listApiKeys())[0]!.id}`], ['GET', '/credentials'], ['GET', '/stats'],
    ['GET', '/routes'], ['POST', '/routes/check'],
  ] as [string, string, unknown?][]) {
    const r = await call(method, path, body);
    assert.deepEqual({ status: r.status, body: r.body }, { status: 403, body: restricted }, `${method} ${path}`);
  }
  assert.deepEqual(await snapshot(s), before, 'a refused call changed the queue');
  assert.equal((await s.store.listApiKeys())[0]!.revokedAt, null);
  assert.equal((await s.store.listSuppressions()).length, 0);
});

test('without a key every admin endpoint is 401, as JSON', async (t) => {
  const { call } = await api(t);
  for (const [method, path] of [
    ['GET', '/api-keys'], ['POST', '/api-keys'], ['PATCH', '/api-keys/x'], ['DELETE', '/api-keys/x'], ['GET', '/credentials'], ['POST', '/credentials'],
    ['DELETE', '/credentials/x'], ['POST', '/emails/x/retry'], ['DELETE', '/emails/x'], ['GET', '/suppressions.csv'], ['GET', '/stats'],
    ['GET', '/webhooks/x/deliveries'], ['POST', '/webhooks/x/deliveries/1/replay'], ['POST', '/webhooks/x/rotate-secret'],
    ['GET', '/routes'], ['POST', '/routes/check'],
  ]) {
    const r = await call(method!, path!, undefined, { authorization: '' });
    assert.deepEqual({ status: r.status, body: r.body }, { status: 401, body: err(401, 'missing_api_key', 'Missing API key: send Authorization: Bearer <key>') }, `${method} ${path}`);
  }
});

test('/api-keys: create (secret once), list without secrets, update, disable, enable, revoke refused at once, last used', async (t) => {
  const { s, call } = await api(t);
  const created = await call('POST', '/api-keys', {
    name: 'shop', permission: 'sending_access', allowed_senders: ['example.com'], limits: { rate_per_minute: 60, daily_quota: 1000 }, sandbox: false,
  });
  assert.equal(created.status, 201);
  const { token, id, created_at } = created.body;
  assert.match(token, /^sh_[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(created.body, {
    object: 'api_key', id, name: 'shop', prefix: token.slice(0, 9), permission: 'sending_access', status: 'active', allowed_senders: ['example.com'],
    limits: { rate_per_minute: 60, daily_quota: 1000, max_message_size: null, source_networks: [] }, sandbox: false,
    usage: { this_minute: 0, today: 0 }, created_at, last_used_at: null, revoked_at: null, token,
  });
  const list = await call('GET', '/api-keys');
  assert.deepEqual(list.body.data.map((k: { name: string }) => k.name), ['admin', 'shop']);
  assert.ok(!list.text.includes(token) && !list.text.includes((await s.store.listApiKeys())[1]!.keyHash), 'a secret or hash was listed');
  assert.equal((await call('GET', `/api-keys/${id}`)).text.includes(token), false);

  const shop = caller(s, token);
  assert.equal((await shop('POST', '/emails', email())).status, 200);
  const used = await call('GET', `/api-keys/${id}`);
  assert.ok(Date.parse(used.body.last_used_at) > Date.parse(created_at) - 1000, 'last_used_at not set');
  assert.deepEqual(used.body.usage, { this_minute: 1, today: 1 });

  const patched = await call('PATCH', `/api-keys/${id}`, { allowed_senders: ['example.com', 'news@other.org'], limits: { rate_per_minute: null, max_message_size: 50_000 }, sandbox: true });
  assert.deepEqual([patched.body.allowed_senders, patched.body.limits, patched.body.sandbox], [
    ['example.com', 'news@other.org'], { rate_per_minute: null, daily_quota: 1000, max_message_size: 50_000, source_networks: [] }, true,
  ]);
  const sandboxed = await shop('POST', '/emails', email({ from: 'news@other.org' }));
  assert.equal((await s.store.getMessageSummary(sandboxed.body.id))?.recipients[0]?.status, 'sandboxed');

  assert.equal((await call('PATCH', `/api-keys/${id}`, { disabled: true })).body.status, 'disabled');
  assert.deepEqual((await shop('POST', '/emails', email())).body, err(401, 'invalid_api_key', 'API key is invalid or revoked'));
  assert.equal((await call('PATCH', `/api-keys/${id}`, { disabled: false })).body.status, 'active');
  assert.equal((await shop('POST', '/emails', email())).status, 200);

  const before = await snapshot(s);
  assert.equal((await call('DELETE', `/api-keys/${id}`)).status, 204);
  assert.deepEqual((await shop('POST', '/emails', email())).body, err(401, 'invalid_api_key', 'API key is invalid or revoked'), 'a revoked key still sends');
  assert.deepEqual((await call('GET', `/api-keys/${id}`)).body.status, 'revoked');
  assert.deepEqual((await call('DELETE', `/api-keys/${id}`)).body, err(409, 'conflict', `key ${id} is already revoked`));
  assert.deepEqual((await call('PATCH', `/api-keys/${id}`, { sandbox: false })).body, err(409, 'conflict', `key ${id} is revoked; create a new one`));
  assert.deepEqual(await snapshot(s), before, 'revoking changed the queue');

  for (const [method, body, status, message] of [
    ['GET', undefined, 404, 'no active key nope'], ['PATCH', { sandbox: true }, 404, 'no active key nope'], ['DELETE', undefined, 404, 'no active key nope'],
  ] as const) assert.deepEqual((await call(method, '/api-keys/nope', body)).body, err(status, 'not_found', message));
  const bad: [unknown, string][] = [
    [{ name: 'x' }, 'allowed_senders: Invalid input: expected array, received undefined'],
    [{ name: 'x', allowed_senders: [] }, 'allowed_senders: Too small: expected array to have >=1 items'],
    [{ name: 'x', allowed_senders: ['a b'] }, 'allowed_senders: "a b" is not a domain, an address or *'],
    [{ name: 'x', allowed_senders: ['*'], permission: 'admin' }, 'permission: Invalid option: expected one of "full_access"|"sending_access"'],
    [{ name: 'x', allowed_senders: ['*'], limits: { rate_per_minute: 0 } }, 'limits.rate_per_minute: Too small: expected number to be >=1'],
    [{ name: 'x', allowed_senders: ['*'], limits: { source_networks: ['10.0.0.0/99'] } }, 'source_networks: "10.0.0.0/99" is not an address or CIDR'],
    [{ name: 'x', allowed_senders: ['*'], secret: 'mine' }, 'unknown field: secret'],
  ];
  for (const [body, message] of bad) assert.deepEqual((await call('POST', '/api-keys', body)).body, err(422, 'validation_error', message), JSON.stringify(body));
  assert.equal((await s.store.listApiKeys()).length, 2, 'a refused create stored a key');
});

test('/credentials: create with a generated password shown once, SMTP AUTH with it, last used, update, disable, remove', async (t) => {
  const { s, call } = await api(t);
  const created = await call('POST', '/credentials', { username: 'wordpress', allowed_senders: ['example.com'], limits: { daily_quota: 500 } });
  assert.equal(created.status, 201);
  const { password } = created.body;
  assert.match(password, /^\S{20,}$/);
  assert.deepEqual({ ...created.body, created_at: 'x' }, {
    object: 'credential', username: 'wordpress', status: 'active', allowed_senders: ['example.com'],
    limits: { rate_per_minute: null, daily_quota: 500, max_message_size: null, source_networks: [] }, sandbox: false,
    usage: { this_minute: null, today: 0 }, created_at: 'x', last_used_at: null, password,
  });
  assert.ok(await verifyPassword(password, (await s.store.getCredential('wordpress'))!.passwordHash));
  const listed = await call('GET', '/credentials');
  assert.deepEqual(listed.body.data.map((c: { username: string }) => c.username), ['app', 'wordpress']);
  assert.ok(!listed.text.includes(password) && !listed.text.includes('scrypt'), 'a password or hash was listed');

  const smtp = nodemailer.createTransport({
    host: '127.0.0.1', port: s.ports.submission, secure: false, requireTLS: true, tls: { rejectUnauthorized: false },
    auth: { user: 'wordpress', pass: password }, disableFileAccess: true, disableUrlAccess: true,
  });
  t.after(() => smtp.close());
  await smtp.sendMail({ envelope: { from: 'wp@example.com', to: ['a@example.org'] }, raw: 'From: wp@example.com\r\nTo: a@example.org\r\nSubject: x\r\n\r\nx\r\n' });
  const got = await call('GET', '/credentials/wordpress');
  assert.notEqual(got.body.last_used_at, null);
  assert.deepEqual(got.body.usage, { this_minute: null, today: 1 }, 'only windows with a limit are counted');

  const patched = await call('PATCH', '/credentials/wordpress', { allowed_senders: ['wp@example.com'], limits: { daily_quota: null, rate_per_minute: 5 }, disabled: true });
  assert.deepEqual([patched.body.status, patched.body.allowed_senders, patched.body.limits.rate_per_minute, patched.body.limits.daily_quota], ['disabled', ['wp@example.com'], 5, null]);
  assert.equal((await s.store.getCredential('wordpress'))?.disabled, true);
  assert.ok(await verifyPassword(password, (await s.store.getCredential('wordpress'))!.passwordHash), 'an update changed the password');

  const own = await call('POST', '/credentials', { username: 'crm', password: 'long enough secret', allowed_senders: ['*'] });
  assert.equal(own.body.password, undefined, 'a password the caller chose is not echoed');
  assert.deepEqual((await call('POST', '/credentials', { username: 'crm', allowed_senders: ['*'] })).body,
    err(409, 'conflict', 'credential crm exists; change it with PATCH /credentials/crm'));
  assert.deepEqual((await call('POST', '/credentials', { username: 'a:b', allowed_senders: ['*'] })).body,
    err(422, 'validation_error', 'username: 1 to 256 characters, no spaces or colons'));
  assert.deepEqual((await call('POST', '/credentials', { username: 'x', password: 'short', allowed_senders: ['*'] })).body,
    err(422, 'validation_error', 'password: Too small: expected string to have >=8 characters'));
  assert.equal((await call('DELETE', '/credentials/crm')).status, 204);
  assert.deepEqual((await call('DELETE', '/credentials/crm')).body, err(404, 'not_found', 'no credential crm'));
  assert.deepEqual((await call('PATCH', '/credentials/crm', { disabled: true })).body, err(404, 'not_found', 'no credential crm'));
  assert.deepEqual((await call('GET', '/credentials/crm')).body, err(404, 'not_found', 'no credential crm'));
});

test('POST /emails/{id}/retry and DELETE /emails/{id}: pending recipients only; the record stays; errors change nothing', async (t) => {
  const { s, call } = await api(t);
  const sent = await call('POST', '/emails', email({ to: ['a@example.org', 'b@example.org'] }));
  const id = sent.body.id as string;
  // The relay at 127.0.0.1:9 refuses connections: both recipients are deferred after the first attempt.
  await waitFor('the first attempt', async () => (await s.store.getMessageSummary(id))!.recipients.every((r) => r.status === 'deferred'));
  const retried = await call('POST', `/emails/${id}/retry`);
  assert.deepEqual({ status: retried.status, body: retried.body }, { status: 200, body: { object: 'email', id, retried: 2 } });
  assert.ok((await s.store.listEvents(id)).some((e) => e.type === 'retry' && e.detail === 'retry requested by operator'));

  const cancelled = await call('DELETE', `/emails/${id}`);
  assert.deepEqual({ status: cancelled.status, body: cancelled.body }, { status: 200, body: { object: 'email', id, cancelled: 2 } });
  const shown = await call('GET', `/emails/${id}`);
  assert.deepEqual(shown.body.recipients.map((r: { status: string }) => r.status), ['cancelled', 'cancelled']);
  assert.deepEqual(shown.body.recipients[0].events.at(-1), {
    id: shown.body.recipients[0].events.at(-1).id, type: 'cancelled', message_id: id, recipient: 'a@example.org',
    at: shown.body.recipients[0].events.at(-1).at, detail: 'cancelled by operator',
  });
  assert.equal(await s.store.countPending(), 0);
  assert.deepEqual((await call('GET', '/emails?status=cancelled')).body.data.map((m: { id: string }) => m.id), [id]);

  const other = (await call('POST', '/emails', email({ to: 'c@example.org' }))).body.id as string;
  const before = await snapshot(s);
  const nothing = `message ${id} has no queued or deferred recipients`;
  assert.deepEqual((await call('POST', `/emails/${id}/retry`)).body, err(409, 'conflict', nothing));
  assert.deepEqual((await call('DELETE', `/emails/${id}`)).body, err(409, 'conflict', nothing));
  const unknown = '01JAAAAAAAAAAAAAAAAAAAAAAA';
  assert.deepEqual((await call('POST', `/emails/${unknown}/retry`)).body, err(404, 'not_found', `no message ${unknown}`));
  assert.deepEqual((await call('DELETE', `/emails/${unknown}`)).body, err(404, 'not_found', `no message ${unknown}`));
  assert.deepEqual(await snapshot(s), before, 'a refused action changed the queue');
  assert.ok(before.some(([m]) => m === other));
});

test('GET /emails filters: sender, subject, credential, tag, until, with the cursor', async (t) => {
  const { s, call } = await api(t);
  const ids: string[] = [];
  for (const [i, over] of [{}, { subject: 'Invoice 42', tags: [{ name: 'category', value: 'invoice' }] }, { from: 'News <news@example.com>' }].entries()) {
    ids.push((await call('POST', '/emails', email({ to: `r${i}@example.org`, ...over }))).body.id);
  }
  const { key: other } = await createApiKey(s.store, 'crm', ['*']);
  ids.push((await caller(s, other)('POST', '/emails', email({ subject: 'from crm' }))).body.id);
  const page = async (query: string) => (await call('GET', `/emails?${query}`)).body.data.map((m: { id: string }) => m.id);
  assert.deepEqual(await page('sender=NEWS@example.com'), [ids[2]]);
  assert.deepEqual(await page('subject=invoice'), [ids[1]]);
  assert.deepEqual(await page('credential=key:crm'), [ids[3]]);
  assert.deepEqual(await page('credential=key:admin&limit=2'), [ids[2], ids[1]]);
  assert.deepEqual(await page(`credential=key:admin&limit=2&cursor=${ids[1]}`), [ids[0]]);
  assert.deepEqual(await page('tag=category:invoice'), [ids[1]]);
  assert.deepEqual(await page(`until=${new Date(Date.now() - 3_600_000).toISOString()}`), []);
  assert.deepEqual(await page(`until=${new Date(Date.now() + 60_000).toISOString()}&limit=1`), [ids[3]]);
  assert.deepEqual((await call('GET', '/emails?tag=invoice')).body, err(422, 'validation_error', 'tag: tag is name:value'));
  assert.deepEqual((await call('GET', '/emails?until=yesterday')).body, err(422, 'validation_error', 'until: Invalid ISO datetime'));
});

test('GET /emails?subject= finds SMTP mail by its decoded subject (RFC 2047 encoded words)', async (t) => {
  const { s, call } = await api(t);
  const id = await submit(s.ports.submission, { to: ['a@example.org'], subject: '=?UTF-8?B?UsOpc3Vtw6kgZMOpasOgIHZ1?=' });
  assert.deepEqual((await call('GET', '/emails?subject=résumé déjà')).body.data.map((m: { id: string }) => m.id), [id]);
  assert.deepEqual((await call('GET', '/emails?subject=UTF-8')).body.data, []);
});

test('suppressions: search, CSV export quoted and inert, delete; 404 for an unknown address', async (t) => {
  const { s, call } = await api(t);
  await s.store.addSuppression({ address: 'ann@example.org', reason: 'hard bounce: 550 5.1.1 "no such user", sorry', createdAt: Date.UTC(2030, 0, 1) });
  await s.store.addSuppression({ address: 'bob@example.net', reason: '=HYPERLINK("http://evil.example")', createdAt: Date.UTC(2030, 0, 2) });
  await s.store.addSuppression({ address: 'anna@example.org', reason: 'line one\nline two', createdAt: Date.UTC(2030, 0, 3) });
  assert.deepEqual((await call('GET', '/suppressions?search=ANN')).body.data.map((x: { email: string }) => x.email), ['ann@example.org', 'anna@example.org']);
  const csv = await call('GET', '/suppressions.csv');
  assert.equal(csv.status, 200);
  assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
  assert.equal(csv.headers.get('content-disposition'), 'attachment; filename="suppressions.csv"');
  assert.equal(csv.text, [
    'email,reason,created_at',
    'ann@example.org,"hard bounce: 550 5.1.1 ""no such user"", sorry",2030-01-01T00:00:00.000Z',
    'anna@example.org,"line one\nline two",2030-01-03T00:00:00.000Z',
    'bob@example.net,"\'=HYPERLINK(""http://evil.example"")",2030-01-02T00:00:00.000Z',
    '',
  ].join('\r\n'));
  assert.equal((await call('GET', '/suppressions.csv?search=example.net')).text, 'email,reason,created_at\r\nbob@example.net,"\'=HYPERLINK(""http://evil.example"")",2030-01-02T00:00:00.000Z\r\n');
  assert.deepEqual((await call('GET', '/suppressions.csv?format=xls')).body, err(422, 'validation_error', 'unknown field: format'));
  assert.equal((await call('DELETE', '/suppressions/ANN@example.org')).status, 204);
  assert.deepEqual((await call('DELETE', '/suppressions/ann@example.org')).body, err(404, 'not_found', 'suppression not found'));
  assert.equal((await s.store.listSuppressions()).length, 2);
});

interface Received { headers: IncomingMessage['headers']; body: string }

async function receiver(t: TestContext) {
  const got: Received[] = [];
  const state = { status: 500 };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(state.status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`, got, state };
}

test('webhooks: deliveries with response codes, failing flag, rotate the secret, replay one signed with it, delete', async (t) => {
  const { s, call } = await api(t, { ...NO_DELIVERY, SMARTHOST_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32' });
  const hook = await receiver(t);
  const created = (await call('POST', '/webhooks', { url: hook.url, events: ['queued'] })).body;
  for (let i = 0; i < 3; i++) await call('POST', '/emails', email({ to: `r${i}@example.org` }));
  // Each of the three events fails its first attempt with a 500; the next retry is 5 s later.
  await waitFor('three failed attempts', async () => (await s.store.listWebhookAttempts(created.id, 10)).length >= 3, 15_000);
  const [listed] = (await call('GET', '/webhooks')).body.data;
  // At least 3: on a slow machine a 5 s retry may already have failed too.
  assert.deepEqual([listed.id, listed.failing, listed.consecutive_failures >= 3, listed.last_success_at, listed.pending], [created.id, true, true, null, 3]);

  const deliveries = await call('GET', `/webhooks/${created.id}/deliveries?limit=2`);
  assert.equal(deliveries.status, 200);
  assert.equal(deliveries.body.has_more, true);
  const d = deliveries.body.data[0];
  assert.ok(d.attempts >= 1);
  assert.deepEqual({ ...d, id: 0, event_id: 0, email_id: 0, attempts: 0, last_attempt_at: 0, next_attempt_at: 0, created_at: 0 }, {
    id: 0, event_id: 0, type: 'email.queued', email_id: 0, recipient: 'r2@example.org', status: 'pending', attempts: 0, response_status: 500,
    error: 'HTTP 500', last_attempt_at: 0, next_attempt_at: 0, created_at: 0,
  });
  const rest = await call('GET', `/webhooks/${created.id}/deliveries?cursor=${deliveries.body.next_cursor}`);
  assert.deepEqual(rest.body.data.map((x: { recipient: string }) => x.recipient), ['r0@example.org']);

  const rotated = await call('POST', `/webhooks/${created.id}/rotate-secret`);
  assert.equal(rotated.status, 200);
  assert.match(rotated.body.secret, /^whsec_/);
  assert.notEqual(rotated.body.secret, created.secret);
  hook.state.status = 204;
  const seen = hook.got.length;
  const replay = await call('POST', `/webhooks/${created.id}/deliveries/${d.id}/replay`);
  assert.deepEqual({ status: replay.status, body: replay.body }, { status: 202, body: { id: d.id, status: 'pending' } });
  const resent = await waitFor('the replayed delivery', () => hook.got.slice(seen).find((g) => g.body.includes('r2@example.org')), 15_000);
  const verified = new Verifier(rotated.body.secret).verify(resent.body, resent.headers as Record<string, string>) as { type: string };
  assert.equal(verified.type, 'email.queued');
  assert.throws(() => new Verifier(created.secret).verify(resent.body, resent.headers as Record<string, string>), 'still signed with the old secret');
  await waitFor('the success recorded', async () => (await call('GET', '/webhooks')).body.data[0].failing === false);

  assert.deepEqual((await call('POST', `/webhooks/${created.id}/deliveries/999999/replay`)).body, err(404, 'not_found', `webhook ${created.id} has no delivery 999999`));
  assert.deepEqual((await call('POST', `/webhooks/${created.id}/deliveries/abc/replay`)).body, err(422, 'validation_error', 'deliveryId: a delivery id is a whole number'));
  assert.deepEqual((await call('GET', `/webhooks/${created.id}/deliveries?limit=0`)).body, err(422, 'validation_error', 'limit: Too small: expected number to be >=1'));
  for (const path of ['/webhooks/wh_nope/deliveries', '/webhooks/wh_nope/rotate-secret', '/webhooks/wh_nope/deliveries/1/replay'])
    assert.deepEqual((await call(path.endsWith('deliveries') ? 'GET' : 'POST', path)).body, err(404, 'not_found', 'no webhook wh_nope'), path);
  assert.equal((await call('DELETE', `/webhooks/${created.id}`)).status, 204);
  assert.deepEqual((await call('DELETE', `/webhooks/${created.id}`)).body, err(404, 'not_found', `no webhook ${created.id}`));
  assert.equal((await s.store.listMessages({ limit: 10 })).length, 3, 'webhook calls touched the queue');
});

test('GET /stats: accepted and outcomes per bucket, queue depth, latency, top reasons explained', async (t) => {
  const mx = await startFakeMx({
    host: '127.0.0.2',
    behaviour: (rcpt) => (rcpt.startsWith('gone@') ? { code: 550, text: '5.1.1 No such user' } : rcpt.startsWith('full@') ? { code: 452, text: '4.2.2 Mailbox full' } : { code: 250 }),
  }, t);
  // example.com too: the bounce's DSN goes back to the sender there, and is a fifth accepted, delivered message.
  const dns = await startDnsServer({ 'example.org': { a: ['127.0.0.2'] }, 'example.com': { a: ['127.0.0.2'] } }, t);
  const { s, call } = await api(t, { SMARTHOST_DNS_SERVERS: dns.server, SMARTHOST_MX_PORT: String(mx.port) });
  for (const to of ['ok1@example.org', 'ok2@example.org', 'gone@example.org', 'full@example.org']) await call('POST', '/emails', email({ to }));
  await waitFor('every outcome', async () => {
    const c = await s.store.countByStatus();
    return c.delivered === 3 && c.bounced === 1 && c.deferred === 1;
  }, 15_000);
  const stats = await call('GET', '/stats?window=hour');
  assert.equal(stats.status, 200);
  const b = stats.body;
  assert.deepEqual([b.object, b.window, b.bucket_seconds, b.buckets.length, Date.parse(b.to) - Date.parse(b.from)], ['stats', 'hour', 300, 12, 3_600_000]);
  const sum = (k: string) => b.buckets.reduce((n: number, x: Record<string, number>) => n + x[k]!, 0);
  assert.deepEqual([sum('accepted'), sum('delivered'), sum('deferred'), sum('bounced')], [5, 3, 1, 1]);
  assert.deepEqual(b.queue, { delivered: 3, bounced: 1, deferred: 1 });
  assert.equal(b.latency.sample, 3);
  assert.ok(b.latency.p50_ms >= 0 && b.latency.p95_ms >= b.latency.p50_ms, JSON.stringify(b.latency));
  assert.deepEqual(b.top_reasons.map((r: Record<string, unknown>) => [r.type, r.count, r.category, r.reply]), [
    ['bounced', 1, 'mailbox', '550 5.1.1 No such user'],
    ['deferred', 1, 'mailbox', '452 4.2.2 Mailbox full'],
  ]);
  assert.ok(b.top_reasons.every((r: { meaning: string; remedy: string }) => r.meaning && r.remedy));
  assert.equal((await call('GET', '/stats')).body.window, 'day');
  assert.equal((await call('GET', '/stats?window=week')).body.buckets.length, 28);
  assert.deepEqual((await call('GET', '/stats?window=year')).body, err(422, 'validation_error', 'window: Invalid option: expected one of "hour"|"day"|"week"'));
});

test('/openapi.json documents every admin operation, with the schemas that validate it', async (t) => {
  const s = await startTestSmarthost(t, NO_DELIVERY);
  const doc = (await (await fetch(`http://127.0.0.1:${s.http!.port}/openapi.json`)).json()) as { paths: Record<string, Record<string, any>> };
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
  for (const op of [
    'GET /emails', 'GET /emails/{id}', 'DELETE /emails/{id}', 'POST /emails/{id}/retry', 'GET /suppressions', 'DELETE /suppressions/{email}', 'GET /suppressions.csv',
    'GET /api-keys', 'POST /api-keys', 'GET /api-keys/{id}', 'PATCH /api-keys/{id}', 'DELETE /api-keys/{id}',
    'GET /credentials', 'POST /credentials', 'GET /credentials/{username}', 'PATCH /credentials/{username}', 'DELETE /credentials/{username}',
    'GET /webhooks', 'DELETE /webhooks/{id}', 'GET /webhooks/{id}/deliveries', 'POST /webhooks/{id}/deliveries/{deliveryId}/replay',
    'POST /webhooks/{id}/rotate-secret', 'GET /stats', 'GET /routes', 'POST /routes/check',
  ]) assert.ok(documented.includes(op), `${op} is not in /openapi.json`);
  assert.deepEqual(Object.keys(doc.paths['/api-keys']!.post.requestBody.content['application/json'].schema.properties),
    ['name', 'permission', 'allowed_senders', 'limits', 'sandbox']);
  assert.equal(doc.paths['/stats']!.get.responses['403'].description, 'restricted_api_key: a sending_access key may only send');
  assert.deepEqual(doc.paths['/emails']!.get.parameters.map((p: { name: string }) => p.name),
    ['status', 'recipient', 'since', 'limit', 'cursor', 'until', 'sender', 'subject', 'credential', 'tag']);
  const docs = await (await fetch(`http://127.0.0.1:${s.http!.port}/docs`)).text();
  assert.match(docs, /<code>POST \/webhooks\/\{id\}\/rotate-secret<\/code>/);
});
