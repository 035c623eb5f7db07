// Acting on one queued message: the one implementation behind `smarthost
// queue retry|delete` and POST /emails/{id}/retry, DELETE /emails/{id}.
import type { Store } from '../store/store.ts';
import { AdminError } from './admin-error.ts';

async function known(store: Store, id: string): Promise<void> {
  if (!(await store.getMessageSummary(id))) throw new AdminError('not_found', `no message ${id}`);
}

/** Makes every pending recipient due now (the scheduler is woken) and records who asked; returns how many. */
export async function retryNow(store: Store, id: string, now = Date.now()): Promise<number> {
  await known(store, id);
  const n = await store.retryMessage(id, now);
  if (n === 0) throw new AdminError('conflict', `message ${id} has no queued or deferred recipients`);
  await store.addEvent({ messageId: id, recipient: null, type: 'retry', at: now, detail: 'retry requested by operator' });
  return n;
}

/**
 * Takes the message's pending recipients out of the queue; the message, its delivered recipients and its
 * history stay. A delivery already in flight may still reach the recipient; its result is logged, not applied.
 */
export async function cancelPending(store: Store, id: string, now = Date.now()): Promise<number> {
  await known(store, id);
  const n = await store.cancelMessage(id, now);
  if (n === 0) throw new AdminError('conflict', `message ${id} has no queued or deferred recipients`);
  return n;
}

/** Removes the message, its recipients and its events for good (`smarthost queue delete --purge`). */
export async function purgeMessage(store: Store, id: string): Promise<void> {
  if (!(await store.deleteMessage(id))) throw new AdminError('not_found', `no message ${id}`);
}
