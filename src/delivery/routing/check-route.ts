// One route's harmless check, bounded in time and never throwing: what
// `smarthost routes` prints and what SMARTHOST_ROUTE=auto picks by.
import type { RouteCheck, Transport } from '../outcome.ts';

export async function checkRoute(transport: Transport, timeoutMs: number): Promise<RouteCheck> {
  // A route without a check (a test transport) is taken at its word.
  if (!transport.check) return { ok: true, detail: 'no check available; assumed to work' };
  try {
    return await transport.check(AbortSignal.timeout(timeoutMs));
  } catch (err) {
    return { ok: false, detail: `the check failed: ${(err as Error).message}` };
  }
}
