// The dashboard in a real browser (Debian's Chromium through playwright-core):
// log in, watch mail sent through the HTTP API appear and get delivered by a
// fake MX on loopback without reloading, read a bounce explained, handle
// suppressions, and make sure text from a message never runs as script.
// Each screen is saved under test-output/screenshots for review.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { createApiKey } from '../../src/credentials/api-keys.ts';
import { loginMessages } from '../../src/dashboard/routes/login-routes.ts';
import { chromiumMissing, launchBrowser, screenshot, watchErrors } from '../helpers/browser.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startFakeMx } from '../helpers/fake-mx.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';

const ADMIN_PASSWORD = 'browser test password';
const skip = chromiumMissing();

/** A fake MX for example.org that takes its time with DATA (so "queued" is seen first), one for reject.test that refuses unknown@. */
async function world(t: TestContext) {
  const accept = await startFakeMx({ host: '127.0.0.2', tls: true, dataDelayMs: 1_500 }, t);
  const reject = await startFakeMx({ host: '127.0.0.4', port: accept.port, behaviour: (r) => (r.startsWith('unknown@') ? { code: 550, text: '5.1.1 No such user here' } : { code: 250 }) }, t);
  const dns = await startDnsServer({
    'example.org': { mx: [{ exchange: 'mx.example.org', priority: 10 }] },
    'mx.example.org': { a: ['127.0.0.2'] },
    'reject.test': { mx: [{ exchange: 'mx.reject.test', priority: 10 }] },
    'mx.reject.test': { a: ['127.0.0.4'] },
    'example.com': { mx: [{ exchange: 'mx.example.org', priority: 10 }] },
  }, t);
  return { accept, reject, dns: dns.server };
}

async function startAll(t: TestContext, viewport?: { width: number; height: number }, colorScheme?: 'light' | 'dark') {
  const browser = await launchBrowser(t, viewport, colorScheme);
  const w = await world(t);
  const s = await startTestSmarthost(t, {
    SMARTHOST_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
    SMARTHOST_ADMIN_PASSWORD: ADMIN_PASSWORD, SMARTHOST_DNS_SERVERS: w.dns, SMARTHOST_MX_PORT: String(w.accept.port),
    SMARTHOST_RETRY_INITIAL: '1h', SMARTHOST_RETRY_MAX: '1h',
    // The mx route's check (the overview's "Check now") connects to example.org's fake MX.
    SMARTHOST_PROBE_MX_HOST: '127.0.0.2', SMARTHOST_ROUTE_PROBE_TIMEOUT: '5s',
  });
  const base = `http://127.0.0.1:${s.ports.http}`;
  const { key } = await createApiKey(s.store, 'browser-test', ['example.com']);
  const send = async (body: Record<string, unknown>) => {
    const res = await fetch(`${base}/emails`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { id: string }).id;
  };
  return { browser, s, base, w, send };
}

