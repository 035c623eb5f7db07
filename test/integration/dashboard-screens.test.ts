// The Keys, Webhooks and Domains screens over real HTTP with a session: each
// action's happy path, and its refusals — an unknown id is a 404 page in plain
// words, bad input brings the form back with the reason, a change without the
// CSRF token is refused and changes nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REFUSED } from '../../src/dashboard/access.ts';
import { newMessageId } from '../../src/store/ids.ts';
import { dashboardSession } from '../helpers/dashboard-session.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startTestSmarthost, type TestSmarthost } from '../helpers/smarthost.ts';
import { waitFor } from '../helpers/wait.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';

const ADMIN_PASSWORD = 'dashboard screens password';

const loggedIn = (s: TestSmarthost) => dashboardSession(s, ADMIN_PASSWORD);

/** The page's one-time secret, if it shows one. */
const secretIn = (page: string) => /<code id="secret-value" class="secret-value">([^<]+)<\/code>/.exec(page)?.[1];

async function refusedPlainly(res: Response, status: number, text: string) {
  assert.equal(res.status, status);
  const body = await res.text();
  assert.ok(body.includes(`<p class="error" role="alert">${text}</p>`), body);
  assert.doesNotMatch(body, /\bat .*\.ts:\d+/, 'a stack trace leaked');
}

const NO_KEY = 'There is no API key with this id. It may have been created on another page; see them all under Keys.';

