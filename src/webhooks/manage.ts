// Managing webhook endpoints after they exist: their health, deliveries one by
// one, replaying one, rotating the signing secret, removing. The one
// implementation behind `smarthost webhooks` and /webhooks.
import { AdminError } from '../admin/admin-error.ts';
import type { Store, WebhookDeliveryRecord, WebhookStatus } from '../store/store.ts';
import { newWebhookSecret } from './sign.ts';

/** Consecutive failed attempts (newest first) from which an endpoint counts as failing. */
export const FAILING_AFTER = 3;
/** How many recent attempts health looks at: bounded work per endpoint per listing. */
const RECENT_ATTEMPTS = 20;

export interface WebhookHealth extends WebhookStatus {
  /** Failed attempts since the last success, counted over the recent attempts (at most RECENT_ATTEMPTS). */
  consecutiveFailures: number;
  /** The newest successful attempt among the recent ones; null when none. */
  lastSuccessAt: number | null;
  failing: boolean;
}

export async function listWebhookHealth(store: Store): Promise<WebhookHealth[]> {
  return Promise.all((await store.listWebhooks()).map(async (w) => {
    const recent = await store.listWebhookAttempts(w.id, RECENT_ATTEMPTS);
    const lastSuccess = recent.findIndex((a) => a.outcome === 'delivered');
    const consecutiveFailures = lastSuccess === -1 ? recent.length : lastSuccess;
    return {
      ...w, consecutiveFailures, lastSuccessAt: lastSuccess === -1 ? null : recent[lastSuccess]!.at, failing: consecutiveFailures >= FAILING_AFTER,
    };
  }));
}

async function known(store: Store, id: string): Promise<void> {
  if (!(await store.listWebhooks()).some((w) => w.id === id)) throw new AdminError('not_found', `no webhook ${id}`);
}

export async function webhookDeliveries(store: Store, id: string, q: { limit: number; before?: number }): Promise<WebhookDeliveryRecord[]> {
  await known(store, id);
  return store.listWebhookDeliveries(id, q);
}

/** Sends again what failed (and, with `since`, what was delivered since then); returns how many. */
export async function replayFailed(store: Store, id: string, since?: number, now = Date.now()): Promise<number> {
  await known(store, id);
  return store.replayWebhook(id, now, since);
}

/** Queues one delivery of this endpoint again, due now, whatever became of it. */
export async function replayDelivery(store: Store, id: string, deliveryId: number, now = Date.now()): Promise<void> {
  await known(store, id);
  if (!(await store.replayWebhookDelivery(id, deliveryId, now))) throw new AdminError('not_found', `webhook ${id} has no delivery ${deliveryId}`);
}

/** A new whsec_ secret, returned once; every delivery claimed from now on is signed with it. */
export async function rotateSecret(store: Store, id: string): Promise<string> {
  const secret = newWebhookSecret();
  if (!(await store.setWebhookSecret(id, secret))) throw new AdminError('not_found', `no webhook ${id}`);
  return secret;
}

export async function removeWebhook(store: Store, id: string): Promise<void> {
  if (!(await store.removeWebhook(id))) throw new AdminError('not_found', `no webhook ${id}`);
}
