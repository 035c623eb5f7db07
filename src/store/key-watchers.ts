// Store.watchDomainKeys for both adapters: the listeners hear every change of
// domain keys made through this store, after it ends.
export class KeyWatchers {
  private readonly listeners = new Set<() => void>();

  watch(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** `write`, announced when it ends: after a failure too, since a listener only drops what it cached. */
  announcing<A extends unknown[], R>(write: (...a: A) => Promise<R>): (...a: A) => Promise<R> {
    return async (...a) => {
      try {
        return await write(...a);
      } finally {
        for (const l of [...this.listeners]) l();
      }
    };
  }
}
