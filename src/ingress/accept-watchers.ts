// More than one accept per turn of the event loop. Since libuv 1.45 (Node 20) a
// listening socket's watcher accepts one connection per turn (libuv#3696), so
// clients that open a connection per message (PHP's mail(), most CMSs) queue in
// the kernel's accept queue while the turn serves every other session: at 20
// such clients a new connection waited ~6 ms for its greeting against ~0.6 ms
// for a reply on an open one (README, Performance). Each extra descriptor of the
// same socket gets a watcher of its own, and each watcher accepts one per turn.
// Node 20 has no dup(2) and no SO_REUSEPORT (`reusePort` came in Node 22.12), so
// the descriptors come the way Node's cluster (scheduling 'none') hands a listening
// socket to its workers: sent to a short-lived helper over IPC and sent back, each
// copy arriving as a new descriptor. The helper never listens or accepts: a raw
// handle, not a net.Server, crosses the channel.
import { spawn, type ChildProcess } from 'node:child_process';
import { Server, type Socket } from 'node:net';

/** Accepts per turn: with 20 clients connecting per message, 4 and 8 gave the lowest latency, 2 less so (README). */
export const ACCEPTS_PER_TURN = 4;

const HELPER = `
process.on('message', (m, handle) => {
  let left = m.copies;
  const next = () => { if (left-- > 0) process.send({ index: m.index }, handle, next); };
  next();
});`;

type Listening = Server & { _handle?: object | null };
/** net.Server counts its sessions on the server whose descriptor accepted them (Node 20's net.js). */
type Counted = Server & { _connections: number };

export interface AcceptWatcherOptions {
  timeoutMs?: number;
  /** The Node.js binary that runs the helper (tests give a missing or a silent one). */
  execPath?: string;
}

/**
 * Adds ACCEPTS_PER_TURN - 1 watchers to each listening server: what they accept reaches the server's own
 * 'connection' listeners and counts as the server's. Resolves to the extra servers, which the caller closes
 * with (before) the originals; on any failure to none (the servers go on with one watcher each) after
 * `onFailure` heard why.
 */
export async function addAcceptWatchers(servers: Server[], onFailure: (err: Error) => void, o: AcceptWatcherOptions = {}): Promise<Server[]> {
  const extra = ACCEPTS_PER_TURN - 1;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const handles = servers.map((s) => (s as Listening)._handle);
  if (servers.length === 0) return [];
  if (handles.some((h) => !h)) {
    onFailure(new Error('a server is not listening'));
    return [];
  }
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // no preloads (tsx, profilers) in a helper that only passes descriptors back
  let child: ChildProcess;
  try {
    // Most failures to start come as an 'error' event; some (EPERM under seccomp, say) are thrown.
    child = spawn(o.execPath ?? process.execPath, ['-e', HELPER], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], env });
  } catch (err) {
    onFailure(new Error(`could not start the accept helper: ${(err as Error).message}`));
    return [];
  }
  const received: Server[] = [];
  const wanted = servers.length * extra;
  const outcome = await new Promise<Error | undefined>((resolve) => {
    let settled = false;
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.removeAllListeners('message').removeAllListeners('exit');
      // Copies already read from the channel still arrive: closed, so none keeps the socket listening.
      child.on('message', (_m, handle) => (handle as { close?: () => void } | undefined)?.close?.());
      resolve(err);
    };
    const timer = setTimeout(() => done(new Error(`the accept helper sent ${received.length} of ${wanted} descriptors in ${timeoutMs} ms`)), timeoutMs);
    // Kept after the outcome: a failed spawn can be followed by an error of its closing channel.
    child.on('error', (err) => done(new Error(`the accept helper failed: ${err.message}`)));
    child.on('exit', (code, signal) => done(new Error(`the accept helper exited (${signal ?? code}) after ${received.length} of ${wanted} descriptors`)));
    child.on('message', (m: { index: number }, handle: unknown) => {
      const original = servers[m.index];
      if (!original || !handle) return;
      const watcher = watcherFor(original, handle);
      received.push(watcher);
      // A failed listen leaves the server without a handle at once (net.js), its error follows on the next tick.
      if (!watcher.listening) return done(new Error('a copy of a listening socket would not listen'));
      if (received.length === wanted) done();
    });
    try {
      handles.forEach((h, index) => child.send({ index, copies: extra }, h as never));
    } catch (err) {
      done(new Error(`could not pass a listening socket to the accept helper: ${(err as Error).message}`));
    }
  });
  await stop(child);
  if (outcome) {
    for (const w of received) w.close();
    onFailure(outcome);
    return [];
  }
  return received;
}

/** The helper gone, and with it its copies of the sockets: a closed server must not go on listening through them. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.connected) child.disconnect();
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill();
  const killed = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(killed);
}

/** A server on another descriptor of `original`'s socket, handing what it accepts to `original`. */
function watcherFor(original: Server, handle: unknown): Server {
  const settings = original as Server & { allowHalfOpen?: boolean; pauseOnConnect?: boolean; noDelay?: boolean; keepAlive?: boolean };
  const watcher = new Server({ allowHalfOpen: settings.allowHalfOpen, pauseOnConnect: settings.pauseOnConnect, noDelay: settings.noDelay, keepAlive: settings.keepAlive });
  watcher.on('connection', (socket: Socket & { server: Server; _server: Server }) => {
    // The session counts as the original's, as if its own descriptor had accepted it: its close() (and so
    // smtp-server's grace period) waits for it, and a closed session is taken off the original's count.
    (watcher as Counted)._connections--;
    (original as Counted)._connections++;
    socket.server = socket._server = original;
    original.emit('connection', socket);
  });
  // An accept that failed (EMFILE, say) is the listener's error, as on the original's own descriptor.
  watcher.on('error', (err) => original.emit('error', err));
  watcher.listen(handle as never);
  return watcher;
}
