// Group commit: writes that arrive in the same event-loop turn share one
// transaction (one fsync), and each caller is answered only after it commits.
export type BatchWriter<T> = (items: T[]) => void;

export function createGroupCommit<T>(writeBatch: BatchWriter<T>): (item: T) => Promise<void> {
  let pending: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];

  const flush = () => {
    const batch = pending;
    pending = [];
    try {
      writeBatch(batch.map((p) => p.item));
      for (const p of batch) p.resolve();
    } catch {
      // One bad item must not fail its neighbours: retry each alone, so every
      // caller learns its own fate.
      for (const p of batch) {
        try {
          writeBatch([p.item]);
          p.resolve();
        } catch (err) {
          p.reject(err);
        }
      }
    }
  };

  return (item: T) =>
    new Promise<void>((resolve, reject) => {
      if (pending.length === 0) setImmediate(flush);
      pending.push({ item, resolve, reject });
    });
}
