// Direct delivery: resolve the recipient domain's MX hosts and hand the message
// to the first one that takes part in a mail transaction, all recipients of the
// domain over one connection, with a per-domain cap on concurrent sessions.
import type { Resolver } from 'node:dns/promises';
import { allRecipients, type OutboundMessage, type RecipientOutcome, type Transport } from '../../outcome.ts';
import { reply } from '../../smtp-reply.ts';
import { checkSmtpRoute } from '../smtp-check.ts';
import { deliverToHost, type SessionResult } from '../smtp-session.ts';
import { createResolver, resolveMx } from './resolve.ts';

export interface MxTransportOptions {
  /** Our EHLO name. */
  hostname: string;
  /** `ip[:port]` resolvers; empty = the system's. */
  dnsServers: string[];
  /** SMTP port of every MX (25; tests use a loopback port). */
  port: number;
  connectTimeout: number;
  replyTimeout: number;
  /** Sessions open at once to one recipient domain. */
  perDestinationConcurrency?: number;
  /** check(): a well-known MX that answers on `port` wherever SMTP egress is open, and the check's step limit. */
  probe?: { host: string; timeoutMs: number };
}

// Postfix's smtp_mx_address_limit: a domain with many MX addresses cannot hold
// one delivery attempt for (addresses × connect timeout).
const MAX_ADDRESSES_PER_ATTEMPT = 5;
// Postfix's default_destination_concurrency_limit is 20; receivers throttle far below that.
const DEFAULT_CONCURRENCY = 4;

/** Counts sessions per key; callers past the limit wait in FIFO order. */
class KeyedSemaphore {
  private readonly slots = new Map<string, { active: number; waiting: (() => void)[] }>();
  constructor(private readonly limit: number) {}

  /** Resolves true once a slot is held, false if `signal` aborted first. */
  acquire(key: string, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    let slot = this.slots.get(key);
    if (!slot) this.slots.set(key, (slot = { active: 0, waiting: [] }));
    if (slot.active < this.limit) {
      slot.active++;
      return Promise.resolve(true);
    }
    const queue = slot.waiting;
    return new Promise((resolve) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
      const onAbort = () => {
        queue.splice(queue.indexOf(grant), 1);
        resolve(false);
      };
      queue.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(key: string): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    const next = slot.waiting.shift();
    if (next) return next(); // the slot passes straight to the next waiter
    if (--slot.active === 0) this.slots.delete(key);
  }
}

function domainOf(rcpt: string): string {
  const at = rcpt.lastIndexOf('@');
  return at < 0 ? '' : rcpt.slice(at + 1).toLowerCase();
}

export function createMxTransport(opts: MxTransportOptions): Transport {
  const resolver: Resolver = createResolver(opts.dnsServers);
  const limiter = new KeyedSemaphore(opts.perDestinationConcurrency ?? DEFAULT_CONCURRENCY);

  async function deliverDomain(
    msg: OutboundMessage,
    domain: string,
    rcpts: readonly string[],
    signal: AbortSignal,
  ): Promise<RecipientOutcome[]> {
    if (!domain) return allRecipients(rcpts, 'bounced', reply(553, '5.1.3', 'Recipient address has no domain'));
    if (!(await limiter.acquire(domain, signal))) {
      return allRecipients(rcpts, 'deferred', reply(451, '4.3.0', `Delivery attempt for ${domain} aborted`));
    }
    try {
      const route = await resolveMx(domain, resolver);
      if (route.kind === 'permanent') return allRecipients(rcpts, 'bounced', route.reply);
      if (route.kind === 'temporary') return allRecipients(rcpts, 'deferred', route.reply);
      // RFC 5321 §5.1: try the MX hosts in preference order until one answers.
      const targets = route.hosts
        .flatMap((host) => host.addresses.map((address) => ({ host, address })))
        .slice(0, MAX_ADDRESSES_PER_ATTEMPT);
      let last: SessionResult | undefined;
      for (const { host, address } of targets) {
        if (signal.aborted) break;
        last = await deliverToHost(msg, rcpts, {
          address,
          port: opts.port,
          // A domain literal has no name to send as SNI.
          hostName: host.name.startsWith('[') ? undefined : host.name,
          ehloName: opts.hostname,
          // RFC 3207 §4.1 / RFC 7435: opportunistic TLS, unauthenticated unless
          // MTA-STS or DANE say otherwise.
          verifyCertificate: false,
          connectTimeout: opts.connectTimeout,
          replyTimeout: opts.replyTimeout,
          signal,
        });
        if (!last.hostFailed) return last.outcomes;
      }
      return last?.outcomes ?? allRecipients(rcpts, 'deferred', reply(451, '4.3.0', `Delivery attempt for ${domain} aborted`));
    } finally {
      limiter.release(domain);
    }
  }

  return {
    name: 'mx',
    async send(msg, rcpts, signal) {
      // Callers group by domain; still, never route a recipient by another's domain.
      const byDomain = new Map<string, string[]>();
      for (const rcpt of rcpts) {
        const domain = domainOf(rcpt);
        byDomain.set(domain, [...(byDomain.get(domain) ?? []), rcpt]);
      }
      const results = await Promise.all(
        [...byDomain].map(([domain, group]) => deliverDomain(msg, domain, group, signal)),
      );
      return results.flat();
    },
    ...(opts.probe && {
      check: (signal: AbortSignal) => checkSmtpRoute({
        host: opts.probe!.host, port: opts.port, secure: false, kind: 'mx', verifyCertificate: false,
        ehloName: opts.hostname, dnsServers: opts.dnsServers, timeoutMs: opts.probe!.timeoutMs,
      }, signal),
    }),
  };
}
