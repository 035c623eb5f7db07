// When a deferred recipient is tried again, and when the queue gives up on it.
// The numbers (first delay, ceiling, lifetime) come from config/schema.ts;
// this module only owns the shape of the schedule.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Uniform in [0, 1); injectable so tests get a fixed schedule. */
  random?: () => number;
}

// Jitter multiplies the delay by a factor in [0.8, 1.2), rounded to the
// millisecond. We spread retries rather than randomise them fully ("full
// jitter", 0..delay): the goal is that recipients deferred in the same
// minute, or all reclaimed after a restart, do not hit the same MX in one
// burst — ±20% does that — while the schedule stays close to what the
// operator configured. Full jitter would now and then turn a 5-minute first
// retry into a 5-second one, which RFC 5321 §4.5.4.1 (retry interval "at
// least 30 minutes" in general) and greylisting receivers both punish.
const JITTER_LOW = 0.8;
const JITTER_SPAN = 0.4;

// 2^52 is far past any ceiling; capping the exponent keeps initialMs × 2^n
// finite, so Math.min with maxMs never sees Infinity × 0 = NaN.
const MAX_EXPONENT = 52;

/**
 * Delay before the next attempt, given how many attempts have been made.
 * The base is initialMs × 2^(attempts-1), capped at maxMs; jitter is applied
 * after the cap so that the plateau keeps its spread (retries at the ceiling
 * land within ±20% of maxMs instead of all exactly on it).
 */
export function nextRetryDelay(attempts: number, opts: BackoffOptions): number {
  const exponent = Math.min(Math.max(attempts, 1) - 1, MAX_EXPONENT);
  const base = Math.min(opts.maxMs, opts.initialMs * 2 ** exponent);
  const random = opts.random ?? Math.random;
  return Math.round(base * (JITTER_LOW + JITTER_SPAN * random()));
}

export interface RetryInput {
  /** Attempts made so far, including the one that just failed. */
  attempts: number;
  now: number;
  /** When the message was accepted; the lifetime counts from here. */
  createdAt: number;
  lifetimeMs: number;
  initialMs: number;
  maxMs: number;
  /** The remote asked us to wait at least this long (HTTP Retry-After, provider throttling). */
  retryAfterMs?: number;
  random?: () => number;
}

export type RetryDecision = { kind: 'retry'; at: number } | { kind: 'expire' };

/**
 * Retry or give up after a transient failure.
 *
 * The deadline is createdAt + lifetimeMs (RFC 5321 §4.5.4.1: give up after
 * "at least 4-5 days"). A message gets its whole lifetime: when the back-off
 * would land past the deadline, the attempt is pulled in to exactly the
 * deadline, a final try; the recipient expires when an attempt made at or
 * after the deadline fails. Without that clamp the last attempt could fall
 * up to 1.2 × maxMs before the deadline and the configured lifetime would
 * silently be hours shorter.
 *
 * A remote Retry-After longer than our back-off wins. If it points past the
 * deadline we expire now: the remote has said it will not take the message
 * before then, so a final attempt at the deadline would only be refused.
 */
export function retryDecision(input: RetryInput): RetryDecision {
  const deadline = input.createdAt + input.lifetimeMs;
  if (input.now >= deadline) return { kind: 'expire' };

  const backoff = nextRetryDelay(input.attempts, input);
  const retryAfter = input.retryAfterMs ?? 0;
  if (retryAfter > backoff) {
    const at = input.now + retryAfter;
    return at > deadline ? { kind: 'expire' } : { kind: 'retry', at };
  }
  return { kind: 'retry', at: Math.min(input.now + backoff, deadline) };
}