test('API keys: create shows the secret once, edit, disable, enable, revoke; the API refuses a revoked key; refusals in plain words', async (t) => {
  const s = await startTestSmarthost(t, { SMARTHOST_ADMIN_PASSWORD: ADMIN_PASSWORD, SMARTHOST_DNS_SERVERS: '127.0.0.1:9' });
  const { base, get, post, forged } = await loggedIn(s);

  const created = await post('/ui/keys', { name: 'billing', permission: 'sending_access', allowed_senders: 'example.com, app@example.org', rate_per_minute: '30', daily_quota: '' });
  assert.equal(created.status, 200);
  assert.equal(created.headers.get('cache-control'), 'no-store');
  const page = await created.text();
  const secret = secretIn(page)!;
  assert.match(secret, /^sh_/);
  assert.match(page, /data-replace-url="\/ui\/keys"/);
  const [key] = await s.store.listApiKeys();
  assert.equal(key!.name, 'billing');
  assert.equal(key!.permission, 'sending_access');
  assert.deepEqual(key!.allowedSenders, ['example.com', 'app@example.org']);
  assert.deepEqual(key!.policy, { ratePerMinute: 30 });
  const list = await (await get('/ui/keys')).text();
  assert.equal(secretIn(list), undefined);
  assert.ok(!list.includes(secret), 'the secret is shown again');
  assert.match(list, new RegExp(`<tr data-key-id="${key!.id}"><td><a href="/ui/keys/${key!.id}">billing</a><div class="mono small">${key!.prefix}…</div></td>\\s*<td>sending_access</td><td><span class="mono">example.com, app@example.org</span></td>`));
  assert.match(list, /<div>0 of 30 this minute<\/div>/);
  assert.match(list, /<span class="status status-active">active<\/span>/);

  // The key works for sending until revoked.
  const sendMail = () => fetch(`${base}/emails`, {
    method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ from: 'app@example.com', to: 'a@example.net', subject: 'x', text: 'x' }),
  });
  assert.equal((await sendMail()).status, 200);

  // Bad input: the form again, as it was sent, with the reason.
  const noSenders = await post('/ui/keys', { name: 'other', permission: 'full_access', allowed_senders: '' });
  assert.equal(noSenders.status, 422);
  const again = await noSenders.text();
  assert.ok(again.includes('<p class="error" role="alert">Allowed_senders: give at least one domain, address, or * to allow any sender.</p>'), again);
  assert.match(again, /id="k-name" name="name" type="text" required maxlength="100" value="other"/);
  const badRate = await post('/ui/keys', { name: 'other', permission: 'full_access', allowed_senders: '*', rate_per_minute: 'lots' });
  assert.equal(badRate.status, 422);
  assert.ok((await badRate.text()).includes('Rate limit: a whole number of at least 1, or empty for none.'));
  const badPermission = await post('/ui/keys', { name: 'other', permission: 'root', allowed_senders: '*' });
  assert.ok((await badPermission.text()).includes('Permission: one of full_access, sending_access.'));
  assert.equal((await s.store.listApiKeys()).length, 1);

  // Edit allowed senders, limits and sandbox.
  const editPage = await (await get(`/ui/keys/${key!.id}`)).text();
  assert.match(editPage, /id="e-senders" name="allowed_senders" type="text" required value="example.com, app@example.org"/);
  const saved = await post(`/ui/keys/${key!.id}`, { allowed_senders: 'example.com', rate_per_minute: '', daily_quota: '500', sandbox: 'on' });
  assert.equal(saved.headers.get('location'), '/ui/keys?notice=key-saved');
  const edited = (await s.store.listApiKeys())[0]!;
  assert.deepEqual(edited.allowedSenders, ['example.com']);
  assert.deepEqual(edited.policy, { dailyQuota: 500, sandbox: true });
  const badEdit = await post(`/ui/keys/${key!.id}`, { allowed_senders: 'not a sender', daily_quota: '0' });
  assert.equal(badEdit.status, 422);
  const badEditPage = await badEdit.text();
  assert.ok(badEditPage.includes('Daily quota: a whole number of at least 1, or empty for none.'), badEditPage);
  assert.match(badEditPage, /value="not a sender"/);
  assert.deepEqual((await s.store.listApiKeys())[0]!.policy, { dailyQuota: 500, sandbox: true }, 'a refused edit changed the key');

  // Without the CSRF token: refused, nothing changed.
  await refusedPlainly(await forged(`/ui/keys/${key!.id}/revoke`), 403, REFUSED.csrf);
  await refusedPlainly(await forged('/ui/keys', { name: 'forged', permission: 'full_access', allowed_senders: '*' }), 403, REFUSED.csrf);
  assert.equal((await s.store.listApiKeys()).length, 1);
  assert.equal((await s.store.listApiKeys())[0]!.revokedAt, null);

  assert.equal((await post(`/ui/keys/${key!.id}/disable`)).headers.get('location'), '/ui/keys?notice=key-disabled');
  assert.equal((await s.store.listApiKeys())[0]!.disabled, true);
  assert.match(await (await get('/ui/keys?notice=key-disabled')).text(), /The key is disabled: requests with it are refused until you enable it again\./);
  assert.equal((await sendMail()).status, 401);
  assert.equal((await post(`/ui/keys/${key!.id}/enable`)).headers.get('location'), '/ui/keys?notice=key-enabled');
  assert.equal((await s.store.listApiKeys())[0]!.disabled, false);

  assert.equal((await post(`/ui/keys/${key!.id}/revoke`)).headers.get('location'), '/ui/keys?notice=key-revoked');
  assert.notEqual((await s.store.listApiKeys())[0]!.revokedAt, null);
  assert.equal((await sendMail()).status, 401);
  await refusedPlainly(await post(`/ui/keys/${key!.id}/revoke`), 409, `Key ${key!.id} is already revoked.`);
  await refusedPlainly(await post(`/ui/keys/${key!.id}`, { allowed_senders: '*' }), 409, `Key ${key!.id} is revoked; create a new one.`);
  assert.match(await (await get(`/ui/keys/${key!.id}`)).text(), /This key is revoked and can no longer change\./);

  for (const res of [await get('/ui/keys/nope'), await post('/ui/keys/nope/revoke'), await post('/ui/keys/nope/disable'), await post('/ui/keys/nope', { allowed_senders: '*' })])
    await refusedPlainly(res, 404, NO_KEY);
});

