// A change to a sending policy as the API writes it (a number sets a limit,
// null removes it, an absent field leaves it), and the allowed-senders check,
// shared by keys and credentials.
import { parseCidr } from '../config/cidr.ts';
import type { SendingPolicy } from '../store/store.ts';
import { AdminError } from './admin-error.ts';

export interface PolicyChange {
  ratePerMinute?: number | null;
  dailyQuota?: number | null;
  maxMessageSize?: number | null;
  /** [] or null: from anywhere. */
  sourceNetworks?: string[] | null;
  sandbox?: boolean;
}

export function applyPolicyChange(base: SendingPolicy, change: PolicyChange): SendingPolicy {
  const bad = (change.sourceNetworks ?? []).filter((c) => !parseCidr(c));
  if (bad.length) throw new AdminError('invalid', `source_networks: ${JSON.stringify(bad[0])} is not an address or CIDR`);
  const next: SendingPolicy = { ...base };
  const set = <K extends keyof SendingPolicy>(key: K, value: SendingPolicy[K] | null | undefined) => {
    if (value === undefined) return;
    if (value === null || (Array.isArray(value) && value.length === 0) || value === false) delete next[key];
    else next[key] = value;
  };
  set('ratePerMinute', change.ratePerMinute);
  set('dailyQuota', change.dailyQuota);
  set('maxMessageSize', change.maxMessageSize);
  set('sourceNetworks', change.sourceNetworks);
  set('sandbox', change.sandbox);
  return next;
}

/** Entries are domains, exact addresses or `*` (accept/sender-policy.ts); at least one. */
export function checkSenders(allowedSenders: readonly string[]): void {
  if (allowedSenders.length === 0) throw new AdminError('invalid', 'allowed_senders: give at least one domain, address, or * to allow any sender');
  const bad = allowedSenders.find((s) => !/^(\*|[^\s@,;]+|[^\s@,;]+@[^\s@,;]+)$/.test(s));
  if (bad !== undefined) throw new AdminError('invalid', `allowed_senders: ${JSON.stringify(bad)} is not a domain, an address or *`);
}

/** The change that makes a policy exactly `p` (the CLI computes whole policies from its flags). */
export const replacePolicy = (p: SendingPolicy): PolicyChange => ({
  ratePerMinute: p.ratePerMinute ?? null, dailyQuota: p.dailyQuota ?? null, maxMessageSize: p.maxMessageSize ?? null,
  sourceNetworks: p.sourceNetworks ?? null, sandbox: p.sandbox ?? false,
});
