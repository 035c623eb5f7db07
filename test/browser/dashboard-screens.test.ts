// The Keys, Webhooks and Domains screens in a real browser (Debian's Chromium
// through playwright-core): a key's secret is shown once and copied, the API
// refuses it once revoked; a webhook delivery replayed reaches a receiver on
// loopback again; a domain's records are copied and re-checked. Each screen
// is saved under test-output/screenshots for review.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { newMessageId } from '../../src/store/ids.ts';
import { chromiumMissing, launchBrowser, screenshot, watchErrors } from '../helpers/browser.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';
import { waitFor } from '../helpers/wait.ts';
import { startWebhookReceiver } from '../helpers/webhook-receiver.ts';

const ADMIN_PASSWORD = 'browser screens password';
const skip = chromiumMissing();

async function startAll(t: TestContext, viewport?: { width: number; height: number }, colorScheme?: 'light' | 'dark') {
  const browser = await launchBrowser(t, viewport, colorScheme);
  const dns = await startDnsServer({}, t);
  const s = await startTestSmarthost(t, {
    SMARTHOST_ADMIN_PASSWORD: ADMIN_PASSWORD, SMARTHOST_DNS_SERVERS: dns.server, SMARTHOST_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
    SMARTHOST_RETRY_INITIAL: '1h', SMARTHOST_RETRY_MAX: '1h',
  });
  return { browser, s, base: `http://127.0.0.1:${s.ports.http}` };
}

async function logIn(browser: BrowserContext, base: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(`${base}/ui/login`);
  await page.getByLabel('Admin password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  // Confirmations (revoke, rotate, delete) are accepted.
  page.on('dialog', (d) => void d.accept());
  return { page, errors };
}

const noSidewaysScroll = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);

