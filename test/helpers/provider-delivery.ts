// Puts a message in the store as a provider route leaves it: each recipient 'delivered' (accepted by
// the provider's API) with the provider's message id on its event, and no scheduler able to touch it.
import { newMessageId } from '../../src/store/ids.ts';
import type { Store } from '../../src/store/store.ts';

export async function seedProviderDelivery(store: Store, opts: { route: string; providerMessageId: string; recipients: string[] }): Promise<string> {
  const id = newMessageId();
  // Due only in a day: the running scheduler never claims it; this test does, as the deliverer would.
  const createdAt = Date.now() + 86_400_000;
  await store.enqueue({
    id, sender: 'app@example.com', raw: Buffer.from('Subject: hi\r\n\r\nbody\r\n'), source: 'http', credential: 'app', clientAddress: '127.0.0.1',
    createdAt, recipients: opts.recipients.map((address) => ({ address, status: 'queued' as const })),
  });
  const claimed = (await store.claimDue({ now: createdAt, limit: 1000, leaseMs: 60_000, owner: 'seed' })).filter((r) => r.messageId === id);
  await store.recordResults(claimed.map((r) => ({
    recipientId: r.id, status: 'delivered', attempts: 1, lastReply: '250 2.0.0 accepted by the provider',
    event: { messageId: id, recipient: r.address, type: 'delivered', at: Date.now(), route: opts.route, providerMessageId: opts.providerMessageId },
  })), 'seed');
  return id;
}
