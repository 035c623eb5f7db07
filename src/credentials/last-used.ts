// "Last used" for API keys and credentials without a write per message: each
// process writes a principal's time at most once a minute (the memo below),
// and the store's UPDATE skips rows another node stamped within the minute.
import type { Principal } from '../accept/accept.ts';
import type { Store } from '../store/store.ts';

const INTERVAL_MS = 60_000;
const stamped = new WeakMap<Store, Map<string, number>>();

/** Records that `p` authenticated now; a store error is swallowed: it must never refuse a login. */
export async function noteUse(store: Store, p: Principal, now = Date.now()): Promise<void> {
  let seen = stamped.get(store);
  if (!seen) stamped.set(store, (seen = new Map()));
  const key = `${p.kind}:${p.id}`;
  if (now - (seen.get(key) ?? -Infinity) < INTERVAL_MS) return;
  seen.set(key, now);
  await (p.kind === 'key' ? store.touchApiKey(p.id, now) : store.touchCredential(p.id, now)).catch(() => {});
}