test('keys: create one, copy its secret shown once, use it, revoke it, and the API refuses it', { skip }, async (t) => {
  const { browser, base } = await startAll(t);
  await browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const { page, errors } = await logIn(browser, base);

  await page.getByRole('link', { name: 'Keys' }).click();
  await page.getByRole('heading', { name: 'Keys and credentials' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('browser-app');
  await page.getByLabel('Permission').selectOption('sending_access');
  await page.locator('#k-senders').fill('example.com');
  await page.locator('#k-rate').fill('60');
  await page.getByRole('button', { name: 'Create key' }).click();
  const box = page.getByRole('region', { name: 'API key browser-app created' });
  await box.waitFor();
  const secret = await box.locator('code').innerText();
  assert.match(secret, /^sh_[A-Za-z0-9_-]{20,}$/);
  // The address bar already shows the plain page: a reload cannot post the form again.
  assert.equal(new URL(page.url()).pathname, '/ui/keys');
  await box.getByRole('button', { name: 'Copy' }).click();
  await box.getByRole('button', { name: 'Copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  await screenshot(page, 'keys-created');

  await page.reload();
  await page.getByRole('heading', { name: 'Keys and credentials' }).waitFor();
  assert.equal(await page.getByRole('region', { name: 'API key browser-app created' }).count(), 0);
  assert.ok(!(await page.content()).includes(secret), 'the secret is shown again');
  const row = page.locator('tr[data-key-id]').filter({ hasText: 'browser-app' });
  assert.equal(await row.count(), 1, 'a reload created a second key');
  await row.getByText('0 of 60 this minute').waitFor();
  await screenshot(page, 'keys');

  const sendMail = () => fetch(`${base}/emails`, {
    method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ from: 'app@example.com', to: 'reader@example.org', subject: 'With the new key', text: 'x' }),
  });
  assert.equal((await sendMail()).status, 200);
  await page.reload();
  await row.locator('td').nth(7).locator('time').waitFor();

  await row.getByRole('button', { name: 'Revoke browser-app' }).click();
  await page.getByText('The key is revoked: requests with it are refused from now on.').waitFor();
  await row.getByText('revoked', { exact: true }).waitFor();
  const refused = await sendMail();
  assert.equal(refused.status, 401, await refused.text());

  // Edit page of a credential: by keyboard alone, from its create form to its saved limits.
  await page.locator('#c-username').focus();
  await page.keyboard.type('smtp-app');
  await page.keyboard.press('Tab');
  await page.keyboard.type('example.com');
  await page.keyboard.press('Enter');
  await page.getByRole('region', { name: 'SMTP credential smtp-app created' }).waitFor();
  await page.getByRole('link', { name: 'smtp-app' }).click();
  await page.getByLabel('Daily quota').fill('250');
  await page.getByLabel('Sandbox (record, never deliver)').check();
  await screenshot(page, 'credential-edit');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('The credential was saved.').waitFor();
  await page.locator('tr[data-username="smtp-app"]').getByText('0 of 250 today').waitFor();
  assert.deepEqual(errors, []);
});

test('webhooks: add an endpoint, see its delivery, replay it to a receiver on loopback, rotate the secret; a failing one stands out', { skip }, async (t) => {
  const { browser, s, base } = await startAll(t);
  await s.scheduler.stop(0);
  const hook = await startWebhookReceiver(t);
  const { page, errors } = await logIn(browser, base);
  // An endpoint nobody answers: it turns failing after three attempts.
  await s.store.addWebhook({ id: 'wh_nobody', url: 'http://127.0.0.1:9/hooks', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', events: ['deferred'], createdAt: Date.now() });

  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByLabel('URL').fill(hook.url);
  await page.getByLabel('email.queued').check();
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  const box = page.getByRole('region', { name: 'Endpoint added' });
  await box.waitFor();
  assert.match(await box.locator('code').innerText(), /^whsec_/);

  const hookId = (await s.store.listWebhooks()).find((w) => w.url === hook.url)!.id;
  const id = newMessageId();
  await s.store.enqueue({ id, sender: 'app@example.com', raw: Buffer.from('Subject: x\r\n\r\nx\r\n'), recipients: [{ address: 'a@example.org', status: 'queued' }], source: 'http', credential: null, clientAddress: '127.0.0.1', createdAt: Date.now() });
  // enqueue records the queued event: the endpoint gets one delivery.
  for (let i = 0; i < 3; i++) await s.store.addEvent({ messageId: id, recipient: 'a@example.org', type: 'deferred', at: Date.now() });
  await waitFor('the first delivery recorded', async () => (await s.store.listWebhookDeliveries(hookId, { limit: 1 }))[0]?.status === 'delivered');
  await waitFor('the other endpoint failing', async () => (await s.store.listWebhookAttempts('wh_nobody', 5)).length >= 3, 30_000);

  await page.goto(`${base}/ui/webhooks`);
  const endpoint = page.locator(`article[data-webhook-id="${hookId}"]`);
  const [record] = await s.store.listWebhookDeliveries(hookId, { limit: 5 });
  const sent = `msg_${hookId}_${record!.id}`;
  assert.equal(hook.posts(sent), 1);
  const delivery = endpoint.locator(`tr[data-delivery-id="${record!.id}"]`);
  await delivery.locator('.status-delivered').waitFor();
  assert.match(await delivery.innerText(), /email\.queued[\s\S]*204/);
  await page.locator('article.failing[data-webhook-id="wh_nobody"]').getByText(/^Failing: the last \d+ attempts failed/).waitFor();
  await screenshot(page, 'webhooks');

  await delivery.getByRole('button', { name: /^Replay/ }).click();
  await page.getByText('The delivery is queued again and is sent within moments.').waitFor();
  await waitFor('the replayed delivery at the receiver', () => hook.posts(sent) === 2);

  const before = (await s.store.listWebhooks()).find((w) => w.url === hook.url)!.secret;
  await page.locator('article[data-webhook-id]').filter({ hasText: hook.url }).getByRole('button', { name: 'Rotate signing secret' }).click();
  const rotated = page.getByRole('region', { name: 'Signing secret rotated' });
  await rotated.waitFor();
  const after = await rotated.locator('code').innerText();
  assert.notEqual(after, before);
  assert.equal((await s.store.listWebhooks()).find((w) => w.url === hook.url)!.secret, after);
  assert.deepEqual(errors, []);
});

test('domains: add one, copy a record exactly, re-check it, rotate the key; no private key on the page', { skip }, async (t) => {
  const { browser, s, base } = await startAll(t);
  await browser.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const { page, errors } = await logIn(browser, base);
  await page.getByRole('link', { name: 'Domains' }).click();
  await page.getByRole('textbox', { name: 'Domain' }).fill('example.com');
  await page.getByRole('button', { name: 'Add domain' }).click();
  await page.getByText('The domain was added with a new DKIM key').waitFor();
  const [key] = await s.store.listDomainKeys('example.com');

  const dkim = page.locator('article[data-record="dkim"]');
  await dkim.getByRole('button', { name: /^Copy value of / }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `v=DKIM1; k=rsa; p=${key!.publicKey}`);
  assert.ok(!(await page.content()).includes(key!.privateKey), 'a private key is shown');

  await page.getByRole('button', { name: 'Re-check now' }).click();
  await page.getByText('The records were checked just now').waitFor();
  await dkim.locator('.status-missing').waitFor();
  await screenshot(page, 'domain-detail');

  await page.getByRole('button', { name: 'Rotate key' }).click();
  await page.getByText('A new DKIM key signs from now on').waitFor();
  await page.locator(`tr[data-selector="${key!.selector}"]`).getByRole('button', { name: `Retire ${key!.selector}` }).waitFor();
  await page.getByRole('link', { name: '← Domains' }).click();
  await page.locator('tr[data-domain="example.com"] .status-failing').waitFor();
  await screenshot(page, 'domains');
  assert.deepEqual(errors, []);
});

test('keys, webhooks and a domain are readable at phone width, in the dark theme', { skip }, async (t) => {
  const { browser, s, base } = await startAll(t, { width: 390, height: 844 }, 'dark');
  const { page, errors } = await logIn(browser, base);
  await s.store.addWebhook({ id: 'wh_phone', url: 'https://hooks.example.net/a/rather/long/path/for/a/phone/screen', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', events: ['delivered'], createdAt: Date.now() });
  await page.goto(`${base}/ui/keys`);
  await page.getByLabel('Name', { exact: true }).fill('phone-app');
  await page.locator('#k-senders').fill('example.com');
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.getByRole('region', { name: 'API key phone-app created' }).waitFor();
  assert.ok(await noSidewaysScroll(page), 'the keys page scrolls sideways');
  await screenshot(page, 'phone-keys');
  await page.goto(`${base}/ui/webhooks`);
  assert.ok(await noSidewaysScroll(page), 'the webhooks page scrolls sideways');
  await screenshot(page, 'phone-webhooks');
  await page.goto(`${base}/ui/domains`);
  await page.getByRole('textbox', { name: 'Domain' }).fill('example.com');
  await page.getByRole('button', { name: 'Add domain' }).click();
  await page.locator('article[data-record="dkim"]').waitFor();
  assert.ok(await noSidewaysScroll(page), 'the domain page scrolls sideways');
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(21, 23, 27)', 'not the dark theme');
  await screenshot(page, 'phone-domain');
  assert.deepEqual(errors, []);
});
