// smtp-server has no brute-force limit: AUTH failures are counted per client
// address in the store, so every node sharing it sees the same lockout
// (counting per connection stays in the session, see server.ts). The window is a
// fixed one of the configured length (see ../../store/rate-windows.ts).
import { isIPv4, isIPv6 } from 'node:net';
import type { Store } from '../../store/store.ts';

/**
 * Who is counted: an IPv4 address as is (also when reported as ::ffff:a.b.c.d), an IPv6 address by its
 * /64 — one subscriber usually holds a whole /64 and could otherwise rotate addresses for endless tries.
 */
export function authFailureClient(ip: string): string {
  const plain = ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  if (isIPv4(plain) || !isIPv6(plain)) return plain;
  // An embedded IPv4 tail (…:1.2.3.4) is two groups; `::` stands for the zero groups left over.
  const groups = (part: string | undefined) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const [head, tail] = plain.split('%')[0]!.split('::');
  const left = groups(head);
  const right = groups(tail);
  const full = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${full.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

export interface AuthThrottle {
  /** True while the client has reached the limit within the window. */
  locked(ip: string, now?: number): Promise<boolean>;
  /** Counts a failure; true when the client has now reached the limit. */
  recordFailure(ip: string, now?: number): Promise<boolean>;
}

/** `scope` keeps separate counts for another login (the dashboard's), so one cannot lock out the other. */
export function storeAuthThrottle(store: Store, limit: number, windowMs: number, scope = ''): AuthThrottle {
  const client = (ip: string) => scope + authFailureClient(ip);
  return {
    locked: async (ip, now = Date.now()) => (await store.authFailures(client(ip), now, windowMs)) >= limit,
    recordFailure: async (ip, now = Date.now()) => (await store.addAuthFailure(client(ip), now, windowMs)) >= limit,
  };
}
