// Which MTA-STS policy (RFC 8461) applies to a recipient domain now: the
// _mta-sts TXT id, the policy cached in the store (shared by every node,
// surviving restarts) and a fresh fetch when the id changed or max_age ran out.
import type { Resolver } from 'node:dns/promises';
import { parsePolicy, resolvePolicy } from 'mailauth/lib/mta-sts.js';
import type { Logger } from 'pino';
import type { Metrics } from '../../../metrics/metrics.ts';
import type { MtaStsPolicy, Store } from '../../../store/store.ts';
import { fetchPolicyFile, type PolicyFetchOptions } from './mta-sts-fetch.ts';

/**
 * How the policy was found, for the smarthost_mta_sts_policy_total metric:
 * fetched (new or changed id, or max_age ran out), cached (id unchanged, still valid),
 * kept (TXT gone, unreadable or the refetch failed: the still-valid cached policy is used, §5.1),
 * failed (TXT found, the fetch failed and nothing valid is cached: delivery goes on without a policy),
 * absent (no TXT record and nothing valid cached).
 */
export type PolicyResult = 'fetched' | 'cached' | 'kept' | 'failed' | 'absent';

export interface PolicyLookup {
  /** Undefined when no policy applies. */
  policy?: MtaStsPolicy;
  result: PolicyResult;
  /** Why a fetch or TXT lookup failed, in plain words; undefined when all went well. */
  problem?: string;
}

export interface MtaStsOptions extends Omit<PolicyFetchOptions, 'resolver'> {
  store: Store;
  /** Called once per lookup: metrics and a log line for failures. */
  observe?: (domain: string, lookup: PolicyLookup) => void;
  now?: () => number;
}

export interface MtaSts {
  policyFor(domain: string): Promise<PolicyLookup>;
}

/** Why the TXT lookup gave no id: mailauth's code for several records, or the resolver's error code. */
const reason = (err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'multi_sts_records') return 'several v=STSv1 TXT records (RFC 8461 §3.1: none applies)';
  return e.code ? `DNS lookup failed (${e.code})` : String(e.message ?? err);
};

/** An `observe` that counts every lookup (smarthost_mta_sts_policy_total) and logs why a policy could not be had. */
export function reportPolicyLookups(metrics: Pick<Metrics, 'mtaStsPolicies'>, logger: Logger): NonNullable<MtaStsOptions['observe']> {
  return (domain, lookup) => {
    metrics.mtaStsPolicies.inc({ mode: lookup.policy?.mode ?? 'none', result: lookup.result });
    if (lookup.problem) logger.warn({ event: 'mta-sts', domain, result: lookup.result, problem: lookup.problem }, `MTA-STS: ${lookup.problem}`);
  };
}

export function createMtaSts(resolver: Resolver, opts: MtaStsOptions): MtaSts {
  const now = opts.now ?? Date.now;
  // Deliveries to one domain that start together share one TXT lookup and fetch.
  const inflight = new Map<string, Promise<PolicyLookup>>();

  async function lookup(domain: string): Promise<PolicyLookup> {
    const cached = await opts.store.getMtaStsPolicy(domain);
    const valid = cached && now() < cached.fetchedAt + cached.maxAge * 1000 ? cached : undefined;
    // RFC 8461 §5.1: without a usable TXT record or a new policy, a still-valid cached policy stays in force.
    const fallback = (problem?: string): PolicyLookup =>
      valid ? { policy: valid, result: 'kept', problem } : { result: problem ? 'failed' : 'absent', problem };

    let id: string | false;
    try {
      id = await resolvePolicy(domain, { resolver: (name: string, type: string) => resolver.resolve(name, type) as Promise<never> });
    } catch (err) {
      return fallback(`_mta-sts.${domain}: ${reason(err)}`);
    }
    if (!id) return valid ? { policy: valid, result: 'kept' } : { result: 'absent' };
    if (valid && valid.id === id) return { policy: valid, result: 'cached' };

    let text: string;
    try {
      text = await fetchPolicyFile(domain, { ...opts, resolver });
    } catch (err) {
      return fallback(`MTA-STS policy of ${domain} unavailable: ${(err as Error).message}`);
    }
    let policy: MtaStsPolicy;
    try {
      const parsed = parsePolicy(text);
      policy = { domain, id, mode: parsed.mode, mx: parsed.mx ?? [], maxAge: parsed.maxAge ?? 0, fetchedAt: now() };
    } catch (err) {
      return fallback(`MTA-STS policy of ${domain} is invalid: ${(err as Error).message} (RFC 8461 §3.2)`);
    }
    // A policy in mode none replaces the cached one (RFC 8461 §8.3), so nothing is enforced from now on.
    await opts.store.putMtaStsPolicy(policy);
    return { policy, result: 'fetched' };
  }

  return {
    policyFor(domain) {
      const key = domain.toLowerCase();
      let pending = inflight.get(key);
      if (!pending) {
        pending = lookup(key).then((found) => {
          opts.observe?.(key, found);
          return found;
        }).finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return pending;
    },
  };
}
