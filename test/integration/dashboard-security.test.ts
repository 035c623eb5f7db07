// The dashboard's access rules over real HTTP: every route without a session
// (walked from the server's own route table, so a new route is covered the day
// it is added), CSRF and Origin checks on changes, ended sessions, the login
// throttle, and the live stream's bounds.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { REFUSED } from '../../src/dashboard/access.ts';
import { loginMessages } from '../../src/dashboard/routes/login-routes.ts';
import { SESSION_COOKIE } from '../../src/dashboard/sessions.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';
import { readUntil } from '../helpers/wait.ts';

const ADMIN_PASSWORD = 'dashboard test password';

async function start(t: Parameters<typeof startTestSmarthost>[0], env: Record<string, string> = {}) {
  const s = await startTestSmarthost(t, { SMARTHOST_ADMIN_PASSWORD: ADMIN_PASSWORD, ...env });
  const base = `http://127.0.0.1:${s.ports.http}`;
  return { s, base };
}

async function login(base: string, password = ADMIN_PASSWORD): Promise<Response> {
  return fetch(`${base}/ui/login`, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ password }),
  });
}

/** Logs in; returns the cookie header and the page's CSRF token. */
async function session(base: string): Promise<{ cookie: string; csrf: string }> {
  const res = await login(base);
  assert.equal(res.status, 303);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))!.split(';')[0]!;
  const html = await (await fetch(`${base}/ui/suppressions`, { headers: { cookie } })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
  return { cookie, csrf };
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

test('every dashboard route without a session: pages redirect to the login, everything else is 401', async (t) => {
  const { s, base } = await start(t);
  const routes = s.http!.routes.filter((r) => r.url === '/' || r.url.startsWith('/ui'));
  const methods = (r: (typeof routes)[number]) => (Array.isArray(r.method) ? r.method : [r.method]).filter((m) => m !== 'HEAD');
  // Public routes are few and named here: a new one must be added on purpose.
  const publicOnes = routes.filter((r) => r.config?.access === 'public').flatMap((r) => methods(r).map((m) => `${m} ${r.url}`)).sort();
  assert.deepEqual(publicOnes, ['GET /', 'GET /ui/assets/*', 'GET /ui/login', 'POST /ui/login']);

  let checked = 0;
  for (const r of routes.filter((x) => x.config?.access !== 'public')) {
    for (const method of methods(r)) {
      const url = base + r.url.replace(/:\w+/g, 'x1').replace('*', 'x');
      const res = await fetch(url, {
        method, redirect: 'manual',
        ...(method !== 'GET' && { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'address=a@example.org' }),
      });
      if (r.config?.access === 'page' && method === 'GET') {
        assert.equal(res.status, 302, `${method} ${r.url}`);
        assert.match(res.headers.get('location')!, /^\/ui\/login\?next=/, `${method} ${r.url}`);
      } else {
        assert.equal(res.status, 401, `${method} ${r.url}`);
        assert.match(await res.text(), new RegExp(REFUSED.noSession.replace(/[.,]/g, '\\$&')), `${method} ${r.url}`);
      }
      checked++;
    }
  }
  // The messages list, detail, rows, raw, timelines, live stream, actions, suppressions, CSV, connect, overview, logout…
  assert.ok(checked >= 15, `only ${checked} routes walked`);
  // Nothing was changed by the refused POSTs.
  assert.deepEqual(await s.store.listSuppressions(), []);
});

test('assets are served by smarthost itself with their content types and a year of caching; nothing else from node_modules', async (t) => {
  const { base } = await start(t);
  const login = await (await fetch(`${base}/ui/login`)).text();
  const urls = [...login.matchAll(/(?:href|src)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  assert.deepEqual(urls.map((u) => u.replace(/\?v=[0-9a-f]{12}$/, '')), ['/ui/assets/app.css', '/ui/assets/htmx.min.js', '/ui/assets/app.js']);
  const types: Record<string, RegExp> = { css: /^text\/css/, js: /^(application|text)\/javascript/ };
  for (const url of urls) {
    const res = await fetch(base + url);
    assert.equal(res.status, 200, url);
    assert.match(res.headers.get('content-type')!, types[url.split('?')[0]!.split('.').pop()!]!, url);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable', url);
  }
  assert.doesNotMatch(login, /https?:\/\/(?!127\.0\.0\.1)/, 'the page refers to another site');
  for (const other of ['/ui/assets/htmx.js', '/ui/assets/ext/sse.js', '/ui/assets/../../package.json', '/ui/assets/app.test.ts'])
    assert.notEqual((await fetch(base + other)).status, 200, other);
});

test('a wrong password is refused in plain words; the right one opens a session cookie that is HttpOnly and SameSite=Strict', async (t) => {
  const { base } = await start(t);
  const wrong = await login(base, 'not it');
  assert.equal(wrong.status, 401);
  assert.ok((await wrong.text()).includes(loginMessages.wrong));
  const right = await login(base);
  assert.equal(right.status, 303);
  assert.equal(right.headers.get('location'), '/ui/');
  const cookie = right.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
  assert.match(cookie, /^smarthost_session=[A-Za-z0-9_-]{43}; Path=\/ui; HttpOnly; SameSite=Strict$/);
});

test('changes need the session CSRF token and our own Origin; refused ones change nothing', async (t) => {
  const { s, base } = await start(t);
  const { cookie, csrf } = await session(base);
  const post = (body: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${base}/ui/suppressions`, {
      method: 'POST', redirect: 'manual', body: form(body),
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', origin: base, ...headers },
    });

  const noToken = await post({ address: 'a@example.org' });
  assert.equal(noToken.status, 403);
  assert.ok((await noToken.text()).includes(REFUSED.csrf));
  const wrongToken = await post({ address: 'a@example.org', _csrf: csrf.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) });
  assert.equal(wrongToken.status, 403);
  const crossSite = await post({ address: 'a@example.org', _csrf: csrf }, { origin: 'https://evil.example' });
  assert.equal(crossSite.status, 403);
  assert.ok((await crossSite.text()).includes(REFUSED.crossSite));
  const nullOrigin = await post({ address: 'a@example.org', _csrf: csrf }, { origin: 'null' });
  assert.equal(nullOrigin.status, 403);
  assert.deepEqual(await s.store.listSuppressions(), []);

  // The token in htmx's header works as well as the form field.
  const ok = await post({ address: 'a@example.org' }, { 'x-csrf-token': csrf });
  assert.equal(ok.status, 303);
  assert.equal(ok.headers.get('location'), '/ui/suppressions?notice=suppressed');
  assert.deepEqual((await s.store.listSuppressions()).map((x) => x.address), ['a@example.org']);
});

test('a session idle past SMARTHOST_ADMIN_SESSION_IDLE, or older than its lifetime, is refused and removed; logout ends one', async (t) => {
  const { s, base } = await start(t);
  const now = Date.now();
  const planted = async (cookie: string, createdAt: number, lastSeenAt: number) => {
    const idHash = createHash('sha256').update(cookie).digest('hex');
    await s.store.createAdminSession({ idHash, csrfToken: 't', createdAt, lastSeenAt });
    return idHash;
  };
  const idle = await planted('idle-cookie', now - 60 * 60_000, now - 31 * 60_000); // default idle: 30 min
  const old = await planted('old-cookie', now - 13 * 3_600_000, now - 1_000); // default lifetime: 12 h
  const fresh = await planted('fresh-cookie', now - 60_000, now - 60_000);
  for (const [cookie, idHash] of [['idle-cookie', idle], ['old-cookie', old]] as const) {
    const page = await fetch(`${base}/ui/messages`, { redirect: 'manual', headers: { cookie: `${SESSION_COOKIE}=${cookie}` } });
    assert.equal(page.status, 302, cookie);
    const data = await fetch(`${base}/ui/messages/rows`, { headers: { cookie: `${SESSION_COOKIE}=${cookie}` } });
    assert.equal(data.status, 401, cookie);
    assert.equal(await s.store.getAdminSession(idHash), undefined, `${cookie} was not removed`);
  }
  const ok = await fetch(`${base}/ui/messages`, { redirect: 'manual', headers: { cookie: `${SESSION_COOKIE}=fresh-cookie` } });
  assert.equal(ok.status, 200);
  assert.ok((await s.store.getAdminSession(fresh))!.lastSeenAt > now - 60_000, 'the request did not keep the session alive');

  const { cookie, csrf } = await session(base);
  const out = await fetch(`${base}/ui/logout`, {
    method: 'POST', redirect: 'manual', body: form({ _csrf: csrf }), headers: { cookie, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(out.status, 303);
  assert.equal(out.headers.get('location'), '/ui/login?bye=1');
  assert.equal((await fetch(`${base}/ui/messages`, { redirect: 'manual', headers: { cookie } })).status, 302);
});

test('logins are throttled per address after SMARTHOST_AUTH_FAILURES_PER_IP failures, even with the right password, apart from SMTP AUTH', async (t) => {
  const { s, base } = await start(t, { SMARTHOST_AUTH_FAILURES_PER_IP: '3' });
  for (let i = 0; i < 3; i++) {
    const res = await login(base, `wrong ${i}`);
    assert.equal(res.status, 401);
  }
  const locked = await login(base);
  assert.equal(locked.status, 429);
  const text = await locked.text();
  assert.ok(text.includes(loginMessages.throttled(10)), text);
  assert.equal(loginMessages.throttled(10), 'Too many failed logins from your address. Wait 10 minutes and try again.');
  assert.equal(locked.headers.getSetCookie().length, 0);
  // Counted in the dashboard's own scope: SMTP AUTH from the same address is not locked by it.
  assert.equal(await s.store.authFailures('127.0.0.1', Date.now(), s.config.authFailureWindow), 0);
});

test('a page\'s live stream starts from the last event when the page was rendered: a change made while it loads is reported', async (t) => {
  const { s, base } = await start(t);
  const { cookie } = await session(base);
  await s.store.addEvent({ messageId: 'M-BEFORE', recipient: null, type: 'retry', at: Date.now() });
  const page = await (await fetch(`${base}/ui/messages`, { headers: { cookie } })).text();
  const live = /<body[^>]* data-live="([^"]+)"/.exec(page)?.[1];
  assert.match(live ?? '', /^\/ui\/live\?after=\d+$/);
  // Delivered between the page's render and its stream's connect (a slow browser, a busy server).
  await s.store.addEvent({ messageId: 'M-WHILE-LOADING', recipient: null, type: 'retry', at: Date.now() });
  const stream = await fetch(`${base}${live!.replaceAll('&amp;', '&')}`, { headers: { cookie } });
  const reader = stream.body!.getReader();
  t.after(() => reader.cancel());
  await s.store.addEvent({ messageId: 'M-AFTER', recipient: null, type: 'retry', at: Date.now() });
  const seen = await readUntil(reader, 'M-AFTER');
  assert.match(seen, /M-WHILE-LOADING/);
  assert.doesNotMatch(seen, /M-BEFORE/);

  // An id past the last event (a stale or made-up link) counts as now: later changes still come.
  const ahead = await fetch(`${base}/ui/live?after=999999999`, { headers: { cookie } });
  const aheadReader = ahead.body!.getReader();
  t.after(() => aheadReader.cancel());
  await s.store.addEvent({ messageId: 'M-LATER', recipient: null, type: 'retry', at: Date.now() });
  await readUntil(aheadReader, 'M-LATER');
});

test('the live stream reports new events by message id and ends when the server shuts down', async (t) => {
  const { s, base } = await start(t);
  const { cookie } = await session(base);
  const res = await fetch(`${base}/ui/live`, { headers: { cookie } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const reader = res.body!.getReader();
  await s.store.addEvent({ messageId: 'M-LIVE-1', recipient: null, type: 'retry', at: Date.now() });
  const seen = await readUntil(reader, 'event: change');
  assert.match(seen, /id: \d+\nevent: change\ndata: \{"messages":\["M-LIVE-1"\]\}\n\n/);
  await s.close();
  for (;;) if ((await reader.read()).done) break; // the stream ends; close() did not hang on it
});
