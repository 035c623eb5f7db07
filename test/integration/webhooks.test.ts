// Webhooks end to end: an email posted with an attachment reaches a loopback
// MX intact, GET /emails/{id} shows it delivered, and the receiver gets a
// `delivered` event whose signature the standardwebhooks library verifies.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { test, type TestContext } from 'node:test';
import { Webhook as Verifier } from 'standardwebhooks';
import { createApiKey } from '../../src/credentials/api-keys.ts';
import { createAddressGuard } from '../../src/webhooks/address-guard.ts';
import { postWebhook } from '../../src/webhooks/post.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startFakeMx } from '../helpers/fake-mx.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';
import { waitFor } from '../helpers/wait.ts';

interface Received { headers: IncomingMessage['headers']; body: string }

async function receiver(t: TestContext, answer: (n: number) => number = () => 204) {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(answer(got.length)).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`, got };
}

test('POST /emails with an attachment → MX gets it intact → delivered → signed webhook verified by standardwebhooks', async (t) => {
  const mx = await startFakeMx({ host: '127.0.0.2' }, t);
  const dns = await startDnsServer({ 'example.org': { a: ['127.0.0.2'] } }, t);
  const s = await startTestSmarthost(t, {
    SMARTHOST_DNS_SERVERS: dns.server, SMARTHOST_MX_PORT: String(mx.port), SMARTHOST_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
  });
  const { key } = await createApiKey(s.store, 'hooks', ['example.com']);
  const hook = await receiver(t);
  const api = (path: string, body: unknown) =>
    fetch(`http://127.0.0.1:${s.http!.port}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const created = (await (await api('/webhooks', { url: hook.url, events: ['delivered', 'bounced'] })).json()) as { id: string; secret: string };
  assert.match(created.secret, /^whsec_[A-Za-z0-9+/]+=*$/);

  const pdf = Buffer.from('%PDF-1.4 fake but binary \x00\x01\x02\xff', 'latin1');
  const sent = (await (await api('/emails', {
    from: 'app@example.com', to: 'rcpt@example.org', subject: 'Invoice', text: 'attached',
    attachments: [{ filename: 'invoice.pdf', content: pdf.toString('base64'), content_type: 'application/pdf' }],
  })).json()) as { id: string };

  const got = await waitFor('the webhook', () => hook.got[0]);
  const verified = new Verifier(created.secret).verify(got.body, got.headers as Record<string, string>) as { type: string; data: Record<string, unknown> };
  assert.equal(verified.type, 'email.delivered');
  assert.equal(verified.data.email_id, sent.id);
  assert.equal(verified.data.to, 'rcpt@example.org');
  assert.equal(verified.data.from, 'app@example.com');
  assert.match(String(verified.data.reply), /^250 /);
  assert.throws(() => new Verifier(created.secret).verify(got.body.replace('delivered', 'bounced'), got.headers as Record<string, string>));

  const raw = mx.messages[0]!.raw.toString('latin1');
  const b64 = /filename=invoice\.pdf\r\n(?:[^\r\n]+\r\n)*\r\n([A-Za-z0-9+/=\r\n]+?)\r\n--/.exec(raw)?.[1];
  assert.ok(b64, 'attachment part not found');
  assert.deepEqual(Buffer.from(b64.replace(/\r\n/g, ''), 'base64'), pdf);
  const status = (await (await fetch(`http://127.0.0.1:${s.http!.port}/emails/${sent.id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { recipients: { status: string }[] };
  assert.equal(status.recipients[0]!.status, 'delivered');
  assert.equal(hook.got.length, 1, 'queued was not subscribed, so only delivered arrives');
});

test('a failing endpoint is retried with back-off, every attempt recorded, then delivered; list shows it', async (t) => {
  const s = await startTestSmarthost(t, { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9', SMARTHOST_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32' });
  const hook = await receiver(t, (n) => (n === 1 ? 503 : 200));
  const { createWebhook } = await import('../../src/webhooks/webhooks.ts');
  const w = await createWebhook(s.store, createAddressGuard(['127.0.0.1/32']), hook.url, ['queued']);
  const { key } = await createApiKey(s.store, 'k', ['example.com']);
  await fetch(`http://127.0.0.1:${s.http!.port}/emails`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ from: 'app@example.com', to: 'a@example.org', subject: 'x', text: 'x' }),
  });
  await waitFor('retry after the first 503', () => hook.got.length >= 2 && hook.got, 15_000);
  assert.equal(hook.got[0]!.headers['webhook-id'], hook.got[1]!.headers['webhook-id'], 'a retry keeps its webhook-id');
  const attempts = await waitFor('two attempts recorded', async () => {
    const a = await s.store.listWebhookAttempts(w.id, 10);
    return a.length === 2 && a;
  });
  assert.deepEqual(attempts.map((a) => [a.status, a.outcome]), [[200, 'delivered'], [503, 'retry']]);
  const [listed] = await s.store.listWebhooks();
  assert.deepEqual([listed!.delivered, listed!.failed, listed!.pending], [1, 0, 0]);
});

