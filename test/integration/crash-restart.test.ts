// "Nothing accepted is ever lost" (DESIGN.md, Guarantees: Durability), tested the
// hard way: smarthost runs as a real child process under load from several
// concurrent clients, is SIGKILLed mid-run and restarted on the same data
// directory and ports, and every message that got a 250 must reach the
// recipient's MX at least once. Duplicates are allowed (at-least-once) and
// reported. Then SIGTERM must stop it cleanly with nothing left pending.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import nodemailer from 'nodemailer';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { runCli, spawnSmarthost, type ChildSmarthost } from '../helpers/child-smarthost.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startFakeMx, type FakeMessage } from '../helpers/fake-mx.ts';
import { freePort } from '../helpers/ports.ts';

const TARGET_ACCEPTED = 1000;
const KILL_AFTER_ACCEPTED = 400;
const CLIENTS = 8;
const LOAD_DEADLINE_MS = 60_000;
const DELIVERY_DEADLINE_MS = 60_000;
/** SMARTHOST_SHUTDOWN_GRACE's default (not set here) plus a few seconds. */
const SIGTERM_EXIT_MS = 10_000 + 5_000;

const SENDER = 'app@example.com';
const RCPT = 'rcpt@example.org';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it is true or `timeoutMs` passes; returns whether it became true. */
async function pollUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

/**
 * A temporary directory that is removed when the test passed and kept (and named)
 * when it failed, or always with SMARTHOST_TEST_KEEP=1 in the test's environment.
 */
