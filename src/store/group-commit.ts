// Group commit for the embedded store. better-sqlite3 writes on the event loop,
// so the transaction runs there, but its sync (fdatasync of the WAL) is handed to
// libuv's thread pool: sessions are served while the disk works. Writes that
// arrive while one batch is being synced wait for it and then share the next
// transaction and the next sync, so a busy server syncs once per batch, not per
// message. A durable write (an accepted message) is answered only after its
// batch is on disk; the others (delivery results) as soon as they are committed,
// as Postfix records a finished recipient without an fsync: a power cut may
// undo one, which only delivers that recipient again. A lazy sync soon after
// bounds that window when no durable write comes to sync them sooner.
export type BatchWriter<T> = (items: T[]) => void;

export interface GroupCommitOptions<T> {
  /** Makes everything committed so far durable. */
  sync: () => Promise<void>;
  /** Whether `item`'s caller must wait for the sync. */
  durable: (item: T) => boolean;
  /** How soon a lazy sync follows a commit that had no durable write. */
  lazySyncMs?: number;
  /**
   * Runs once a batch is settled (synced, or committed without a sync) with the items it committed; the next
   * batch waits for the promise it returns (a WAL checkpoint). A throw or rejection fails every later write, as a
   * failed sync does.
   */
  afterBatch?: (items: T[]) => Promise<void> | undefined;
}

export interface GroupCommit<T> {
  /** Resolves once `item` is committed (and synced, if durable); rejects with the write's or the sync's error. */
  write(item: T): Promise<void>;
  /** Resolves when everything written is committed and synced (before the database is closed). */
  close(): Promise<void>;
  /** The error of a failed sync, after which every write fails; undefined while syncs succeed. */
  failure(): unknown;
}

interface Waiter<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export function createGroupCommit<T>(writeBatch: BatchWriter<T>, { sync, durable, lazySyncMs = 1000, afterBatch }: GroupCommitOptions<T>): GroupCommit<T> {
  let pending: Waiter<T>[] = [];
  let running: Promise<void> | undefined;
  let lazyTimer: NodeJS.Timeout | undefined;
  let lazySync: Promise<void> | undefined;
  // After a failed sync the kernel may have dropped the unsynced pages while
  // reporting later syncs as clean (Linux marks them clean and keeps them
  // cached), and a lost WAL frame hides every frame after it. So a failed sync
  // fails every later write too: clients keep their mail and retry elsewhere or
  // later, until an operator has checked the disk (see README, Durability).
  let broken: unknown;

  /** Commits the batch; returns the callers whose items are in the database. */
  const commit = (batch: Waiter<T>[]): Waiter<T>[] => {
    try {
      writeBatch(batch.map((w) => w.item));
      return batch;
    } catch (err) {
      // A lock held by another process (SQLITE_BUSY, after busy_timeout) is no item's fault: retrying
      // each alone would wait busy_timeout again for every one of them, on the event loop.
      if (batch.length === 1 || (err as { code?: string }).code === 'SQLITE_BUSY') {
        for (const w of batch) w.reject(err);
        return [];
      }
      // One bad item must not fail its neighbours: retry each alone, so every
      // caller learns its own fate.
      return batch.filter((w) => {
        try {
          writeBatch([w.item]);
          return true;
        } catch (e) {
          w.reject(e);
          return false;
        }
      });
    }
  };

  const runLazySync = () => {
    lazyTimer = undefined;
    lazySync = sync().catch((err: unknown) => void (broken ??= err)).finally(() => (lazySync = undefined));
  };

  const run = async () => {
    // The rest of this event-loop turn joins the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      if (broken !== undefined) {
        for (const w of batch) w.reject(broken);
        continue;
      }
      const committed = commit(batch);
      const waiting = committed.filter((w) => durable(w.item));
      for (const w of committed) if (!durable(w.item)) w.resolve();
      if (waiting.length === 0) {
        if (committed.length > 0) lazyTimer ??= setTimeout(runLazySync, lazySyncMs).unref();
      } else {
        try {
          await sync();
          for (const w of waiting) w.resolve();
        } catch (err) {
          broken = err;
          for (const w of waiting) w.reject(err);
          continue;
        }
      }
      if (committed.length === 0 || !afterBatch) continue;
      try {
        const pause = afterBatch(committed.map((w) => w.item));
        if (pause) await pause;
      } catch (err) {
        broken ??= err;
      }
    }
    running = undefined;
  };

  let closed = false;
  return {
    write: (item) =>
      new Promise<void>((resolve, reject) => {
        if (closed) return reject(new Error('the store is closed'));
        pending.push({ item, resolve, reject });
        running ??= run();
      }),
    failure: () => broken,
    async close() {
      closed = true;
      while (running) await running;
      await lazySync;
      if (lazyTimer === undefined) return;
      clearTimeout(lazyTimer);
      runLazySync();
      await lazySync;
    },
  };
}
