// The HTTP sending and query API over real sockets: every error path with its
// exact answer and nothing stored, idempotency, pagination, health, metrics.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createApiKey } from '../../src/credentials/api-keys.ts';
import { startTestSmarthost, type TestSmarthost } from '../helpers/smarthost.ts';

const NO_DELIVERY = { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9' };

async function api(t: TestContext, env: Record<string, string> = NO_DELIVERY) {
  const s = await startTestSmarthost(t, env);
  const { key } = await createApiKey(s.store, 'ci', ['example.com']);
  const base = `http://127.0.0.1:${s.http!.port}`;
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(base + path, {
      method, headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as any) : undefined };
  };
  return { s, key, base, call };
}

const email = (over: Record<string, unknown> = {}) => ({
  from: 'App <app@example.com>', to: 'a@example.org', subject: 'Hello', text: 'Hi there', ...over,
});

const stored = async (s: TestSmarthost) => (await s.store.listMessages({ limit: 100 })).length;

test('401 for a missing, wrong or revoked key, as JSON', async (t) => {
  const { s, call } = await api(t);
  assert.deepEqual((await call('POST', '/emails', email(), { authorization: '' })).body, {
    statusCode: 401, name: 'missing_api_key', message: 'Missing API key: send Authorization: Bearer <key>',
  });
  const wrong = await call('POST', '/emails', email(), { authorization: 'Bearer sh_nope' });
  assert.equal(wrong.status, 401);
  assert.deepEqual(wrong.body, { statusCode: 401, name: 'invalid_api_key', message: 'API key is invalid or revoked' });
  await s.store.revokeApiKey('ci', Date.now());
  assert.equal((await call('GET', '/emails')).status, 401);
  assert.equal(await stored(s), 0);
});

