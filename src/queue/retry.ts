// "Retry now", the same for the CLI (`queue retry`) and the dashboard: make the
// message's pending recipients due and note who asked in its events.
import type { Store } from '../store/store.ts';

/** Returns how many recipients became due (0: none was pending, nothing recorded). */
export async function retryNow(store: Store, id: string, now = Date.now()): Promise<number> {
  const n = await store.retryMessage(id, now);
  if (n) await store.addEvent({ messageId: id, recipient: null, type: 'retry', at: now, detail: 'retry requested by operator' });
  return n;
}
