// Fixed-window send counting, shared by both store adapters: a principal's
// messages are counted per clock minute and per UTC day in `rate_counters`,
// and this decides whether more fit and when the window that is full ends.

export const WINDOW_MS = { minute: 60_000, day: 86_400_000 } as const;
export type WindowName = keyof typeof WINDOW_MS;

export interface SendLimits {
  perMinute?: number;
  perDay?: number;
}

export type SendAllowance = { ok: true } | { ok: false; retryAfterMs: number; limit: WindowName };

/** Messages counted in the windows that hold `now`. */
export type SendCounts = Record<WindowName, number>;

/** Start of the fixed window of `lengthMs` holding `now` (windows are aligned to the epoch). */
export const fixedWindowStart = (lengthMs: number, now: number): number => now - (now % lengthMs);

/** Start of the window holding `now`: the minute, or UTC midnight (epoch milliseconds count no leap seconds). */
export const windowStart = (name: WindowName, now: number): number => fixedWindowStart(WINDOW_MS[name], now);

// AUTH failures share the table: one row per client under principal `authfail:<client>`, counted in a
// fixed window of the configured length (SMARTHOST_AUTH_FAILURE_WINDOW) rather than a sliding one, so a
// client straddling a window boundary may get up to twice the limit before the lockout.
export const authFailPrincipal = (client: string): string => `authfail:${client}`;
export const AUTH_FAILURE_WINDOW = 'auth-failures';

/** The windows a limit is set for: only those are counted, so principals without limits cost no writes. */
export function limitedWindows(limits: SendLimits): WindowName[] {
  return [...(limits.perMinute !== undefined ? ['minute' as const] : []), ...(limits.perDay !== undefined ? ['day' as const] : [])];
}

/** Whether `adding` more messages fit. The day is checked first: when both are full, its end is the later retry time. */
export function allowance(counts: SendCounts, limits: SendLimits, now: number, adding = 1): SendAllowance {
  const max: Record<WindowName, number | undefined> = { minute: limits.perMinute, day: limits.perDay };
  for (const name of ['day', 'minute'] as const) {
    const limit = max[name];
    if (limit !== undefined && counts[name] + adding > limit)
      return { ok: false, limit: name, retryAfterMs: windowStart(name, now) + WINDOW_MS[name] - now };
  }
  return { ok: true };
}

/** Counts from stored rows; a row left from an earlier window counts as zero. */
export function countsAt(rows: readonly { window_name: string; window_start: number; count: number }[], now: number): SendCounts {
  const counts: SendCounts = { minute: 0, day: 0 };
  for (const r of rows)
    if (r.window_name in WINDOW_MS && r.window_start === windowStart(r.window_name as WindowName, now)) counts[r.window_name as WindowName] = r.count;
  return counts;
}