test('private destinations are refused unless allowed, when saved and again at connect time', async (t) => {
  const s = await startTestSmarthost(t, { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9' });
  const { key } = await createApiKey(s.store, 'k', ['example.com']);
  const add = async (url: string) => {
    const r = await fetch(`http://127.0.0.1:${s.http!.port}/webhooks`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ url }),
    });
    return { status: r.status, body: (await r.json()) as { message: string } };
  };
  for (const url of ['http://127.0.0.1:8080/x', 'http://[::1]/x', 'http://169.254.169.254/latest/meta-data', 'http://10.1.2.3/x', 'http://localhost/x']) {
    const r = await add(url);
    assert.equal(r.status, 422, url);
    assert.match(r.body.message, /private or special address; allow it with SMARTHOST_WEBHOOK_ALLOWED_NETWORKS/, url);
  }
  assert.equal((await add('ftp://example.org/x')).body.message, 'webhook URLs use https:// (or http://)');
  assert.equal((await s.store.listWebhooks()).length, 0);

  // Connect time: a name that resolves to loopback (as after DNS rebinding) is refused by the lookup itself.
  const hook = await receiver(t);
  const strict = createAddressGuard([]);
  const viaName = await postWebhook(hook.url.replace('127.0.0.1', 'localhost'), '{}', {}, { guard: strict, timeoutMs: 2000 });
  assert.equal(viaName.ok, false);
  assert.match(viaName.error!, /resolves to (127\.0\.0\.1|::1), a private or special address/);
  assert.equal((await postWebhook(hook.url, '{}', {}, { guard: strict, timeoutMs: 2000 })).ok, false);
  assert.equal(hook.got.length, 0);
  assert.equal((await postWebhook(hook.url, '{}', {}, { guard: createAddressGuard(['127.0.0.0/8']), timeoutMs: 2000 })).ok, true);
});

test('/webhooks: list with counts, replay failed events, delete; unknown ids are 404', async (t) => {
  const s = await startTestSmarthost(t, { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9', SMARTHOST_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32' });
  const { key } = await createApiKey(s.store, 'k', ['example.com']);
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`http://127.0.0.1:${s.http!.port}${path}`, {
      method, headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: text ? (JSON.parse(text) as any) : undefined };
  };
  // An endpoint that is gone: every attempt fails, so the row fails after the last retry.
  const created = await call('POST', '/webhooks', { url: 'http://127.0.0.1:9/gone', events: ['queued'] });
  assert.equal(created.status, 201);
  assert.deepEqual((await call('POST', '/webhooks', { url: 'http://127.0.0.1:9/x', events: ['opened'] })).body.message,
    'unknown event type opened; one of queued, delivered, deferred, bounced, expired, suppressed, complained');
  await call('POST', '/emails', { from: 'app@example.com', to: 'a@example.org', subject: 'x', text: 'x' });
  const [row] = await waitFor('a claimed outbox row', async () => {
    const d = await s.store.claimWebhookDeliveries({ now: Date.now() + 10 ** 9, limit: 1, leaseMs: 60_000, owner: 'test' });
    return d.length ? d : undefined;
  });
  await s.store.recordWebhookAttempt({ outboxId: row!.outboxId, owner: 'test', at: Date.now(), error: 'connect ECONNREFUSED', outcome: 'failed' });
  const listed = await call('GET', '/webhooks');
  assert.deepEqual([listed.body.data[0].failed, listed.body.data[0].last_error], [1, 'connect ECONNREFUSED']);
  assert.equal(listed.body.data[0].secret, undefined, 'the secret is shown only when created');
  assert.deepEqual((await call('POST', `/webhooks/${created.body.id}/replay`, {})).body, { replayed: 1 });
  assert.equal((await call('POST', '/webhooks/wh_nope/replay', {})).status, 404);
  assert.equal((await call('DELETE', `/webhooks/${created.body.id}`)).status, 204);
  assert.equal((await call('DELETE', `/webhooks/${created.body.id}`)).status, 404);
  assert.deepEqual((await call('GET', '/webhooks')).body.data, []);
});