test('SMTP credentials: create shows the password once, a taken name comes back, edit, disable, remove; unknown is a 404', async (t) => {
  const s = await startTestSmarthost(t, { SMARTHOST_ADMIN_PASSWORD: ADMIN_PASSWORD, SMARTHOST_DNS_SERVERS: '127.0.0.1:9' });
  const { get, post, forged } = await loggedIn(s);
  const before = (await s.store.listCredentials()).length;
  const created = await post('/ui/credentials', { username: 'newsletter', allowed_senders: 'news.example.com', daily_quota: '1000' });
  assert.equal(created.status, 200);
  const password = secretIn(await created.text())!;
  assert.ok(password.length >= 16, password);
  const c = (await s.store.getCredential('newsletter'))!;
  assert.deepEqual([c.allowedSenders, c.policy], [['news.example.com'], { dailyQuota: 1000 }]);
  assert.ok(!(await (await get('/ui/keys')).text()).includes(password), 'the password is shown again');

  const taken = await post('/ui/credentials', { username: 'newsletter', allowed_senders: '*' });
  assert.equal(taken.status, 422);
  assert.ok((await taken.text()).includes('A credential named newsletter exists already: choose another username.'));
  const bad = await post('/ui/credentials', { username: 'has space', allowed_senders: '*' });
  assert.ok((await bad.text()).includes('Username: 1 to 256 characters, no spaces or colons.'));
  await refusedPlainly(await forged('/ui/credentials', { username: 'forged', allowed_senders: '*' }), 403, REFUSED.csrf);
  assert.equal((await s.store.listCredentials()).length, before + 1);

  assert.equal((await post('/ui/credentials/newsletter', { allowed_senders: 'news.example.com, example.com', rate_per_minute: '5' })).headers.get('location'), '/ui/keys?notice=credential-saved');
  assert.deepEqual((await s.store.getCredential('newsletter'))!.policy, { ratePerMinute: 5 });
  assert.equal((await post('/ui/credentials/newsletter/disable')).status, 303);
  assert.equal((await s.store.getCredential('newsletter'))!.disabled, true);
  assert.equal((await post('/ui/credentials/newsletter/remove')).headers.get('location'), '/ui/keys?notice=credential-removed');
  assert.equal(await s.store.getCredential('newsletter'), undefined);
  const gone = 'There is no SMTP credential with this username. It may have been removed; see them all under Keys.';
  await refusedPlainly(await get('/ui/credentials/newsletter'), 404, gone);
  await refusedPlainly(await post('/ui/credentials/newsletter/enable'), 404, gone);
});

test('webhooks: add shows the secret once, deliveries listed, replay one, rotate the secret, delete; refusals', async (t) => {
  const s = await startTestSmarthost(t, {
    SMARTHOST_ADMIN_PASSWORD: ADMIN_PASSWORD, SMARTHOST_DNS_SERVERS: '127.0.0.1:9', SMARTHOST_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
  });
  await s.scheduler.stop(0);
  const { get, post, forged, send, csrf } = await loggedIn(s);
  const hook = await startWebhookReceiver(t);

  const bad = await post('/ui/webhooks', { url: 'http://10.1.2.3/hooks' });
  assert.equal(bad.status, 422);
  const badPage = await bad.text();
  assert.ok(badPage.includes('10.1.2.3 is a private or special address; allow it with SMARTHOST_WEBHOOK_ALLOWED_NETWORKS. Correct the URL and add it again.'), badPage);
  assert.match(badPage, /value="http:\/\/10\.1\.2\.3\/hooks"/);
  await refusedPlainly(await forged('/ui/webhooks', { url: hook.url }), 403, REFUSED.csrf);
  assert.deepEqual(await s.store.listWebhooks(), []);

  const added = await send('/ui/webhooks', [['_csrf', csrf], ['url', hook.url], ['events', 'queued'], ['events', 'delivered']]);
  assert.equal(added.status, 200);
  const secret = secretIn(await added.text())!;
  const [w] = await s.store.listWebhooks();
  assert.deepEqual([w!.url, w!.secret, w!.events], [hook.url, secret, ['queued', 'delivered']]);

  const id = newMessageId();
  await s.store.enqueue({ id, sender: 'app@example.com', raw: Buffer.from('Subject: x\r\n\r\nx\r\n'), recipients: [{ address: 'a@example.org', status: 'queued' }], source: 'http', credential: null, clientAddress: '127.0.0.1', createdAt: Date.now() });
  // enqueue records the queued event: the endpoint gets one delivery.
  const [delivery] = await waitFor('a delivered record', async () => {
    const list = await s.store.listWebhookDeliveries(w!.id, { limit: 5 });
    return list[0]?.status === 'delivered' && list;
  });
  const list = await (await get('/ui/webhooks')).text();
  assert.ok(!list.includes(secret), 'the secret is shown again');
  assert.match(list, new RegExp(`<tr data-delivery-id="${delivery!.id}">[\\s\\S]*?<span class="status status-delivered">delivered</span></td><td class="num">204</td>`));
  assert.doesNotMatch(list, /class="card failing"/);

  const replayed = await post(`/ui/webhooks/${w!.id}/deliveries/${delivery!.id}/replay`);
  assert.equal(replayed.headers.get('location'), '/ui/webhooks?notice=replayed');
  const sent = `msg_${w!.id}_${delivery!.id}`;
  assert.equal(hook.posts(sent), 1);
  await waitFor('the replayed delivery', () => hook.posts(sent) === 2);
  await refusedPlainly(await post(`/ui/webhooks/${w!.id}/deliveries/999999/replay`), 404, 'This endpoint has no such delivery. See its recent deliveries under Webhooks.');
  await refusedPlainly(await post(`/ui/webhooks/${w!.id}/deliveries/abc/replay`), 404, 'This endpoint has no such delivery. See its recent deliveries under Webhooks.');
  const NO_WEBHOOK = 'There is no webhook endpoint with this id. It may have been deleted; see them all under Webhooks.';
  await refusedPlainly(await post(`/ui/webhooks/wh_nope/deliveries/${delivery!.id}/replay`), 404, NO_WEBHOOK);

  await refusedPlainly(await forged(`/ui/webhooks/${w!.id}/rotate-secret`), 403, REFUSED.csrf);
  assert.equal((await s.store.listWebhooks())[0]!.secret, secret);
  const rotated = await post(`/ui/webhooks/${w!.id}/rotate-secret`);
  assert.equal(rotated.status, 200);
  const newSecret = secretIn(await rotated.text())!;
  assert.notEqual(newSecret, secret);
  assert.equal((await s.store.listWebhooks())[0]!.secret, newSecret);
  await refusedPlainly(await post('/ui/webhooks/wh_nope/rotate-secret'), 404, NO_WEBHOOK);

  assert.equal((await post(`/ui/webhooks/${w!.id}/delete`)).headers.get('location'), '/ui/webhooks?notice=deleted');
  assert.deepEqual(await s.store.listWebhooks(), []);
  await refusedPlainly(await post(`/ui/webhooks/${w!.id}/delete`), 404, NO_WEBHOOK);
});

