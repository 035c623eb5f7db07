// More than one accept per turn of the event loop. Since libuv 1.45 (Node 20) a
// listening socket's watcher accepts one connection per turn (libuv#3696), so
// clients that open a connection per message (PHP's mail(), most CMSs) queue in
// the kernel's accept queue while the turn serves every other session: at 20
// such clients a new connection waited ~6 ms for its greeting against ~0.6 ms
// for a reply on an open one (README, Performance). Each extra descriptor of the
// same socket gets a watcher of its own, and each watcher accepts one per turn.
// Node 20 has no dup(2) and no SO_REUSEPORT (`reusePort` came in Node 22.12), so
// the descriptors come the way Node's cluster hands a listening socket to its
// workers: sent to a short-lived helper over IPC and sent back, each copy arriving
// as a new descriptor. The helper never listens or accepts: a raw handle, not a
// net.Server, crosses the channel.
import { spawn } from 'node:child_process';
import { Server, type Socket } from 'node:net';

/** Accepts per turn: 4 gave the lowest latency with 20 clients connecting per message (1, 2, 4 and 8 measured). */
export const ACCEPTS_PER_TURN = 4;

const HELPER = `
process.on('message', (m, handle) => {
  let left = m.copies;
  const next = () => { if (left-- > 0) process.send({ index: m.index }, handle, next); };
  next();
});`;

type Listening = Server & { _handle?: object | null };

export interface AcceptWatcherOptions {
  /** Descriptors to add to each server (the server's own is the first). */
  extra?: number;
  timeoutMs?: number;
  /** The Node.js binary that runs the helper (tests give a missing one). */
  execPath?: string;
}

/**
 * Adds watchers to listening servers: connections they accept reach the server's own 'connection' listeners.
 * Resolves to the extra servers, which the caller closes with the originals; on any failure to none (the
 * servers go on with one watcher each) after `onFailure` heard why.
 */
export async function addAcceptWatchers(servers: Server[], onFailure: (err: Error) => void, o: AcceptWatcherOptions = {}): Promise<Server[]> {
  const extra = o.extra ?? ACCEPTS_PER_TURN - 1;
  const handles = servers.map((s) => (s as Listening)._handle);
  if (extra <= 0 || servers.length === 0) return [];
  if (handles.some((h) => !h)) {
    onFailure(new Error('a server is not listening'));
    return [];
  }
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // no preloads (tsx, profilers) in a helper that only passes descriptors back
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(o.execPath ?? process.execPath, ['-e', HELPER], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], env, serialization: 'json' });
  } catch (err) {
    onFailure(new Error(`could not start the accept helper: ${(err as Error).message}`));
    return [];
  }
  const received: Server[] = [];
  const wanted = servers.length * extra;
  const outcome = await new Promise<Error | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(new Error(`the accept helper sent ${received.length} of ${wanted} descriptors in ${o.timeoutMs ?? 10_000} ms`)), o.timeoutMs ?? 10_000);
    const done = (err?: Error) => {
      clearTimeout(timer);
      resolve(err);
    };
    // `on`, not `once`: a failed spawn can be followed by an error of its closing channel.
    child.on('error', (err) => done(new Error(`the accept helper failed: ${err.message}`)));
    child.once('exit', (code) => done(new Error(`the accept helper exited (${code}) after ${received.length} of ${wanted} descriptors`)));
    child.on('message', (m: { index: number }, handle: unknown) => {
      const original = servers[m.index];
      if (!original || !handle) return;
      received.push(watcherFor(original, handle));
      if (received.length === wanted) done();
    });
    try {
      handles.forEach((h, index) => child.send({ index, copies: extra }, h as never));
    } catch (err) {
      done(new Error(`could not pass a listening socket to the accept helper: ${(err as Error).message}`));
    }
  });
  if (child.connected) child.disconnect();
  if (child.exitCode === null) child.kill();
  if (outcome) {
    await Promise.all(received.map((s) => new Promise((resolve) => s.close(resolve))));
    onFailure(outcome);
    return [];
  }
  return received;
}

/** A server on another descriptor of `original`'s socket, handing what it accepts to `original`. */
function watcherFor(original: Server, handle: unknown): Server {
  const o = original as Server & { allowHalfOpen?: boolean; pauseOnConnect?: boolean; noDelay?: boolean; keepAlive?: boolean };
  const watcher = new Server({ allowHalfOpen: o.allowHalfOpen, pauseOnConnect: o.pauseOnConnect, noDelay: o.noDelay, keepAlive: o.keepAlive });
  watcher.on('connection', (socket: Socket) => original.emit('connection', socket));
  // Errors of the shared socket reach the original's own watcher as well; this one only stops.
  watcher.on('error', () => watcher.close());
  watcher.listen(handle as never);
  return watcher;
}
