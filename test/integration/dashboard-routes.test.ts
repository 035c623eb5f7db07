// The overview's route health over real HTTP with a session: a fake MX on
// loopback delivers for the mx route, a refusing port stands for the relay;
// the panel shows each route's last delivery and last failure explained, auto's
// choice, and "Check now" runs the routes' own checks (CSRF required).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dashboardSession } from '../helpers/dashboard-session.ts';
import { startRouteHealthRig } from '../helpers/route-health-rig.ts';
import type { TestSmarthost } from '../helpers/smarthost.ts';
import { waitFor } from '../helpers/wait.ts';

const ADMIN_PASSWORD = 'route health password';

async function loggedIn(s: TestSmarthost) {
  const d = await dashboardSession(s, ADMIN_PASSWORD);
  return {
    csrf: d.csrf,
    get: async (path: string) => (await d.get(path)).text(),
    post: (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) => d.send(path, Object.entries(fields), headers),
  };
}

/** One route's row of the panel, tags stripped and spaces collapsed. */
const row = (page: string, route: string) => {
  const m = new RegExp(`<tr data-route="${route}">([\\s\\S]*?)</tr>`).exec(page);
  assert.ok(m, `no row for ${route}`);
  return m[1]!.replace(/<[^>]+>/g, ' ').replace(/&#39;/g, "'").replace(/\s+/g, ' ').trim();
};

test('route health: each route\'s last delivery and failure explained, auto\'s choice, and Check now with CSRF', async (t) => {
  // auto probes the relay (refusing) then mx; relayed.test is ruled onto the relay alone, so it fails there.
  const { s, mx, refused, sendOneEach } = await startRouteHealthRig(t, { SMARTHOST_ADMIN_PASSWORD: ADMIN_PASSWORD });
  const { csrf, get, post } = await loggedIn(s);
  const before = await get('/ui/');
  assert.match(row(before, 'mx'), /^mx directly to each recipient's MX on port \d+ never none$/);

  await sendOneEach();
  await waitFor('auto has probed', async () => !(await get('/ui/')).includes('probing egress'), 20_000);

  const page = await get('/ui/');
  assert.match(page, /<li class="mono">default: auto<\/li><li class="mono">rule 1: recipient relayed\.test → relay<\/li><li class="mono">auto probes, in order: relay, mx<\/li>/);
  assert.ok(page.includes(`<strong>Auto route:</strong> relay: 127.0.0.1:${refused} refuses connections; delivering directly to each recipient&#39;s MX on port ${mx.port}</p>`), page);
  const time = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC';
  assert.match(row(page, 'mx'), new RegExp(`^mx directly to each recipient's MX on port ${mx.port} ${time} none$`));
  assert.match(row(page, 'relay'), new RegExp(`^relay through the relay 127\\.0\\.0\\.1:${refused} never ${time} deferred network `
    + `451 4\\.4\\.1 Connection refused by 127\\.0\\.0\\.1:${refused} no answer from the host\\. smarthost retries; check that outbound connections to this port are not filtered\\.$`));
  assert.ok(!page.includes('<th scope="col">Check now</th>'), 'no check runs on a page view');

  // Without the token: refused in plain words, nothing checked.
  const forged = await post('/ui/routes/check', {});
  assert.equal(forged.status, 403);
  assert.match(await forged.text(), /This form has expired or was not sent by the dashboard\. Reload the page and try again\./);

  // htmx: the panel alone, with each route's check.
  const panel = await post('/ui/routes/check', { _csrf: csrf }, { 'hx-request': 'true' });
  assert.equal(panel.status, 200);
  const fragment = await panel.text();
  assert.match(fragment, /^<section id="route-health"/);
  assert.match(row(fragment, 'mx'), new RegExp(`works 127\\.0\\.0\\.2:${mx.port} answers \\(no TLS\\)$`));
  assert.match(row(fragment, 'relay'), new RegExp(`fails 127\\.0\\.0\\.1:${refused} refuses connections$`));
  // A plain form post: the whole overview with the results.
  const full = await (await post('/ui/routes/check', { _csrf: csrf, window: 'week' })).text();
  assert.match(full, /<h1>Overview<\/h1>/);
  assert.match(full, /<a href="\/ui\/\?window=week" aria-current="page">last week<\/a>/);
  assert.match(full, /<input type="hidden" name="window" value="week">/);
  assert.match(row(full, 'relay'), /fails 127\.0\.0\.1:\d+ refuses connections$/);
  assert.equal(mx.messages.length, 1, 'a check sends no mail');
});
