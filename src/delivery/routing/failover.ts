// Decides, per recipient and try, whether a route's outcome is final or the
// next route in the failover list should try. The line: trouble with the route
// (it is down, throttled, or its sending reputation is refused) moves on; a
// verdict about the recipient (no such user, mailbox disabled) is the same on
// every route and bounces at once.
import type { RecipientOutcome } from '../outcome.ts';

/**
 * 'deliver' and 'bounce' end the attempt; 'next' hands the recipient to the next route; 'wait' ends the
 * attempt deferred on this route, which the next attempt asks again (with the same idempotency key).
 */
export type FailoverDecision = 'deliver' | 'next' | 'wait' | 'bounce';

// Receivers refuse a sending host or its IP reputation with 5.7.x and words like
// these (Spamhaus/Barracuda listings, Microsoft S3150, Gmail's 550 5.7.1 reputation
// notices); another route sends from other addresses, so it may get through.
const BLOCKED = /\b(block(ed|list(ed)?)?|black ?list(ed)?|deny ?list(ed)?|reputation)\b/i;

export function isBlockReply(outcome: Pick<RecipientOutcome, 'reply'>): boolean {
  return outcome.reply.enhanced.startsWith('5.7.') && BLOCKED.test(outcome.reply.text);
}

export function failoverDecision(outcome: RecipientOutcome): FailoverDecision {
  if (outcome.kind === 'delivered') return 'deliver';
  // Deferred covers every transient class: connection failure or timeout, SMTP 4xx
  // (421 4.7.0 included), and a provider's 429 or 5xx, which transports map to 4.x.x.
  // An answer lost after the whole request was sent: the route may have delivered, and another route
  // would then send a second copy. Only this route, asked again with the same key, can tell.
  if (outcome.kind === 'deferred') return outcome.inDoubt ? 'wait' : 'next';
  return isBlockReply(outcome) ? 'next' : 'bounce';
}
