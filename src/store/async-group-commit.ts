// Group commit for an asynchronous store (PostgreSQL): writes that arrive in
// the same event-loop turn share one transaction, and each caller is answered
// only after that transaction commits. Unlike the synchronous variant in
// group-commit.ts, batches may overlap: while one commits, the next turn's
// writes start their own transaction on another pooled connection.
export type AsyncBatchWriter<T> = (items: T[]) => Promise<void>;

export function createAsyncGroupCommit<T>(writeBatch: AsyncBatchWriter<T>): (item: T) => Promise<void> {
  let pending: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];

  const flush = async () => {
    const batch = pending;
    pending = [];
    try {
      await writeBatch(batch.map((p) => p.item));
      for (const p of batch) p.resolve();
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      // One bad item must not fail its neighbours: retry each alone, so every
      // caller learns its own fate.
      await Promise.all(batch.map((p) => writeBatch([p.item]).then(p.resolve, p.reject)));
    }
  };

  return (item: T) =>
    new Promise<void>((resolve, reject) => {
      if (pending.length === 0) setImmediate(() => void flush());
      pending.push({ item, resolve, reject });
    });
}
