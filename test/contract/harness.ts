// What the contract files share: a test on a fresh store of the adapter under test, and a message to enqueue.
import { test } from 'node:test';
import { newMessageId } from '../../src/store/ids.ts';
import type { NewMessage, Store } from '../../src/store/store.ts';
import type { StoreFactory } from './store.ts';

/** `withStore(title, fn)`: a test named after the adapter, on a store opened for it and closed after. */
export function storeTests(name: string, factory: StoreFactory) {
  return (title: string, fn: (s: Store) => Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const s = await factory.open();
      try {
        await fn(s);
      } finally {
        await s.close();
      }
    });
}

export const msg = (over: Partial<NewMessage> = {}): NewMessage => ({
  id: newMessageId(), sender: 'app@example.com', raw: Buffer.from('Subject: x\r\n\r\nbody\r\n'),
  recipients: [{ address: 'a@example.org', status: 'queued' }], source: 'smtp', credential: 'app', clientAddress: '127.0.0.1',
  createdAt: 1_000, ...over,
});
