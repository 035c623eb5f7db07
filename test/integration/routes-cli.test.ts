// `smarthost routes` as an operator runs it: the routing table, then one line per
// route with OK/FAIL and why, against real servers on loopback; exit 1 on a FAIL.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/child-smarthost.ts';
import { startFakeMx } from '../helpers/fake-mx.ts';
import { startFakeProvider } from '../helpers/fake-providers.ts';
import { freePort } from '../helpers/ports.ts';

const creds = { user: 'relay-user', pass: 'relay-pass' };

test('smarthost routes: the table, a check per route, exit 1 when one fails and 0 when all work', async (t) => {
  const relay = await startFakeMx({ host: '127.0.0.2', tls: true, auth: creds }, t);
  const mx = await startFakeMx({ host: '127.0.0.3' }, t);
  const refused = await freePort();
  const env = (mxPort: number) => ({
    SMARTHOST_DATA_DIR: mkdtempSync(join(tmpdir(), 'smarthost-routes-')), SMARTHOST_HOSTNAME: 'relay.test',
    SMARTHOST_ROUTE: 'relay,mx', SMARTHOST_ROUTES: JSON.stringify({ rules: [{ recipientDomain: 'example.net', senderDomain: 'example.com', routes: ['mx'] }] }),
    SMARTHOST_RELAY_URL: `smtp://${creds.user}:${creds.pass}@127.0.0.2:${relay.port}`, SMARTHOST_RELAY_TLS_VERIFY: 'false',
    SMARTHOST_MX_PORT: String(mxPort), SMARTHOST_PROBE_MX_HOST: mxPort === refused ? '127.0.0.1' : '127.0.0.3', SMARTHOST_ROUTE_PROBE_TIMEOUT: '2s',
  });
  const table = [
    'routing table',
    '  default: relay, mx',
    '  rule 1: recipient example.net and sender example.com → mx',
    'checks',
  ];

  const failing = await runCli(['routes'], env(refused));
  assert.equal(failing.stdout, [
    ...table,
    `  OK    relay  127.0.0.2:${relay.port} answers (STARTTLS, AUTH PLAIN accepted) — delivering through the relay 127.0.0.2:${relay.port}`,
    `  FAIL  mx     127.0.0.1:${refused} refuses connections`,
    '',
  ].join('\n'));
  assert.equal(failing.code, 1);
  assert.equal(relay.messages.length, 0, 'a check sends no mail');

  const working = await runCli(['routes'], env(mx.port));
  assert.equal(working.stdout, [
    ...table,
    `  OK    relay  127.0.0.2:${relay.port} answers (STARTTLS, AUTH PLAIN accepted) — delivering through the relay 127.0.0.2:${relay.port}`,
    `  OK    mx     127.0.0.3:${mx.port} answers (no TLS) — delivering directly to each recipient's MX on port ${mx.port}`,
    '',
  ].join('\n'));
  assert.equal(working.code, 0);
  assert.equal(mx.messages.length, 0);
});

test('smarthost routes and serve: a route that is named but not configured is a configuration error (exit 2)', async () => {
  const env = { SMARTHOST_DATA_DIR: mkdtempSync(join(tmpdir(), 'smarthost-routes-')), SMARTHOST_ROUTE: 'mx,relay' };
  const expected = 'invalid configuration:\n  - SMARTHOST_ROUTE: route "relay" is not configured: set SMARTHOST_RELAY_URL\n';
  for (const command of ['routes', 'serve']) {
    const r = await runCli([command], env);
    assert.equal(r.stderr, expected, command);
    assert.equal(r.code, 2, command);
  }
});

test('smarthost routes with providers: an accepted key is OK, a refused one FAILs with the provider\'s words, exit 1', async (t) => {
  // Resend over real HTTPS (the CLI trusts the test CA through NODE_EXTRA_CA_CERTS), Postmark over plain http on loopback.
  const resend = await startFakeProvider('resend', t, { key: 're_test_key' });
  const postmark = await startFakeProvider('postmark', t, { key: 'pm-right-token', plain: true });
  const dir = mkdtempSync(join(tmpdir(), 'smarthost-routes-'));
  writeFileSync(join(dir, 'ca.pem'), resend.ca);
  const env = (postmarkToken: string) => ({
    SMARTHOST_DATA_DIR: dir, SMARTHOST_HOSTNAME: 'relay.test', NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'),
    SMARTHOST_ROUTE: 'resend,postmark', SMARTHOST_RESEND_API_KEY: 're_test_key', SMARTHOST_RESEND_API_URL: resend.url,
    SMARTHOST_POSTMARK_SERVER_TOKEN: postmarkToken, SMARTHOST_POSTMARK_API_URL: postmark.url,
  });
  const head = ['routing table', '  default: resend, postmark', 'checks', '  OK    resend    API key accepted (domains: example.com verified) — delivering through resend over HTTPS'];

  const refused = await runCli(['routes'], env('pm-wrong-token'));
  assert.equal(refused.stdout, [
    ...head,
    '  FAIL  postmark  the Postmark server token was refused (HTTP 401: The Server Token you provided in the X-Postmark-Server-Token request header was invalid.)',
    '',
  ].join('\n'));
  assert.equal(refused.code, 1);

  const accepted = await runCli(['routes'], env('pm-right-token'));
  assert.equal(accepted.stdout, [...head, '  OK    postmark  server token accepted (server "smarthost test") — delivering through postmark over plain HTTP on loopback', ''].join('\n'));
  assert.equal(accepted.code, 0);
  assert.deepEqual([resend.requests.length, postmark.requests.length, resend.problems, postmark.problems], [0, 0, [], []], 'a check sends no mail');
});