test('a failing endpoint is highlighted with its last error', async (t) => {
  // Nothing listens on port 9 of loopback: every attempt fails with a connection error.
  const s = await startTestSmarthost(t, {
    SMARTHOST_ADMIN_PASSWORD: ADMIN_PASSWORD, SMARTHOST_DNS_SERVERS: '127.0.0.1:9', SMARTHOST_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
  });
  const { get } = await loggedIn(s);
  const webhook = { id: 'wh_failing', url: 'http://127.0.0.1:9/hooks', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', events: ['queued' as const], createdAt: Date.now() };
  await s.store.addWebhook(webhook);
  const id = newMessageId();
  await s.store.enqueue({ id, sender: 'app@example.com', raw: Buffer.from('Subject: x\r\n\r\nx\r\n'), recipients: [], source: 'http', credential: null, clientAddress: '127.0.0.1', createdAt: Date.now() });
  for (let i = 0; i < 3; i++) await s.store.addEvent({ messageId: id, recipient: null, type: 'queued', at: Date.now() });
  await waitFor('three failed attempts', async () => (await s.store.listWebhookAttempts(webhook.id, 5)).length >= 3, 20_000);
  const page = await (await get('/ui/webhooks')).text();
  assert.match(page, /<article class="card failing" data-webhook-id="wh_failing"/);
  assert.match(page, /<p class="failing-flag" role="status">Failing: the last \d+ attempts failed \(3 in a row count as failing\)\. Last error: [^<]+\. Fix the receiver, then replay what failed\.<\/p>/);
});

test('domains: add, the records with copy buttons and no private key, re-check per record, rotate, retire; refusals', async (t) => {
  const dnsRecords: Record<string, { txt?: string[][] }> = {};
  const dns = await startDnsServer(dnsRecords, t);
  const s = await startTestSmarthost(t, { SMARTHOST_ADMIN_PASSWORD: ADMIN_PASSWORD, SMARTHOST_DNS_SERVERS: dns.server });
  const { get, post, forged } = await loggedIn(s);

  const bad = await post('/ui/domains', { name: 'not a domain' });
  assert.equal(bad.status, 422);
  assert.ok((await bad.text()).includes('Not a domain name: &quot;not a domain&quot;. Give a domain like example.com.'));
  await refusedPlainly(await forged('/ui/domains', { name: 'example.com' }), 403, REFUSED.csrf);
  assert.deepEqual(await s.store.listDomainKeys('example.com'), []);

  assert.equal((await post('/ui/domains', { name: 'Example.com' })).headers.get('location'), '/ui/domains/example.com?notice=added');
  const [first] = await s.store.listDomainKeys('example.com');
  const taken = await post('/ui/domains', { name: 'example.com' });
  assert.ok((await taken.text()).includes('example.com is already a sending domain: open it in the list.'));

  const page = await (await get('/ui/domains/example.com?notice=added')).text();
  const dkimName = `${first!.selector}._domainkey.example.com`;
  assert.ok(page.includes(`<code id="rec-0-name">${dkimName}</code> <button type="button" class="secondary" data-copy="rec-0-name">`), page);
  assert.ok(page.includes(`<code id="rec-0-value">v=DKIM1; k=rsa; p=${first!.publicKey}</code></pre><button type="button" class="secondary" data-copy="rec-0-value">`));
  assert.ok(!page.includes(first!.privateKey) && !/PRIVATE KEY/.test(page), 'a private key is shown');
  assert.match(page, /not checked yet/);

  // Publish the DKIM record only: the re-check says ok for it and missing for DMARC, each from the stored check.
  // One TXT record of several strings: each string holds at most 255 octets (RFC 1035 §3.3.14).
  dnsRecords[dkimName] = { txt: [`v=DKIM1; k=rsa; p=${first!.publicKey}`.match(/.{1,255}/g)!] };
  assert.equal((await post('/ui/domains/example.com/verify')).headers.get('location'), '/ui/domains/example.com?notice=checked');
  const checked = await (await get('/ui/domains/example.com')).text();
  assert.match(checked, /<article class="card" data-record="dkim"[\s\S]*?<dt>State<\/dt><dd><p><span class="status status-ok">ok<\/span><\/p>/);
  assert.match(checked, /<article class="card" data-record="dmarc"[\s\S]*?<dt>State<\/dt><dd><p><span class="status status-missing">missing<\/span> <span class="reply">DMARC missing: publish _dmarc\.example\.com TXT/);
  assert.match(checked, /<span class="status status-failing">failing<\/span> checked <time/);
  assert.match(await (await get('/ui/domains')).text(), /<tr data-domain="example\.com">[\s\S]*?<span class="status status-failing">failing<\/span>/);

  await refusedPlainly(await post(`/ui/domains/example.com/selectors/${first!.selector}/retire`), 409,
    'This selector still signs new mail (or just changed): rotate the key first, then retire the old selector.');
  assert.equal((await post('/ui/domains/example.com/rotate')).headers.get('location'), '/ui/domains/example.com?notice=rotated');
  const keys = await s.store.listDomainKeys('example.com');
  assert.deepEqual(keys.map((k) => k.signing).sort(), [false, true]);
  const rotatedPage = await (await get('/ui/domains/example.com')).text();
  assert.match(rotatedPage, new RegExp(`<tr data-selector="${first!.selector}">[\\s\\S]*?rotated out[\\s\\S]*?Retire <span class="visually-hidden">${first!.selector}</span>`));
  assert.equal((await post(`/ui/domains/example.com/selectors/${first!.selector}/retire`)).headers.get('location'), '/ui/domains/example.com?notice=retired');
  assert.deepEqual((await s.store.listDomainKeys('example.com')).map((k) => k.signing), [true]);

  await refusedPlainly(await post('/ui/domains/example.com/selectors/nope/retire'), 404, 'This domain has no such DKIM selector. Its keys are listed on the domain&#39;s page.');
  const NO_DOMAIN = 'There is no sending domain with this name. Add it under Domains first.';
  await refusedPlainly(await get('/ui/domains/example.net'), 404, NO_DOMAIN);
  await refusedPlainly(await post('/ui/domains/example.net/verify'), 404, NO_DOMAIN);
  await refusedPlainly(await post('/ui/domains/example.net/rotate'), 404, NO_DOMAIN);
  await refusedPlainly(await get('/ui/domains/%3Cscript%3E'), 404, NO_DOMAIN);
});
