// WAL checkpoints on a thread of their own. SQLite's automatic checkpoint runs
// inside the COMMIT that takes the WAL past 1,000 pages, on the event loop, and
// there fsyncs the WAL, then the database file: 4–7 ms in which no session was
// served, about every 140 messages of 4 KiB (README, Performance). Here a second
// connection, on a worker thread, checkpoints; SQLite still orders the syncs
// (synchronous=NORMAL: the WAL before pages are copied, the database after, and
// only then may the WAL be reused). The group commit holds its next batch
// meanwhile, so the checkpoint usually reaches the end of the WAL and the next
// commit starts it over from the top instead of growing it; that commit syncs
// the new WAL header on the event loop, as before (SQLite's own, once per restart).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Checkpoint after this many rows (accepted messages and delivery results), or this many bytes of messages,
 * whichever comes first: about SQLite's own 1,000 pages with 4 KiB messages (128 of them, each delivered once).
 */
export const EVERY_ROWS = 256;
const EVERY_BYTES = 4 * 2 ** 20;
/** And at least this often while batches come (writes outside the group commit are SQLite's to checkpoint). */
const EVERY_MS = 1000;

export interface Checkpointer {
  /** A batch was committed: `rows` messages and delivery results, with `bytes` of messages in all. */
  committed(rows: number, bytes: number): void;
  /** A checkpoint when one is due (undefined when not): the next batch waits for it. It never rejects. */
  due(): Promise<void> | undefined;
  close(): Promise<void>;
}

// Plain CommonJS (eval): it runs the same from the build and from the sources, and requires better-sqlite3 by path.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
parentPort.on('message', (m) => {
  if (m === 'close') {
    db?.close();
    parentPort.close();
    return;
  }
  try {
    if (!db) {
      db = new Database(workerData.path, { fileMustExist: true });
      db.pragma('synchronous = NORMAL');
      db.pragma('cache_size = -256'); // it reads the WAL's frames, not the tables
    }
    db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({});
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
});`;

/**
 * The worker starts with the first checkpoint: a CLI command that writes a row or two never starts it. When a
 * checkpoint fails, `onFailure` hears why and no more are made here: a failed checkpoint leaves the WAL as it
 * was (SQLite records progress only after the database file is synced), so the connection's own checkpoints,
 * as before this thread existed, can take over.
 */
export function startCheckpointer(path: string, onFailure: (err: Error) => void): Checkpointer {
  let worker: { thread: Worker; exited: Promise<void> } | undefined;
  let rows = 0;
  let bytes = 0;
  /** When the first write since the last checkpoint was committed. */
  let since: number | undefined;
  let running: { promise: Promise<void>; resolve: () => void } | undefined;
  let failed = false;
  let closing = false;
  const fail = (err: Error) => {
    const first = !failed;
    failed = true;
    running?.resolve();
    if (first) onFailure(err);
  };
  const start = () => {
    const thread = new Worker(WORKER, {
      eval: true,
      // Not the parent's flags: under --input-type=module an eval worker would be read as ESM.
      execArgv: [],
      workerData: { path, driver: createRequire(import.meta.url).resolve('better-sqlite3') },
    });
    // Held only while a checkpoint runs: a process that never closes its store may still exit when idle.
    thread.unref();
    thread.on('message', (m: { error?: string }) => {
      if (!closing) thread.unref();
      if (m.error !== undefined) fail(new Error(`WAL checkpoint failed: ${m.error}`));
      running?.resolve();
    });
    thread.on('error', (err) => fail(new Error(`the WAL checkpoint thread failed: ${String(err?.message ?? err)}`, { cause: err })));
    const exited = new Promise<void>((resolve) => thread.once('exit', () => {
      fail(new Error('the WAL checkpoint thread exited'));
      resolve();
    }));
    return { thread, exited };
  };

  return {
    committed(r, b) {
      rows += r;
      bytes += b;
      since ??= Date.now();
    },
    due() {
      if (running) return running.promise;
      if (failed || since === undefined || (rows < EVERY_ROWS && bytes < EVERY_BYTES && Date.now() - since < EVERY_MS)) return undefined;
      rows = bytes = 0;
      since = undefined;
      let resolve = () => {};
      const promise = new Promise<void>((r) => (resolve = r)).finally(() => (running = undefined));
      running = { promise, resolve };
      try {
        worker ??= start();
        worker.thread.ref();
        worker.thread.postMessage('checkpoint');
      } catch (err) {
        fail(new Error(`the WAL checkpoint thread failed: ${(err as Error).message}`, { cause: err }));
      }
      return promise;
    },
    async close() {
      failed = closing = true; // no checkpoint after this, and the thread's exit is no failure
      if (!worker) return;
      worker.thread.ref();
      worker.thread.postMessage('close');
      await worker.exited;
    },
  };
}
