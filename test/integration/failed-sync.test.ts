// A disk that starts failing under a running smarthost (README, Durability): once
// a sync of the queue fails, a message is refused with 451 4.3.0 (the client keeps
// it and retries), /readyz says why so a load balancer stops sending here, nothing
// more is accepted until a restart, and the mail accepted before stays queued.
import assert from 'node:assert/strict';
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { spawnSmarthost, type ChildSmarthost } from '../helpers/child-smarthost.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { failingFsyncEnv } from '../helpers/fsync-shim.ts';
import { startFakeMx } from '../helpers/fake-mx.ts';
import { freePort } from '../helpers/ports.ts';
import { skipWithout } from '../helpers/run.ts';
import { message, send } from '../helpers/session.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const STORE_FAILED = '451 4.3.0 Local error while storing the message; try again later';

test('a failed sync of the queue: 451 4.3.0, /readyz 503 with the reason, nothing more accepted, the mail before kept', { skip: skipWithout('cc'), timeout: 90_000 }, async (t) => {
  let node: ChildSmarthost | undefined;
  // Registered before the directory's removal (after-hooks run in order): the child is gone before its files are.
  t.after(() => node?.stop('SIGKILL', 5000));
  const dir = tempDir(t, 'smarthost-failed-sync');
  const flag = join(dir, 'disk-fails');
  const dns = await startDnsServer({
    'example.org': { mx: [{ exchange: 'mx.example.org', priority: 10 }] },
    'mx.example.org': { a: ['127.0.0.2'] },
  }, t);
  const mx = await startFakeMx({ host: '127.0.0.2' }, t);
  const [altPort, httpPort] = [await freePort(), await freePort()];
  const dataDir = join(dir, 'data');
  node = await spawnSmarthost(t, {
    SMARTHOST_DATA_DIR: dataDir, SMARTHOST_HOSTNAME: 'relay.test', SMARTHOST_LISTEN: '127.0.0.1',
    SMARTHOST_SUBMISSION_PORT: '0', SMARTHOST_SMTPS_PORT: '0', SMARTHOST_ALT_PORT: String(altPort), SMARTHOST_HTTP_PORT: String(httpPort),
    SMARTHOST_TRUSTED_NETWORKS: '127.0.0.1/32', SMARTHOST_DNS_SERVERS: dns.server, SMARTHOST_MX_PORT: String(mx.port),
    SMARTHOST_MIN_FREE_DISK: '0', SMARTHOST_LOG_LEVEL: 'warn', ...failingFsyncEnv(dir, flag),
  }, { readyPort: altPort, logFile: join(dir, 'smarthost.log') });
  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
    return { status: res.status, body: (await res.json()) as { status: string; problems: string[] } };
  };

  const c = await RawSmtp.connect(altPort);
  t.after(() => c.close());
  assert.equal((await c.read()).code, 220);
  assert.equal((await c.cmd('EHLO client.test')).code, 250);
  const first = await send(c, 'app@example.com', ['rcpt@example.org'], message({ Subject: 'before' }));
  const id = /^250 2\.0\.0 Ok: queued as ([0-9A-Z]{26})$/.exec(first.last)?.[1];
  assert.ok(id, first.last);
  assert.equal((await readyz()).status, 200);

  writeFileSync(flag, '');
  assert.equal((await send(c, 'app@example.com', ['rcpt@example.org'], message({ Subject: 'during' }))).last, STORE_FAILED);
  const ready = await readyz();
  assert.equal(ready.status, 503);
  assert.equal(ready.body.status, 'unavailable');
  assert.match(ready.body.problems[0] ?? '', /^store cannot commit: a sync of its write-ahead log failed \(EIO: i\/o error, fdatasync\); nothing is accepted or delivered until smarthost restarts/);

  // The disk answers again, but what the failed sync left in the page cache is unknown: still refused until a restart.
  unlinkSync(flag);
  assert.equal((await send(c, 'app@example.com', ['rcpt@example.org'], message({ Subject: 'after' }))).last, STORE_FAILED);
  assert.equal((await readyz()).status, 503);

  const db = new Database(join(dataDir, 'smarthost.db'), { readonly: true });
  t.after(() => db.close());
  assert.equal((db.prepare('SELECT count(*) AS n FROM messages WHERE id = ?').get(id) as { n: number }).n, 1, 'the message accepted before the failure is gone');
});
