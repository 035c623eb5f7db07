// WAL checkpoints on a thread of their own. SQLite's automatic checkpoint runs
// inside the COMMIT that takes the WAL past 1,000 pages, on the event loop, and
// there fsyncs the WAL, then the database file: 4–7 ms in which no session was
// served, about every 140 messages of 4 KiB, and the slowest messages of a
// busy node were the ones in flight then (README, Performance). Here a second
// connection, on a worker thread, checkpoints; SQLite still orders the syncs
// (synchronous=NORMAL: the WAL before pages are copied, the database after).
// The group commit holds its next batch meanwhile, so the checkpoint usually
// reaches the end of the WAL and the next commit starts it over from the top
// instead of growing it.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Checkpoint after this many rows (accepted messages and delivery results), or this many bytes of messages,
 * whichever comes first: about SQLite's own 1,000 pages with 4 KiB messages (128 of them, each delivered once).
 */
const EVERY_ROWS = 256;
const EVERY_BYTES = 4 * 2 ** 20;
/** And at least this often while anything is written. */
const EVERY_MS = 1000;

export interface Checkpointer {
  /** A batch was committed: `rows` messages and delivery results, with `bytes` of messages in all. */
  committed(rows: number, bytes: number): void;
  /** A checkpoint when one is due (undefined when not): the next batch waits for it. Rejects when it failed. */
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
    parentPort.postMessage({ result: db.pragma('wal_checkpoint(PASSIVE)')[0] });
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err), code: err && err.code });
  }
});`;

/** The worker starts with the first checkpoint: a CLI command that writes a row or two never starts it. */
export function startCheckpointer(path: string): Checkpointer {
  let worker: { thread: Worker; exited: Promise<void> } | undefined;
  let rows = 0;
  let bytes = 0;
  /** When the first write since the last checkpoint was committed. */
  let since: number | undefined;
  let pending: { resolve: () => void; reject: (err: Error) => void } | undefined;
  let failed: Error | undefined;
  const fail = (err: Error) => {
    failed ??= err;
    pending?.reject(err);
    pending = undefined;
  };
  const start = () => {
    const thread = new Worker(WORKER, {
      eval: true,
      // Not the parent's flags: under --input-type=module an eval worker would be read as ESM.
      execArgv: [],
      workerData: { path, driver: createRequire(import.meta.url).resolve('better-sqlite3') },
    });
    thread.on('message', (m: { result: unknown } | { error: string; code?: string }) => {
      if ('error' in m) return fail(Object.assign(new Error(`WAL checkpoint failed: ${m.error}`), { code: m.code }));
      pending?.resolve();
      pending = undefined;
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
      if (failed) return Promise.reject(failed);
      if (since === undefined || (rows < EVERY_ROWS && bytes < EVERY_BYTES && Date.now() - since < EVERY_MS)) return undefined;
      rows = bytes = 0;
      since = undefined;
      worker ??= start();
      const { thread } = worker;
      return new Promise<void>((resolve, reject) => {
        pending = { resolve, reject };
        thread.postMessage('checkpoint');
      });
    },
    async close() {
      if (!worker) return;
      worker.thread.postMessage('close');
      await worker.exited;
    },
  };
}
