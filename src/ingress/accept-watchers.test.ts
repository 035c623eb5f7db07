import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { listenerDescriptors } from '../../test/helpers/listener-descriptors.ts';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { ACCEPTS_PER_TURN, addAcceptWatchers } from './accept-watchers.ts';

async function listening(t: TestContext): Promise<{ server: Server; port: number; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const server = createServer((s) => {
    accepted.push(s);
    s.end('220 hello\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return { server, port: (server.address() as { port: number }).port, accepted };
}

/**
 * Holds the event loop until the connects just made are in the kernel's accept queue. net.connect to an
 * IP literal connects on the next tick, and ticks run in order: one more tick comes after them all.
 */
async function queued(): Promise<void> {
  await new Promise((resolve) => process.nextTick(resolve));
  const until = Date.now() + 100;
  while (Date.now() < until);
}

/** Waits (at most 5 s) until `done()`. */
async function until(done: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > end) assert.fail(`not within 5 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Accept helpers among this process's children (not tsx's esbuild service): none once addAcceptWatchers has settled. */
const helpers = () => readdirSync('/proc/self/task')
  .flatMap((task) => readFileSync(`/proc/self/task/${task}/children`, 'utf8').split(' ').filter(Boolean))
  .filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('copies');
    } catch {
      return false; // gone since the listing
    }
  });

const closeAll = (servers: Server[]) => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));

function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1');
    let text = '';
    c.setEncoding('latin1');
    c.on('data', (d: string) => (text += d));
    c.on('end', () => resolve(text));
    c.on('error', reject);
  });
}

test('the extra watchers accept several queued connections in one turn of the event loop, and hand them to the server', async (t) => {
  const { server, port, accepted } = await listening(t);
  const failures: Error[] = [];
  const watchers = await addAcceptWatchers([server], (err) => failures.push(err));
  t.after(() => closeAll(watchers));
  assert.deepEqual(failures, []);
  assert.deepEqual(helpers(), [], 'the helper has exited');
  assert.equal(watchers.length, ACCEPTS_PER_TURN - 1);
  assert.equal(listenerDescriptors(port), ACCEPTS_PER_TURN);

  // Turns of the event loop, counted in its check phase; each accepted connection notes the turn it came in.
  let turn = 0;
  let counting = true;
  const count = () => {
    turn++;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  const turns: number[] = [];
  server.on('connection', () => turns.push(turn));
  const clients = Array.from({ length: 8 }, () => greeting(port));
  await queued();
  const replies = await Promise.all(clients);
  counting = false;

  assert.deepEqual(replies, Array(8).fill('220 hello\r\n'), 'every connection reached the server\'s own listener');
  assert.equal(accepted.length, 8);
  const perTurn = new Map<number, number>();
  for (const n of turns) perTurn.set(n, (perTurn.get(n) ?? 0) + 1);
  // One watcher accepts one connection per turn: without the extra ones this would be 1.
  assert.equal(Math.max(...perTurn.values()), ACCEPTS_PER_TURN, `connections per turn: ${[...perTurn.values()].join(', ')}`);
});

test('a session accepted by an extra watcher counts as the server\'s: its close() waits for every session', async (t) => {
  const held: Socket[] = [];
  const server = createServer((s) => held.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const watchers = await addAcceptWatchers([server], (err) => assert.fail(err));
  const clients = Array.from({ length: 8 }, () => connect(port, '127.0.0.1').on('error', () => {}));
  t.after(() => {
    for (const s of [...clients, ...held]) s.destroy();
    for (const s of [...watchers, server]) if (s.listening) s.close();
  });
  await queued();
  await until(() => held.length === 8, 'eight sessions accepted');
  const count = await new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  assert.equal(count, 8, 'all eight counted on the server, whichever descriptor accepted them');

  let closed = false;
  for (const w of watchers) w.close();
  server.close(() => (closed = true));
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(closed, false, 'close() waits while sessions are open');
  for (const s of held) s.destroy();
  await until(() => closed, 'close() called back once the sessions ended');
});

test('closing the extra watchers and the server closes the socket: nothing listens on the port any more', async (t) => {
  const { server, port } = await listening(t);
  const watchers = await addAcceptWatchers([server], (err) => assert.fail(err));
  assert.equal(await greeting(port), '220 hello\r\n');
  await closeAll([...watchers, server]);
  assert.equal(listenerDescriptors(port), 0);
  await assert.rejects(greeting(port), { code: 'ECONNREFUSED' });
});

test('only the server\'s own descriptor closed: the extra watchers still accept, so the ingress closes them first', async (t) => {
  const { server, port } = await listening(t);
  const watchers = await addAcceptWatchers([server], (err) => assert.fail(err));
  t.after(() => closeAll(watchers));
  await closeAll([server]);
  assert.equal(listenerDescriptors(port), ACCEPTS_PER_TURN - 1);
  assert.equal(await greeting(port), '220 hello\r\n');
});

test('when the helper cannot start, cannot run, exits, does not answer, or the server is not listening: no extra watchers, a reason, and the server serves as before', async (t) => {
  const { server, port } = await listening(t);
  const dir = tempDir(t, 'accept-watchers');
  const silent = join(dir, 'silent-node');
  // A node that never answers; the helper's code stays on its command line (after --), where helpers() looks.
  writeFileSync(silent, `#!/bin/sh\nexec ${process.execPath} -e 'setTimeout(() => {}, 30000)' -- "$@"\n`);
  chmodSync(silent, 0o755);
  const reasons: string[] = [];
  const note = (err: Error) => reasons.push(err.message);

  assert.deepEqual(await addAcceptWatchers([server], note, { execPath: join(dir, 'no-such-node') }), []);
  assert.match(reasons.pop() ?? '', /^the accept helper failed: spawn .*no-such-node ENOENT$/);

  // spawn() throws this one instead of emitting it, as it does EPERM under seccomp.
  assert.deepEqual(await addAcceptWatchers([server], note, { execPath: 'no\0de' }), []);
  assert.equal(reasons.pop(), "could not start the accept helper: The argument 'file' must be a string without null bytes. Received 'no\\x00de'");

  const started = Date.now();
  assert.deepEqual(await addAcceptWatchers([server], note, { execPath: silent, timeoutMs: 300 }), []);
  assert.equal(reasons.pop(), `the accept helper sent 0 of ${ACCEPTS_PER_TURN - 1} descriptors in 300 ms`);
  assert.ok(Date.now() - started < 5000, 'the silent helper was not waited for past the time limit');

  const quitter = join(dir, 'quitting-node');
  writeFileSync(quitter, '#!/bin/sh\nexit 3\n');
  chmodSync(quitter, 0o755);
  assert.deepEqual(await addAcceptWatchers([server], note, { execPath: quitter }), []);
  assert.equal(reasons.pop(), `the accept helper exited (3) after 0 of ${ACCEPTS_PER_TURN - 1} descriptors`);

  const idle = createServer();
  assert.deepEqual(await addAcceptWatchers([idle], note), []);
  assert.equal(reasons.pop(), 'a server is not listening');

  assert.deepEqual(reasons, []);
  assert.deepEqual(helpers(), [], 'no helper left running');
  assert.equal(listenerDescriptors(port), 1);
  assert.equal(await greeting(port), '220 hello\r\n');
});
