// MTA-STS the way an operator runs it: `smarthost serve` as a child process that trusts the test CA only
// through NODE_EXTRA_CA_CERTS and resolves only through SMARTHOST_DNS_SERVERS, fetching the policy from
// https://mta-sts.example.com on port 443 (a loopback address of its own; binding 443 needs root or
// CAP_NET_BIND_SERVICE, and the test fails rather than skips without it). The policy cached in the store
// by one process is enforced by the next, with the policy server gone.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnSmarthost, type ChildSmarthost } from '../helpers/child-smarthost.ts';
import { startDnsServer, type DnsRecords } from '../helpers/dns-server.ts';
import { startFakeMx } from '../helpers/fake-mx.ts';
import { testPki } from '../helpers/pki.ts';
import { freePort } from '../helpers/ports.ts';
import { TEST_PASSWORD, TEST_USER } from '../helpers/smarthost.ts';
import { submit } from '../helpers/submit.ts';
import { waitFor } from '../helpers/wait.ts';

const POLICY_HOST = '127.0.44.43';
const POLICY = 'version: STSv1\r\nmode: enforce\r\nmx: *.mail.example.com\r\nmax_age: 86400\r\n';

const deliveryLine = (node: ChildSmarthost, to: string) =>
  waitFor(`the delivery line for ${to}`, async () => node.logs.find((l) => l.event === 'delivery' && l.to === to), 30_000);

test('a policy fetched and cached by one process is enforced by the next, with the policy server down', async (t) => {
  const pki = testPki();
  const dir = mkdtempSync(join(tmpdir(), 'smarthost-sts-restart-'));
  const caFile = join(dir, 'test-ca.pem');
  writeFileSync(caFile, pki.ca);

  const policyServer = createServer(pki.issue({ cn: 'mta-sts.example.com', san: ['DNS:mta-sts.example.com'] }), (req, res) => {
    if (req.url === '/.well-known/mta-sts.txt') res.writeHead(200, { 'content-type': 'text/plain' }).end(POLICY);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => policyServer.once('error', reject).listen(443, POLICY_HOST, resolve));
  const policyDown = new Promise<void>((resolve) => policyServer.once('close', resolve));
  t.after(() => policyServer.listening && policyServer.close());

  const mx = await startFakeMx({ host: '127.0.0.2', tls: true, certificate: pki.issue({ cn: 'mx1.mail.example.com', san: ['DNS:mx1.mail.example.com'] }) }, t);
  const zone: DnsRecords = {
    'example.com': { mx: [{ exchange: 'mx1.mail.example.com', priority: 10 }] },
    'mx1.mail.example.com': { a: ['127.0.0.2'] },
    'mx.example.net': { a: ['127.0.0.2'] },
    '_mta-sts.example.com': { txt: ['v=STSv1; id=20261125'] },
    'mta-sts.example.com': { a: [POLICY_HOST] },
  };
  const dns = await startDnsServer(zone, t);
  const port = await freePort();
  const env = {
    NODE_EXTRA_CA_CERTS: caFile,
    SMARTHOST_DATA_DIR: dir,
    SMARTHOST_HOSTNAME: 'relay.test',
    SMARTHOST_LISTEN: '127.0.0.1',
    SMARTHOST_SUBMISSION_PORT: '0',
    SMARTHOST_SMTPS_PORT: '0',
    SMARTHOST_ALT_PORT: String(port),
    SMARTHOST_HTTP_PORT: '0',
    SMARTHOST_DNS_SERVERS: dns.server,
    SMARTHOST_MX_PORT: String(mx.port),
    SMARTHOST_USERS: `${TEST_USER}:${TEST_PASSWORD}:sender.test`,
    SMARTHOST_MIN_FREE_DISK: '0',
    SMARTHOST_LOG_LEVEL: 'info',
  };

  // First process: the policy is fetched (its HTTPS certificate checked against NODE_EXTRA_CA_CERTS) and the
  // matching MX gets the mail over TLS with a verified certificate.
  const first = await spawnSmarthost(t, env, { readyPort: port });
  await submit(port, { from: 'app@sender.test', to: ['a@example.com'] });
  const sent = await deliveryLine(first, 'a@example.com');
  assert.deepEqual([sent.status, sent.tls_detail], ['delivered', 'mta-sts enforce, certificate verified'], first.tail());
  assert.equal(mx.messages.length, 1);
  assert.equal(mx.messages[0]!.secure, true);
  assert.deepEqual(await first.stop('SIGTERM', 15_000), { code: 0, signal: null });

  // Between the runs the policy server goes away and example.com's MX changes to a host the policy does not allow.
  policyServer.close();
  await policyDown;
  zone['example.com'] = { mx: [{ exchange: 'mx.example.net', priority: 10 }] };

  const second = await spawnSmarthost(t, env, { readyPort: port });
  await submit(port, { from: 'app@sender.test', to: ['b@example.com'] });
  const refused = await deliveryLine(second, 'b@example.com');
  assert.deepEqual([refused.status, refused.reply, refused.tls_detail], [
    'deferred', '451 4.7.5 MTA-STS: mx.example.net does not match the policy for example.com (mx: *.mail.example.com)', 'mta-sts enforce',
  ], second.tail());
  assert.equal(second.logs.filter((l) => l.event === 'mta-sts').length, 0, 'the cached policy needed no fetch');
  assert.equal(mx.connections, 1, 'the MX the policy does not allow was never contacted');
});
