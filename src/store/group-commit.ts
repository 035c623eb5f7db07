// Group commit for the embedded store. better-sqlite3 writes on the event loop,
// so the transaction runs there, but its sync (fdatasync of the WAL) is handed to
// libuv's thread pool: sessions are served while the disk works. Writes that
// arrive while one batch is being synced wait for it and then share the next
// transaction and the next sync, so a busy server syncs once per batch, not per
// message. Each caller is answered only after its batch is on disk.
export type BatchWriter<T> = (items: T[]) => void;

export interface GroupCommit<T> {
  /** Resolves once `item` is committed and synced; rejects with the write's or the sync's error. */
  write(item: T): Promise<void>;
  /** Resolves when nothing is being written or synced (before the database is closed). */
  idle(): Promise<void>;
}

interface Waiter<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export function createGroupCommit<T>(writeBatch: BatchWriter<T>, sync: () => Promise<void>): GroupCommit<T> {
  let pending: Waiter<T>[] = [];
  let running: Promise<void> | undefined;
  // After a failed sync the kernel may have dropped the unsynced pages while
  // reporting later syncs as clean (Linux marks them clean either way), and a
  // lost WAL frame hides every frame after it. So a failed sync fails every
  // later write too: clients keep their mail and retry, until a restart
  // recovers the database from what is really on disk.
  let broken: unknown;

  /** Commits the batch; returns the callers whose items are in the database. */
  const commit = (batch: Waiter<T>[]): Waiter<T>[] => {
    try {
      writeBatch(batch.map((w) => w.item));
      return batch;
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err), [];
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
      if (committed.length === 0) continue;
      try {
        await sync();
        for (const w of committed) w.resolve();
      } catch (err) {
        broken = err;
        for (const w of committed) w.reject(err);
      }
    }
    running = undefined;
  };

  return {
    write: (item) =>
      new Promise<void>((resolve, reject) => {
        pending.push({ item, resolve, reject });
        running ??= run();
      }),
    idle: () => running ?? Promise.resolve(),
  };
}