function workDir(t: TestContext, prefix: string): { dir: string; passed(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let ok = false;
  t.after(() => {
    if (ok && process.env.SMARTHOST_TEST_KEEP !== '1') rmSync(dir, { recursive: true, force: true });
    else t.diagnostic(`kept for debugging (child logs, data dir): ${dir}`);
  });
  return { dir, passed: () => void (ok = true) };
}

/** The exact bytes a client submits for one token (CRLF, Date and Message-ID present, so smarthost only prepends Received:). */
function messageFor(token: string): string {
  return [
    `From: <${SENDER}>`,
    `To: <${RCPT}>`,
    `Subject: ${token}`,
    `Date: Mon, 1 Jan 2024 00:00:00 +0000`,
    `Message-ID: <${token}@client.test>`,
    '',
    `This is ${token}.`,
    'A second line, so the body is more than one line.',
    '',
  ].join('\r\n');
}

function tokenOf(m: FakeMessage): string | undefined {
  const text = m.raw.toString('latin1');
  const head = text.slice(0, Math.max(0, text.indexOf('\r\n\r\n')));
  return /^Subject: (crash-test-\d{6})\r?$/m.exec(head)?.[1];
}

function errorKind(err: unknown): string {
  const e = err as { code?: string; responseCode?: number; message?: string };
  return `${e.code ?? 'ERROR'}${e.responseCode ? ` ${e.responseCode}` : ''}`;
}

test('SIGKILL under load, restart on the same data dir: every 250 is delivered at least once; SIGTERM then stops cleanly', { timeout: 200_000 }, async (t) => {
  const testStarted = Date.now();
  const work = workDir(t, 'smarthost-crash-');
  const dataDir = join(work.dir, 'data');

  const dns = await startDnsServer({
    'example.org': { mx: [{ exchange: 'mx.example.org', priority: 10 }] },
    'mx.example.org': { a: ['127.0.0.2'] },
  }, t);
  // The recipient's MX: records every message, raw bytes included; runs across the restart.
  const mx = await startFakeMx({ host: '127.0.0.2' }, t);
  const altPort = await freePort();
  const env = {
    SMARTHOST_DATA_DIR: dataDir,
    SMARTHOST_HOSTNAME: 'relay.test',
    SMARTHOST_LISTEN: '127.0.0.1',
    SMARTHOST_SUBMISSION_PORT: '0',
    SMARTHOST_SMTPS_PORT: '0',
    SMARTHOST_ALT_PORT: String(altPort),
    SMARTHOST_TRUSTED_NETWORKS: '127.0.0.1/32',
    SMARTHOST_DNS_SERVERS: dns.server,
    SMARTHOST_MX_PORT: String(mx.port),
    SMARTHOST_MIN_FREE_DISK: '0',
    SMARTHOST_RETRY_INITIAL: '1s',
    SMARTHOST_RETRY_MAX: '2s',
    SMARTHOST_LEASE_TIME: '3s',
    SMARTHOST_LOG_LEVEL: 'info',
  };
  const children: ChildSmarthost[] = [];
  const start = async () => {
    const child = await spawnSmarthost(t, env, { readyPort: altPort, logFile: join(work.dir, `smarthost-${children.length + 1}.log`) });
    children.push(child);
    return child;
  };
  let current = await start();

  // ---- load: CLIENTS concurrent submitters, one connection per message ----
  const accepted = new Map<string, string>(); // token → queue id from the 250
  const failures = new Map<string, number>(); // error kind → count
  let attempts = 0;
  let nextToken = 0;
  let stop = false;
  let phase: 'first' | 'down' | 'second' = 'first';
  const acceptedIn = { first: 0, down: 0, second: 0 };
  const failedIn = { first: 0, down: 0, second: 0 };
  let crash: Promise<void> | undefined;
  const crashInfo = { acceptedAtKill: 0, killedAt: 0, readyAt: 0, exit: undefined as unknown };

  const crashAndRestart = async () => {
    crashInfo.acceptedAtKill = accepted.size;
    crashInfo.killedAt = Date.now();
    phase = 'down';
    const exit = await current.stop('SIGKILL', 5000);
    crashInfo.exit = exit;
    assert.equal(exit?.signal, 'SIGKILL', `the first smarthost did not die of SIGKILL: ${JSON.stringify(exit)}`);
    current = await start(); // same data dir, same ports
    crashInfo.readyAt = Date.now();
    phase = 'second';
  };

  const loadStarted = Date.now();
  const loadDeadline = loadStarted + LOAD_DEADLINE_MS;
  const client = async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1', port: altPort, secure: false, ignoreTLS: true, pool: false,
      connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 10_000,
      disableFileAccess: true, disableUrlAccess: true,
    });
    try {
      while (!stop && accepted.size < TARGET_ACCEPTED && Date.now() < loadDeadline) {
        const token = `crash-test-${String(nextToken++).padStart(6, '0')}`;
        const startedIn = phase;
        attempts++;
        try {
          const info = await transport.sendMail({ envelope: { from: SENDER, to: [RCPT] }, raw: messageFor(token) });
          const id = /^250 2\.0\.0 Ok: queued as (\S+)/.exec(info.response)?.[1];
          assert.ok(id, `sendMail resolved without a 250 queued reply: ${info.response}`);
          accepted.set(token, id);
          acceptedIn[startedIn]++;
          if (!crash && accepted.size >= KILL_AFTER_ACCEPTED) {
            crash = crashAndRestart();
            crash.catch(() => void (stop = true)); // awaited below; stop the clients at once if it fails
          }
        } catch (err) {
          if (err instanceof assert.AssertionError) throw err;
          // Not accepted (connection refused or cut, or a refusal): fine, the client tries the next one.
          failedIn[startedIn]++;
          const kind = errorKind(err);
          failures.set(kind, (failures.get(kind) ?? 0) + 1);
          await sleep(phase === 'down' ? 50 : 10);
        }
      }
    } finally {
      transport.close();
    }
  };

  try {
    await Promise.all(Array.from({ length: CLIENTS }, client));
    await crash;
  } finally {
    stop = true;
  }
  const loadMs = Date.now() - loadStarted;
  const summary = [
    `attempts=${attempts} accepted=${accepted.size} (before kill ${acceptedIn.first}, after restart ${acceptedIn.second})`,
    `failed=${[...failures].map(([k, n]) => `${k}×${n}`).join(', ') || 'none'} (started before kill ${failedIn.first}, while down ${failedIn.down}, after restart ${failedIn.second})`,
    `killed at ${crashInfo.acceptedAtKill} accepted, restarted in ${crashInfo.readyAt - crashInfo.killedAt} ms, load took ${loadMs} ms`,
  ].join('\n');
  for (const line of summary.split('\n')) t.diagnostic(line);
  console.log(summary);
  assert.ok(crash, `never reached ${KILL_AFTER_ACCEPTED} accepted messages to kill smarthost\n${summary}\n${current.tail()}`);
  assert.ok(accepted.size >= TARGET_ACCEPTED, `only ${accepted.size} of ${TARGET_ACCEPTED} accepted within ${LOAD_DEADLINE_MS} ms\n${summary}\n${current.tail()}`);
  assert.ok(acceptedIn.second > 0, 'nothing was accepted by the restarted smarthost');

  // ---- delivery: wait until the MX has every accepted token and the queue holds nothing pending ----
  const delivered = new Map<string, number>(); // token → copies received
  const corrupted: string[] = [];
  let seen = 0;
  let others = 0;
  const scanSink = () => {
    for (; seen < mx.messages.length; seen++) {
      const m = mx.messages[seen]!;
      const token = tokenOf(m);
      if (!token) {
        others++;
        continue;
      }
      delivered.set(token, (delivered.get(token) ?? 0) + 1);
      // smarthost prepends Received: and changes nothing else (README); the envelope is kept.
      const original = messageFor(token);
      if (!m.raw.toString('latin1').endsWith(original) || !/^Received: /.test(m.raw.toString('latin1')) ||
          m.from !== SENDER || m.to.join(',') !== RCPT)
        corrupted.push(token);
    }
  };
  const missing = () => [...accepted.keys()].filter((token) => !delivered.has(token));
  const pending = async () => {
    const store = openSqliteStore(dataDir);
    try {
      return await store.countPending();
    } finally {
      await store.close();
    }
  };
  const deliveryStarted = Date.now();
  let lastPending = -1;
  const settled = await pollUntil(async () => {
    scanSink();
    if (missing().length) return false;
    lastPending = await pending();
    return lastPending === 0;
  }, DELIVERY_DEADLINE_MS, 200);
  scanSink();
  const deliveryMs = Date.now() - deliveryStarted;

  // ---- SIGTERM: a clean stop within the shutdown grace ----
  const termExit = await current.stop('SIGTERM', SIGTERM_EXIT_MS);
  const queued = await runCli(['queue', 'list', '--status', 'queued', '--limit', '1000'], env);
  const deferred = await runCli(['queue', 'list', '--status', 'deferred', '--limit', '1000'], env);

  const lost = missing();
  const duplicates = [...delivered].filter(([, n]) => n > 1);
  const extraCopies = duplicates.reduce((sum, [, n]) => sum + n - 1, 0);
  const unacknowledged = [...delivered.keys()].filter((token) => !accepted.has(token));
  const totalMs = Date.now() - testStarted;
  const report = [
    `accepted=${accepted.size} delivered=${[...delivered.keys()].filter((k) => accepted.has(k)).length}/${accepted.size} ` +
      `missing=${lost.length} duplicates=${duplicates.length} (extra copies ${extraCopies}) ` +
      `delivered-without-250=${unacknowledged.length} other-messages=${others} sink-total=${mx.messages.length}`,
    `delivery wait ${deliveryMs} ms (settled=${settled}, pending=${lastPending}), runtime ${totalMs} ms`,
  ].join('\n');
  for (const line of report.split('\n')) t.diagnostic(line);
  console.log(report);
  if (duplicates.length) t.diagnostic(`duplicated tokens: ${duplicates.slice(0, 50).map(([k, n]) => `${k}×${n}`).join(' ')}`);

  assert.deepEqual(
    lost, [],
    `${lost.length} message(s) got a 250 but never reached the MX (token → queue id):\n` +
      lost.slice(0, 100).map((token) => `  ${token} → ${accepted.get(token)}`).join('\n') + `\n${current.tail()}`,
  );
  assert.deepEqual(corrupted, [], `delivered bytes differ from what was submitted (plus Received:) for: ${corrupted.slice(0, 50).join(' ')}`);
  assert.equal(others, 0, `the MX received ${others} message(s) without a test token (bounces?)`);

  assert.ok(termExit, `smarthost did not exit within ${SIGTERM_EXIT_MS} ms of SIGTERM\n${current.tail()}`);
  assert.deepEqual(termExit, { code: 0, signal: null }, `smarthost did not stop cleanly on SIGTERM\n${current.tail()}`);
  assert.ok(current.logs.some((l) => l.msg === 'smarthost stopped'), `no "smarthost stopped" log line\n${current.tail()}`);

  for (const [status, r] of [['queued', queued], ['deferred', deferred]] as const) {
    assert.equal(r.code, 0, `queue list --status ${status} exited ${r.code}: ${r.stderr}`);
    assert.equal(r.stdout.trim(), '', `recipients still ${status} after delivery and SIGTERM:\n${r.stdout}`);
  }
  work.passed();
});

