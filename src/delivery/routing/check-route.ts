// One route's harmless check, bounded in time and never throwing: what
// `smarthost routes` prints and what SMARTHOST_ROUTE=auto picks by.
import type { RouteCheck, Transport } from '../outcome.ts';

// An SMTP check is several bounded steps (connect, greeting, EHLO, TLS, EHLO, AUTH):
// the whole check gets a few step limits, so a step's own time-out is what it reports.
const STEPS = 4;

/** `stepMs` bounds each step (SMARTHOST_ROUTE_PROBE_TIMEOUT); the whole check is cut off at a few of them. */
export async function checkRoute(transport: Transport, stepMs: number): Promise<RouteCheck> {
  // A route without a check (a test transport) is taken at its word.
  if (!transport.check) return { ok: true, detail: 'no check available; assumed to work' };
  try {
    return await transport.check(AbortSignal.timeout(stepMs * STEPS));
  } catch (err) {
    return { ok: false, detail: `the check failed: ${(err as Error).message}` };
  }
}
