// GET /routes and POST /routes/check over real HTTP with a full_access key, set up
// as the dashboard's route health test: a fake MX on loopback delivers for the mx
// route, a refusing port stands for the relay, auto probes the relay then mx.
// (401 and 403 for these endpoints: admin-api.test.ts, with every admin endpoint.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApiKey } from '../../src/credentials/api-keys.ts';
import { startRouteHealthRig } from '../helpers/route-health-rig.ts';
import { waitFor } from '../helpers/wait.ts';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

test('GET /routes: the table, auto\'s choice, each route\'s last delivery and failure explained; POST /routes/check: each route\'s check', async (t) => {
  const { s, mx, refused, sendOneEach } = await startRouteHealthRig(t);
  const { key } = await createApiKey(s.store, 'ops', ['*'], {}, 'full_access');
  const call = async (method: string, path: string) => {
    const res = await fetch(`http://127.0.0.1:${s.http!.port}${path}`, { method, headers: { authorization: `Bearer ${key}` } });
    return { status: res.status, body: await res.json() as any };
  };

  const before = await call('GET', '/routes');
  assert.equal(before.status, 200);
  assert.deepEqual(before.body.routes.map((r: { last_delivered: unknown; last_failure: unknown }) => [r.last_delivered, r.last_failure]), [[null, null], [null, null]]);

  await sendOneEach();
  await waitFor('auto has probed', async () => !(await call('GET', '/routes')).body.auto.includes('probing egress'), 20_000);

  const { status, body } = await call('GET', '/routes');
  assert.equal(status, 200);
  const mxRoute = body.routes.find((r: { name: string }) => r.name === 'mx');
  const relayRoute = body.routes.find((r: { name: string }) => r.name === 'relay');
  assert.match(mxRoute.last_delivered.at, ISO);
  assert.match(relayRoute.last_failure.at, ISO);
  mxRoute.last_delivered.at = relayRoute.last_failure.at = 'T';
  assert.deepEqual(body, {
    object: 'routing',
    default: ['auto'],
    rules: [{ recipient_domain: ['relayed.test'], sender_domain: null, routes: ['relay'] }],
    auto_probes: ['relay', 'mx'],
    auto: `relay: 127.0.0.1:${refused} refuses connections; delivering directly to each recipient's MX on port ${mx.port}`,
    routes: [
      {
        name: 'relay', description: `through the relay 127.0.0.1:${refused}`, last_delivered: null,
        last_failure: {
          at: 'T', type: 'deferred', reply: `451 4.4.1 Connection refused by 127.0.0.1:${refused}`, category: 'network',
          meaning: 'no answer from the host', remedy: 'smarthost retries; check that outbound connections to this port are not filtered',
        },
      },
      {
        name: 'mx', description: `directly to each recipient's MX on port ${mx.port}`,
        last_delivered: { at: 'T', relay: `mx.example.org[127.0.0.2]:${mx.port}`, reply: '250 2.0.0 OK: message queued' }, last_failure: null,
      },
    ],
  });

  const checked = await call('POST', '/routes/check');
  assert.deepEqual(checked, {
    status: 200,
    body: {
      object: 'list',
      data: [
        { name: 'relay', ok: false, detail: `127.0.0.1:${refused} refuses connections` },
        { name: 'mx', ok: true, detail: `127.0.0.2:${mx.port} answers (no TLS)` },
      ],
    },
  });
  assert.equal(mx.messages.length, 1, 'a check sends no mail');
});
