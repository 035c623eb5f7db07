// Direct delivery: resolve the recipient domain's MX hosts and hand the message
// to the first one that takes part in a mail transaction, all recipients of the
// domain over one connection, with a per-domain cap on concurrent sessions and
// the TLS the domain's policy asks for (tls-plan.ts).
import type { Resolver } from 'node:dns/promises';
import { allRecipients, type OutboundMessage, type RecipientOutcome, type Transport } from '../../outcome.ts';
import { reply, type SmtpReply } from '../../smtp-reply.ts';
import { checkSmtpRoute } from '../smtp-check.ts';
import { SessionCache, type SessionCacheSettings } from '../session-cache.ts';
import { deliverToHost, type SessionResult } from '../smtp-session.ts';
import { createMtaSts, type MtaStsOptions, type PolicyLookup } from './mta-sts.ts';
import { createResolver, resolveMx } from './resolve.ts';
import { describeTls, hostAllowed, mismatch, planFor, type TlsLevel, type TlsPlan } from './tls-plan.ts';

export interface MxTransportOptions {
  /** Our EHLO name. */
  hostname: string;
  /** `ip[:port]` resolvers; empty = the system's. */
  dnsServers: string[];
  /** SMTP port of every MX (25; tests use a loopback port). */
  port: number;
  connectTimeout: number;
  replyTimeout: number;
  /** Sessions kept for the next message to the same host (session-cache.ts); absent: one session per delivery. */
  connectionCache?: SessionCacheSettings;
  /** Sessions open at once to one recipient domain. */
  perDestinationConcurrency?: number;
  /** check(): a well-known MX that answers on `port` wherever SMTP egress is open, and the check's step limit. */
  probe?: { host: string; timeoutMs: number };
  /** The operator's TLS level per recipient domain (lower-case); wins over MTA-STS. */
  tlsPolicy?: Readonly<Record<string, TlsLevel>>;
  /** Apply MTA-STS (RFC 8461), caching policies in this store; absent: not applied. */
  mtaSts?: MtaStsOptions;
  /** CAs trusted besides Node's for MX certificates and policy hosts: a test's private CA. */
  extraCa?: readonly (string | Buffer)[];
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
  const mtaSts = opts.mtaSts && createMtaSts(resolver, { ...opts.mtaSts, extraCa: opts.extraCa });
  const sessions = SessionCache.create(opts.connectionCache);

  /** The domain's TLS plan, or a deferral when the policy cache cannot be read (never a silent downgrade). */
  async function tlsPlan(domain: string): Promise<TlsPlan | SmtpReply> {
    const configured = opts.tlsPolicy?.[domain];
    let sts: PolicyLookup | undefined;
    // A domain literal has no DNS name to publish a policy under.
    if (!configured && mtaSts && !domain.startsWith('[')) {
      try {
        sts = await mtaSts.policyFor(domain);
      } catch (err) {
        return reply(451, '4.3.0', `MTA-STS policy cache unavailable: ${(err as Error).message}`);
      }
    }
    return planFor(domain, configured, sts);
  }

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
      const [route, plan] = await Promise.all([resolveMx(domain, resolver), tlsPlan(domain)]);
      if (route.kind === 'permanent') return allRecipients(rcpts, 'bounced', route.reply);
      if (route.kind === 'temporary') return allRecipients(rcpts, 'deferred', route.reply);
      if (!('level' in plan)) return allRecipients(rcpts, 'deferred', plan);
      // RFC 8461 §4.1: under enforce, only MX hosts that match the policy may receive the mail.
      const allowed = route.hosts.filter((host) => !plan.sts?.enforce || hostAllowed(plan, host.name));
      if (!allowed.length) {
        const r = reply(451, '4.7.5', `MTA-STS: ${mismatch(plan, route.hosts.map((h) => h.name))}`);
        return allRecipients(rcpts, 'deferred', r, { tlsDetail: plan.label });
      }
      // RFC 5321 §5.1: try the MX hosts in preference order until one answers.
      const targets = allowed
        .flatMap((host) => host.addresses.map((address) => ({ host, address })))
        .slice(0, MAX_ADDRESSES_PER_ATTEMPT);
      let last: RecipientOutcome[] | undefined;
      for (const { host, address } of targets) {
        if (signal.aborted) break;
        const session: SessionResult = await deliverToHost(msg, rcpts, {
          address,
          port: opts.port,
          // A domain literal has no name to send as SNI.
          hostName: host.name.startsWith('[') ? undefined : host.name,
          ehloName: opts.hostname,
          // RFC 3207 §4.1 / RFC 7435: opportunistic TLS unless a policy requires it;
          // the certificate is checked only where MTA-STS or the operator's policy asks.
          requireTLS: plan.level !== 'may',
          verifyCertificate: plan.level === 'verify',
          tlsRequiredBy: plan.level === 'may' ? undefined : plan.sts ? 'MTA-STS' : `TLS policy ${plan.level}`,
          extraCa: opts.extraCa,
          connectTimeout: opts.connectTimeout,
          replyTimeout: opts.replyTimeout,
          cache: sessions,
          signal,
        });
        const tlsDetail = describeTls(plan, host.name, session.tls);
        for (const o of session.outcomes) o.tlsDetail = tlsDetail;
        last = session.outcomes;
        if (!session.hostFailed) return last;
      }
      return last ?? allRecipients(rcpts, 'deferred', reply(451, '4.3.0', `Delivery attempt for ${domain} aborted`));
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
    async close() {
      sessions.close();
    },
    ...(opts.probe && {
      check: (signal: AbortSignal) => checkSmtpRoute({
        host: opts.probe!.host, port: opts.port, secure: false, kind: 'mx', verifyCertificate: false,
        ehloName: opts.hostname, dnsServers: opts.dnsServers, timeoutMs: opts.probe!.timeoutMs,
      }, signal),
    }),
  };
}