async function logIn(browser: BrowserContext, base: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  await page.goto(`${base}/`);
  await page.waitForURL(/\/ui\/login/);
  await page.getByLabel('Admin password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  return { page, errors };
}

test('log in, watch a message appear and get delivered live, open its timeline, see a bounce explained, log out', { skip }, async (t) => {
  const { browser, s, base, send } = await startAll(t);
  const page = await browser.newPage();
  const errors = watchErrors(page);

  await page.goto(`${base}/`);
  await page.waitForURL(/\/ui\/login/);
  await screenshot(page, 'login');
  await page.getByLabel('Admin password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: loginMessages.wrong }).waitFor();
  // The refused login was answered 401, which Chromium reports as a failed load: expected here, and only here.
  assert.deepEqual(errors.splice(0), ['console: Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
  // By keyboard alone: the password field has the focus after a refused login; Enter submits.
  await page.keyboard.type(ADMIN_PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();

  await page.getByRole('link', { name: 'Messages', exact: true }).click();
  await page.getByRole('heading', { name: 'Messages' }).waitFor();
  // Marks this page load: if the page reloaded, the mark would be gone.
  await page.evaluate(() => ((window as unknown as { __sameLoad: boolean }).__sameLoad = true));

  const id = await send({ from: 'app@example.com', to: 'reader@example.org', subject: 'Live one', text: 'hello' });
  const row = page.locator(`tr[data-message-id="${id}"]`);
  await row.waitFor({ timeout: 15_000 });
  await row.locator('.status-delivered').waitFor({ timeout: 20_000 });
  assert.equal(await page.evaluate(() => (window as unknown as { __sameLoad?: boolean }).__sameLoad), true, 'the list was reloaded');
  await screenshot(page, 'messages');

  // The timeline: queued, then delivered by the MX host over TLS with the remote reply.
  await row.getByRole('link').first().click();
  await page.getByRole('heading', { name: 'Live one', exact: true }).waitFor();
  const timeline = page.getByRole('list', { name: 'Events for reader@example.org' });
  await timeline.locator('.event-queued').waitFor();
  await timeline.locator('.event-delivered').waitFor();
  assert.match(await timeline.innerText(), /via mx\.example\.org\[127\.0\.0\.2\]:\d+[\s\S]*TLS TLSv1\.[23][\s\S]*Reply: “?250 /);
  await screenshot(page, 'message-detail');

  // A recipient the MX refuses: bounced, with the reply explained in plain words.
  const bouncedId = await send({ from: 'app@example.com', to: 'unknown@reject.test', subject: 'To nobody', text: 'hello' });
  await page.goto(`${base}/ui/messages/${bouncedId}`);
  const rcpt = page.locator('article[data-recipient="unknown@reject.test"]');
  await rcpt.locator('h3 .status-bounced').waitFor({ timeout: 20_000 });
  await rcpt.getByText('the recipient address does not exist').waitFor();
  // The whole page follows the message, the envelope's route included.
  await page.locator('dl.facts dt:text-is("Route") + dd:text-is("mx")').waitFor();
  assert.match(await rcpt.innerText(), /550 5\.1\.1 No such user here/);
  await screenshot(page, 'message-bounced');

  assert.deepEqual(errors.splice(0), []);
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByText('You are logged out.').waitFor();
  await page.goto(`${base}/ui/messages`);
  await page.waitForURL(/\/ui\/login\?next=/);
  // A live refresh racing the logout may be refused (401, as it must be); nothing else may fail.
  assert.deepEqual(errors.filter((e) => !/status of 401/.test(e)), []);
  assert.ok(s.store);
});

test('a subject and headers holding HTML and script are shown as text; nothing runs', { skip }, async (t) => {
  const { browser, base, send } = await startAll(t);
  const { page, errors } = await logIn(browser, base);
  const evil = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold</b>`;
  const id = await send({ from: 'app@example.com', to: 'reader@example.org', subject: evil, text: 'x', headers: { 'X-Evil': `"><svg onload="window.__pwned=3">` } });
  await page.goto(`${base}/ui/messages/${id}`);
  const heading = page.locator('h1.subject');
  await heading.waitFor();
  assert.equal(await heading.innerText(), evil);
  await page.getByText(`"><svg onload="window.__pwned=3">`).waitFor();
  assert.equal(await page.locator('h1.subject b, h1.subject img, h1.subject script').count(), 0);
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  await screenshot(page, 'message-html-subject');
  // Delete from queue asks first (a confirm dialog), then says so; the message stays with its recipients cancelled.
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Delete from queue' }).click();
  await page.getByText('Taken out of the queue: its pending recipients are cancelled and will not be delivered.').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Delete from queue' }).isDisabled(), true);
  assert.deepEqual(errors, []);
});

test('suppressions: add, find, export and remove; connect an app: a test message shows its delivery live; overview', { skip }, async (t) => {
  const { browser, s, base } = await startAll(t);
  const { page, errors } = await logIn(browser, base);
  await screenshot(page, 'overview-empty');

  await page.getByRole('link', { name: 'Suppressions' }).click();
  await page.getByLabel('Address', { exact: true }).fill('Blocked@Example.org');
  await page.getByLabel('Reason', { exact: true }).fill('asked to stop');
  await page.getByRole('button', { name: 'Suppress', exact: true }).click();
  await page.getByText('The address is now suppressed').waitFor();
  const row = page.locator('tr[data-address="blocked@example.org"]');
  await row.getByText('asked to stop').waitFor();
  assert.deepEqual((await s.store.listSuppressions()).map((x) => x.address), ['blocked@example.org']);
  await page.getByLabel('Search', { exact: true }).fill('blocked');
  await page.getByRole('button', { name: 'Search' }).click();
  await row.waitFor();
  const csv = await (await page.request.get(`${base}/ui/suppressions.csv?q=blocked`)).text();
  assert.match(csv, /^address,reason,created_at\r\n"blocked@example\.org","asked to stop","\d{4}-\d\d-\d\dT[\d:.]+Z"\r\n$/);
  await screenshot(page, 'suppressions');
  await row.getByRole('button', { name: 'Remove blocked@example.org' }).click();
  await page.getByText('The address was removed from the suppression list.').waitFor();
  assert.deepEqual(await s.store.listSuppressions(), []);

  await page.getByRole('link', { name: 'Connect an app' }).click();
  await page.getByLabel('From', { exact: true }).fill('app@example.com');
  await page.getByLabel('To', { exact: true }).fill('friend@example.org');
  await page.getByRole('button', { name: 'Send test message' }).click();
  const result = page.locator('#test-result');
  await result.getByText('Accepted as').waitFor();
  await result.locator('article[data-recipient="friend@example.org"] h3 .status-delivered').waitFor({ timeout: 20_000 });
  await screenshot(page, 'connect');

  await page.getByRole('link', { name: 'Overview' }).click();
  await page.getByText('Deliveries').waitFor();
  assert.match(await page.locator('.total.series-delivered .n').innerText(), /^1$/);
  await screenshot(page, 'overview');
  // Route health: the mx route delivered just now; Check now runs its check in place (htmx), nothing reloads.
  const mxRow = page.locator('#route-health tr[data-route="mx"]');
  await mxRow.locator('.last-delivered time').waitFor();
  await page.getByRole('button', { name: 'Check now' }).click();
  await mxRow.locator('.check').getByText('works').waitFor({ timeout: 20_000 });
  assert.match(await mxRow.locator('.check').innerText(), /^works 127\.0\.0\.2:\d+ answers \(STARTTLS/);
  await screenshot(page, 'overview-route-health');
  assert.deepEqual(errors, []);
});

test('readable at phone width, in the dark theme', { skip }, async (t) => {
  const { browser, base, send } = await startAll(t, { width: 390, height: 844 }, 'dark');
  const { page, errors } = await logIn(browser, base);
  const id = await send({ from: 'app@example.com', to: 'a.rather.long.address.for.a.phone@example.org', subject: 'Phone', text: 'x' });
  await page.goto(`${base}/ui/messages/${id}`);
  await page.getByRole('heading', { name: 'Phone', exact: true }).waitFor();
  // Nothing wider than the screen: no sideways scrolling of the page itself.
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'the page scrolls sideways');
  await screenshot(page, 'phone-message-detail');
  await page.goto(`${base}/ui/messages`);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'the list scrolls sideways');
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(21, 23, 27)', 'not the dark theme');
  await screenshot(page, 'phone-messages');
  assert.deepEqual(errors, []);
});