test('POST /emails answers {id} after the commit; the MIME is built from the fields; Bcc stays in the envelope', async (t) => {
  const { s, call } = await api(t);
  const res = await call('POST', '/emails', email({
    to: ['a@example.org', 'B <b@example.org>'], cc: 'c@example.org', bcc: ['hidden@example.org'], reply_to: 'help@example.com',
    html: '<p>Hi</p>', headers: { 'X-Entity-Ref-ID': '123' }, tags: [{ name: 'category', value: 'welcome' }],
    attachments: [{ filename: 'a.txt', content: Buffer.from('attached bytes').toString('base64'), content_type: 'text/plain' }],
  }));
  assert.equal(res.status, 200);
  assert.match(res.body.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  const m = await s.store.getMessage(res.body.id);
  const raw = m!.raw.toString();
  assert.equal(m!.sender, 'app@example.com');
  assert.match(raw, /^Received: from unknown \(\[127\.0\.0\.1\]\)\r\n\tby relay\.test \(smarthost\) with HTTP id /);
  assert.match(raw, /\r\nFrom: App <app@example\.com>\r\n/);
  assert.match(raw, /\r\nTo: a@example\.org, B <b@example\.org>\r\n/);
  assert.match(raw, /\r\nReply-To: help@example\.com\r\n/);
  assert.match(raw, /\r\nX-Entity-Ref-ID: 123\r\n/);
  assert.match(raw, /Content-Disposition: attachment; filename=a\.txt/);
  assert.ok(raw.includes(Buffer.from('attached bytes').toString('base64')));
  assert.doesNotMatch(raw, /hidden@example\.org/);
  const got = await call('GET', `/emails/${res.body.id}`);
  assert.equal(got.body.subject, 'Hello');
  assert.deepEqual(got.body.to, ['a@example.org', 'b@example.org', 'c@example.org', 'hidden@example.org']);
  assert.deepEqual(got.body.tags, [{ name: 'category', value: 'welcome' }]);
  assert.equal(got.body.recipients[0].events[0].type, 'queued');
  assert.equal((await call('GET', '/emails/01JAAAAAAAAAAAAAAAAAAAAAAA')).status, 404);
});

test('bad input gets a clear 4xx in Resend form and nothing is stored', async (t) => {
  const { s, call } = await api(t);
  const cases: [unknown, number, string][] = [
    [email({ subject: 'Hi\r\nBcc: victim@example.org' }), 422, 'subject must not contain line breaks'],
    [email({ to: 'a@example.org\r\nRCPT TO:<x@y.z>' }), 422, 'to must not contain line breaks'],
    [email({ headers: { 'X-Test': 'a\nb' } }), 422, 'headers.X-Test must not contain line breaks'],
    [email({ headers: { 'Content-Type': 'text/html' } }), 422, 'headers: Content-Type is set from its own field, not from headers'],
    [email({ to: 'not-an-address' }), 422, 'to: invalid email address "not-an-address"'],
    [email({ attachments: [{ filename: 'x', content: '***' }] }), 422, 'attachments.0.content is not valid base64'],
    [email({ attachments: [{ filename: 'x', content: 'eA==', path: 'file:///etc/passwd' }] }), 422, 'unknown field: attachments.0.path'],
    [email({ scheduled_at: 'tomorrow' }), 422, 'unknown field: scheduled_at'],
    [email({ to: Array.from({ length: 51 }, (_, i) => `r${i}@example.org`) }), 422, 'at most 50 recipients per email (to, cc and bcc together); got 51'],
    [email({ from: 'ceo@bank.example' }), 403, 'Sender address <ceo@bank.example> not allowed for this API key (allow it with: smarthost keys allow ci bank.example)'],
    [email({ text: undefined }), 422, 'an email needs text, html or an attachment'],
  ];
  for (const [body, status, message] of cases) {
    const r = await call('POST', '/emails', body);
    assert.deepEqual({ status: r.status, body: r.body }, { status, body: { statusCode: status, name: 'validation_error', message } }, JSON.stringify(body));
  }
  const badJson = await call('POST', '/emails', '{"from":');
  assert.equal(badJson.status, 400);
  assert.equal(badJson.body.name, 'validation_error');
  assert.doesNotMatch(JSON.stringify(badJson.body), /at \w+ \(/, 'a stack trace leaked');
  assert.equal(await stored(s), 0);
});

test('too big: 413', async (t) => {
  const { s, call } = await api(t, { ...NO_DELIVERY, SMARTHOST_MAX_MESSAGE_SIZE: '20000' });
  const r = await call('POST', '/emails', email({ text: 'x'.repeat(30_000) }));
  assert.equal(r.status, 413);
  assert.match(r.body.message, /^email is \d+ bytes; the limit is 20000$/);
  const huge = await call('POST', '/emails', email({ text: 'x'.repeat(2_000_000) }));
  assert.deepEqual(huge.body, { statusCode: 413, name: 'validation_error', message: 'request body too large' });
  assert.equal(await stored(s), 0);
});

test('POST /emails/batch: every email validated first; one bad email refuses the batch', async (t) => {
  const { s, call } = await api(t);
  const ok = await call('POST', '/emails/batch', [email(), email({ to: 'b@example.org' })]);
  assert.equal(ok.status, 200);
  assert.equal(ok.body.data.length, 2);
  const bad = await call('POST', '/emails/batch', [email(), email({ to: 'nope' })]);
  assert.deepEqual(bad.body, { statusCode: 422, name: 'validation_error', message: 'emails[1]: to: invalid email address "nope"' });
  assert.equal((await call('POST', '/emails/batch', Array.from({ length: 101 }, () => email()))).status, 422);
  const notAllowed = await call('POST', '/emails/batch', [email(), email({ from: 'ceo@bank.example' })]);
  assert.deepEqual({ status: notAllowed.status, message: notAllowed.body.message }, {
    status: 403, message: 'emails[1]: From: address <ceo@bank.example> not allowed for this API key (allow it with: smarthost keys allow ci bank.example)',
  });
  assert.equal(await stored(s), 2);
});

test('Postmark: POST /email and /email/batch with X-Postmark-Server-Token, answers in Postmark form', async (t) => {
  const { s, key, call } = await api(t);
  const pm = { authorization: '', 'x-postmark-server-token': key };
  const r = await call('POST', '/email', { From: 'app@example.com', To: 'a@example.org, b@example.org', Subject: 'Hi', TextBody: 'x', Tag: 'welcome', Metadata: { user: '42' }, MessageStream: 'outbound' }, pm);
  assert.equal(r.status, 200);
  assert.equal(r.body.ErrorCode, 0);
  assert.equal(r.body.Message, 'OK');
  assert.equal(r.body.To, 'a@example.org, b@example.org');
  assert.deepEqual((await s.store.getMessageSummary(r.body.MessageID))?.tags, [{ name: 'tag', value: 'welcome' }, { name: 'user', value: '42' }]);
  const bad = await call('POST', '/email', { From: 'app@example.com', To: 'a@example.org', Subject: 'x', TextBody: 'x', Bogus: 1 }, pm);
  assert.deepEqual({ status: bad.status, body: bad.body }, { status: 422, body: { ErrorCode: 300, Message: 'unknown field: Bogus' } });
  const noKey = await call('POST', '/email', {}, { authorization: '' });
  assert.deepEqual(noKey.body, { ErrorCode: 10, Message: 'Missing API key: send Authorization: Bearer <key>' });
  const batch = await call('POST', '/email/batch', [
    { From: 'app@example.com', To: 'a@example.org', Subject: 'x', TextBody: 'x' },
    { From: 'app@example.com', To: 'bad', Subject: 'x', TextBody: 'x' },
  ], pm);
  assert.equal(batch.body[0].ErrorCode, 0);
  assert.deepEqual(batch.body[1], { ErrorCode: 300, Message: 'To: invalid email address "bad"' });
  assert.equal(await stored(s), 2);
});

test('Idempotency-Key: a retry returns the first id; another body is 409; concurrent duplicates queue once', async (t) => {
  const { s, call } = await api(t);
  const h = { 'idempotency-key': 'order-1' };
  const first = await call('POST', '/emails', email(), h);
  const again = await call('POST', '/emails', email(), h);
  assert.equal(again.body.id, first.body.id);
  const other = await call('POST', '/emails', email({ subject: 'changed' }), h);
  assert.deepEqual({ status: other.status, name: other.body.name }, { status: 409, name: 'invalid_idempotent_request' });
  const burst = await Promise.all(Array.from({ length: 8 }, () => call('POST', '/emails', email(), { 'idempotency-key': 'order-2' })));
  const ids = new Set(burst.filter((r) => r.status === 200).map((r) => r.body.id));
  assert.equal(ids.size, 1, 'concurrent duplicates produced different ids');
  for (const r of burst) assert.ok(r.status === 200 || r.body.name === 'concurrent_idempotent_requests', JSON.stringify(r.body));
  // A refused request does not burn its key: corrected, it goes through.
  assert.equal((await call('POST', '/emails', email({ to: 'bad' }), { 'idempotency-key': 'order-3' })).status, 422);
  assert.equal((await call('POST', '/emails', email(), { 'idempotency-key': 'order-3' })).status, 200);
  assert.equal(await stored(s), 3);
});

test('GET /emails pages with a cursor and filters; /events; /suppressions add, list, remove', async (t) => {
  const { s, call } = await api(t);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await call('POST', '/emails', email({ to: `r${i}@example.org` }))).body.id);
  const p1 = await call('GET', '/emails?limit=2');
  assert.deepEqual(p1.body.data.map((m: { id: string }) => m.id), [ids[4], ids[3]]);
  assert.equal(p1.body.has_more, true);
  const p3 = await call('GET', `/emails?limit=2&cursor=${(await call('GET', `/emails?limit=2&cursor=${p1.body.next_cursor}`)).body.next_cursor}`);
  assert.deepEqual(p3.body.data.map((m: { id: string }) => m.id), [ids[0]]);
  assert.equal(p3.body.has_more, false);
  assert.deepEqual((await call('GET', '/emails?recipient=R2@example.org')).body.data.map((m: { id: string }) => m.id), [ids[2]]);
  assert.equal((await call('GET', `/emails?since=${new Date(Date.now() + 60_000).toISOString()}`)).body.data.length, 0);
  assert.equal((await call('GET', '/emails?status=bogus')).status, 422);
  const ev = await call('GET', '/events?type=queued&limit=3');
  assert.equal(ev.body.data.length, 3);
  assert.equal((await call('GET', `/events?type=queued&cursor=${ev.body.next_cursor}`)).body.data.length, 2);

  assert.equal((await call('POST', '/suppressions', { email: 'Gone@Example.org', reason: 'complaint' })).status, 201);
  assert.equal((await call('POST', '/suppressions', { email: 'x\r\n' })).status, 422);
  const list = await call('GET', '/suppressions');
  assert.deepEqual(list.body.data.map((x: { email: string; reason: string }) => [x.email, x.reason]), [['gone@example.org', 'complaint']]);
  const queued = await call('POST', '/emails', email({ to: 'gone@example.org' }));
  assert.equal((await call('GET', `/emails/${queued.body.id}`)).body.recipients[0].status, 'suppressed');
  assert.equal((await call('DELETE', '/suppressions/gone@example.org')).status, 204);
  assert.equal((await call('DELETE', '/suppressions/gone@example.org')).status, 404);
  assert.equal((await s.store.listSuppressions()).length, 0);
});

test('/healthz, /readyz, /metrics, /openapi.json and /docs', async (t) => {
  const { base, call } = await api(t);
  await call('POST', '/emails', email());
  assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { status: 'ok' });
  // The route is said in plain words (this test's relay is the discard port: mail stays queued).
  assert.deepEqual(await (await fetch(`${base}/readyz`)).json(), { status: 'ready', problems: [], route: 'delivering through the relay 127.0.0.1:9' });
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /^smarthost_messages_accepted_total\{ingress="http"\} 1$/m);
  assert.match(metrics, /^smarthost_queue_recipients\{status="(queued|deferred)"\} 1$/m);
  assert.match(metrics, /^# TYPE smarthost_delivery_latency_seconds histogram$/m);
  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string; paths: Record<string, any> };
  assert.equal(doc.openapi, '3.1.0');
  assert.deepEqual(doc.paths['/emails'].post.requestBody.content['application/json'].schema.required, ['from', 'to', 'subject']);
  assert.equal(doc.paths['/emails'].post.requestBody.content['application/json'].schema.additionalProperties, false);
  const html = await (await fetch(`${base}/docs`)).text();
  assert.match(html, /<h2><code>POST \/emails<\/code><\/h2>/);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'the docs page loads something from elsewhere');
});