test('SIGTERM while idle exits 0 within 5 s; a restart on the same data dir prints no new first credential', { timeout: 60_000 }, async (t) => {
  const work = workDir(t, 'smarthost-term-');
  const altPort = await freePort();
  const env = {
    SMARTHOST_DATA_DIR: join(work.dir, 'data'),
    SMARTHOST_HOSTNAME: 'relay.test',
    SMARTHOST_LISTEN: '127.0.0.1',
    SMARTHOST_SUBMISSION_PORT: '0',
    SMARTHOST_SMTPS_PORT: '0',
    SMARTHOST_ALT_PORT: String(altPort),
    SMARTHOST_TRUSTED_NETWORKS: '127.0.0.1/32',
    SMARTHOST_MIN_FREE_DISK: '0',
    SMARTHOST_LOG_LEVEL: 'info',
  };
  const startedLogged = (c: ChildSmarthost) => pollUntil(() => c.logs.some((l) => l.msg === 'smarthost started'), 5000, 20);
  const banner = 'Created the first SMTP credential';

  // First start on an empty data dir: the first credential is printed once, on stdout.
  const first = await spawnSmarthost(t, env, { readyPort: altPort, logFile: join(work.dir, 'smarthost-1.log') });
  assert.ok(await startedLogged(first), `no "smarthost started" log line\n${first.tail()}`);
  const stopStarted = Date.now();
  const firstExit = await first.stop('SIGTERM', 5000);
  const stopMs = Date.now() - stopStarted;
  t.diagnostic(`idle SIGTERM: exit ${JSON.stringify(firstExit)} after ${stopMs} ms`);
  assert.deepEqual(firstExit, { code: 0, signal: null }, `idle smarthost did not exit 0 within 5 s of SIGTERM\n${first.tail()}`);
  assert.ok(first.logs.some((l) => l.msg === 'smarthost stopped'), `no "smarthost stopped" log line\n${first.tail()}`);

  const out = first.lines.join('\n');
  assert.equal(out.split(banner).length - 1, 1, `the first credential banner should appear exactly once:\n${out}`);
  assert.match(out, /^ {2}username: smarthost$/m);
  const password = /^ {2}password: (\S+)$/m.exec(out)?.[1];
  assert.ok(password && password.length >= 16, `no generated password printed:\n${out}`);
  assert.ok(!first.logs.some((l) => JSON.stringify(l).includes(password)), 'the password appears in a log line');

  // Restart on the same data dir: the credential exists, nothing is printed again.
  const second = await spawnSmarthost(t, env, { readyPort: altPort, logFile: join(work.dir, 'smarthost-2.log') });
  assert.ok(await startedLogged(second), `no "smarthost started" log line after restart\n${second.tail()}`);
  const secondExit = await second.stop('SIGTERM', 5000);
  assert.deepEqual(secondExit, { code: 0, signal: null }, `restarted smarthost did not exit 0 within 5 s of SIGTERM\n${second.tail()}`);
  const out2 = second.lines.join('\n');
  assert.ok(!out2.includes(banner), `a restart printed a new first credential:\n${out2}`);
  assert.ok(!out2.includes(password), 'a restart printed the first password again');
  work.passed();
});
