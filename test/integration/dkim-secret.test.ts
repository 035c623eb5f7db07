// A DKIM key that cannot be decrypted, seen from the outside: `smarthost serve` refuses to start with a
// message naming the domain and SMARTHOST_SECRET_KEY (exit 2); a key added later under another secret makes
// that domain's mail wait (451), never go out unsigned.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, spawnSmarthost } from '../helpers/child-smarthost.ts';
import { freePort } from '../helpers/ports.ts';
import { authedSession, message, send } from '../helpers/session.ts';
import { TEST_PASSWORD, TEST_USER } from '../helpers/smarthost.ts';
import { waitFor } from '../helpers/wait.ts';

async function baseEnv() {
  return {
    SMARTHOST_DATA_DIR: mkdtempSync(join(tmpdir(), 'smarthost-secret-')),
    SMARTHOST_HOSTNAME: 'relay.test',
    SMARTHOST_LISTEN: '127.0.0.1',
    SMARTHOST_SUBMISSION_PORT: '0',
    SMARTHOST_SMTPS_PORT: '0',
    SMARTHOST_ALT_PORT: String(await freePort()),
    SMARTHOST_HTTP_PORT: '0',
    SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9',
    SMARTHOST_USERS: `${TEST_USER}:${TEST_PASSWORD}:example.com;other.test`,
    SMARTHOST_MIN_FREE_DISK: '0',
    SMARTHOST_LOG_LEVEL: 'info',
  };
}

test('serve with a wrong or missing SMARTHOST_SECRET_KEY exits 2, naming the domain, the selector and the setting', async () => {
  const env = await baseEnv();
  const added = await runCli(['domains', 'add', 'example.com'], { ...env, SMARTHOST_SECRET_KEY: 'right' });
  assert.equal(added.code, 0, added.stderr);
  const selector = /^(sh\d{6})\._domainkey\.example\.com\. TXT /m.exec(added.stdout)?.[1];
  assert.ok(selector, added.stdout);

  const wrong = await runCli(['serve'], { ...env, SMARTHOST_SECRET_KEY: 'wrong' });
  assert.deepEqual([wrong.code, wrong.stderr],
    [2, `smarthost: cannot decrypt the DKIM key of example.com (selector ${selector}): SMARTHOST_SECRET_KEY is not the key it was encrypted with\n`]);
  const missing = await runCli(['serve'], env);
  assert.deepEqual([missing.code, missing.stderr],
    [2, `smarthost: the DKIM key of example.com (selector ${selector}) is encrypted, but SMARTHOST_SECRET_KEY is not set\n`]);
});

test('a key added under another secret while serving: its mail is refused 451 and nothing is queued unsigned', async (t) => {
  const env = { ...(await baseEnv()), SMARTHOST_SECRET_KEY: 'right' };
  const port = Number(env.SMARTHOST_ALT_PORT);
  const node = await spawnSmarthost(t, env, { readyPort: port });
  const added = await runCli(['domains', 'add', 'other.test'], { ...env, SMARTHOST_SECRET_KEY: 'another' });
  assert.equal(added.code, 0, added.stderr);

  const c = await authedSession(port);
  const refused = await send(c, 'app@other.test', ['rcpt@example.org'], message({ From: 'app@other.test' }));
  assert.equal(refused.last, '451 4.3.0 Local error while storing the message; try again later');
  const accepted = await send(c, 'app@example.com', ['rcpt@example.org'], message());
  assert.match(accepted.last, /^250 /, 'other domains are not affected');
  c.close();

  const queue = await runCli(['queue', 'list'], env);
  assert.equal(queue.code, 0, queue.stderr);
  assert.equal(queue.stdout.match(/^[0-9A-Z]{26}\b/gm)?.length, 1, queue.stdout);
  // Logs are written in batches (at most 100 ms apart): wait for the line, bounded.
  const failure = await waitFor('the DKIM failure in the log', () => node.logs.find((l) => l.msg === 'DKIM signing failed'), 5000).catch(() => undefined);
  assert.equal(failure?.domain, 'other.test', node.tail());
  assert.match(String((failure?.err as { message?: string })?.message), /cannot decrypt the DKIM key of other\.test .*SMARTHOST_SECRET_KEY/);
  assert.doesNotMatch(node.lines.join('\n') + node.stderr(), /PRIVATE KEY|enc:v1:/, 'no key, sealed or not, in the logs');
});
