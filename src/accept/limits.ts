// A principal's sending policy where both ingresses meet it: the rate limit
// and daily quota (counted in the store, so every node and both ingresses
// share one count), its size cap, and the networks it may log in from.
import { networkMatcher } from '../config/cidr.ts';
import { reply, SmtpError } from '../delivery/smtp-reply.ts';
import { allowance, type SendAllowance, type SendLimits, type WindowName } from '../store/rate-windows.ts';
import type { SendingPolicy, Store } from '../store/store.ts';
import type { Principal } from './accept.ts';

/** 451 4.7.1: a 4xx, so an SMTP client queues the message and tries again; the HTTP side answers 429 with Retry-After. */
export class RateLimited extends SmtpError {
  constructor(readonly limit: WindowName, max: number, readonly retryAfterSec: number) {
    const messages = max === 1 ? 'message' : 'messages';
    super(reply(451, '4.7.1', `Rate limit exceeded: at most ${max} ${messages} per ${limit}; retry in ${retryAfterSec} seconds`));
  }
}

export const notFromHere = (kind: Principal['kind']) =>
  reply(535, '5.7.8', `Authentication failed: this ${kind === 'key' ? 'API key' : 'credential'} is not allowed from your address`);

const limitsOf = (p: SendingPolicy): SendLimits => ({ perMinute: p.ratePerMinute, perDay: p.dailyQuota });
const hasLimits = (p: SendingPolicy) => p.ratePerMinute !== undefined || p.dailyQuota !== undefined;
/** The counter's name: kind plus id, so a credential and a key never share one. */
export const counterOf = (p: Pick<Principal, 'kind' | 'id'>) => `${p.kind}:${p.id}`;

function refuse(p: Principal, verdict: SendAllowance): void {
  if (verdict.ok) return;
  const max = verdict.limit === 'minute' ? p.policy.ratePerMinute! : p.policy.dailyQuota!;
  throw new RateLimited(verdict.limit, max, Math.max(1, Math.ceil(verdict.retryAfterMs / 1000)));
}

/**
 * The early answer (SMTP MAIL FROM, an HTTP batch before any of it is queued): throws when `count` more
 * messages would not fit now. Counts nothing; the commit still counts each message (consumeSendLimit).
 */
export async function checkSendLimits(store: Store, p: Principal, now: number, count = 1): Promise<void> {
  if (!hasLimits(p.policy)) return;
  refuse(p, allowance(await store.sendCounts(counterOf(p), now), limitsOf(p.policy), now, count));
}

/** Counts one message, or throws when it does not fit; called once per message, right before its commit. */
export async function consumeSendLimit(store: Store, p: Principal, now: number): Promise<void> {
  if (!hasLimits(p.policy)) return;
  refuse(p, await store.consumeSend(counterOf(p), now, limitsOf(p.policy)));
}

/** The size cap for this sender: its own when smaller than the server's. */
export const maxMessageSizeFor = (p: Principal | undefined, serverMax: number): number => Math.min(serverMax, p?.policy.maxMessageSize ?? serverMax);

/** Whether the principal may authenticate from `ip` (no source networks: from anywhere). */
export const sourceAllowed = (policy: SendingPolicy, ip: string): boolean =>
  !policy.sourceNetworks?.length || networkMatcher(policy.sourceNetworks)(ip);
