// `smarthost routes` as an operator runs it: the routing table, then one line per
// route with OK/FAIL and why, against real servers on loopback; exit 1 on a FAIL.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/child-smarthost.ts';
import { startFakeMx } from '../helpers/fake-mx.ts';
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
