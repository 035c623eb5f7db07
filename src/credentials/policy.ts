// A sending policy as operators write it — CLI flags, or the `?rate=…` suffix
// of a SMARTHOST_USERS entry — checked by the same rules, and shown in lists.
import { parseCidr } from '../config/cidr.ts';
import type { SendingPolicy } from '../store/store.ts';

/** The written form: each value as typed, before checking. */
export interface PolicyText {
  rate?: string;
  quota?: string;
  maxSize?: string;
  cidrs?: string[];
  sandbox?: boolean;
}

export interface ParsedPolicy {
  policy: SendingPolicy;
  /** One line per bad value; the policy holds only the good ones. */
  problems: string[];
}

export function buildPolicy(text: PolicyText, names: Record<'rate' | 'quota' | 'maxSize' | 'cidr', string>): ParsedPolicy {
  const policy: SendingPolicy = {};
  const problems: string[] = [];
  const count = (value: string | undefined, name: string): number | undefined => {
    if (value === undefined) return undefined;
    if (/^\d{1,15}$/.test(value) && Number(value) > 0) return Number(value);
    problems.push(`${name} must be a whole number above 0, got ${JSON.stringify(value)}`);
    return undefined;
  };
  const rate = count(text.rate, names.rate);
  const quota = count(text.quota, names.quota);
  const maxSize = count(text.maxSize, names.maxSize);
  if (rate !== undefined) policy.ratePerMinute = rate;
  if (quota !== undefined) policy.dailyQuota = quota;
  if (maxSize !== undefined) policy.maxMessageSize = maxSize;
  if (text.cidrs?.length) {
    for (const c of text.cidrs) if (!parseCidr(c)) problems.push(`${names.cidr} ${JSON.stringify(c)} is not an address or CIDR`);
    policy.sourceNetworks = text.cidrs.filter((c) => parseCidr(c));
  }
  if (text.sandbox !== undefined) policy.sandbox = text.sandbox;
  return { policy, problems };
}

const QUERY_KEYS = ['rate', 'quota', 'max_size', 'cidr', 'sandbox'];
const QUERY_NAMES = { rate: 'rate', quota: 'quota', maxSize: 'max_size', cidr: 'cidr' };

/** `rate=60&quota=10000&max_size=1000000&cidr=10.0.0.0/8;192.168.0.0/16&sandbox=1` (cidr may also repeat). */
export function parsePolicyQuery(query: string): ParsedPolicy {
  const text: PolicyText = {};
  const problems: string[] = [];
  for (const pair of query.split('&').filter(Boolean)) {
    const eq = pair.indexOf('=');
    const [key, value] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
    if (key === 'rate') text.rate = value;
    else if (key === 'quota') text.quota = value;
    else if (key === 'max_size') text.maxSize = value;
    else if (key === 'cidr') text.cidrs = [...(text.cidrs ?? []), ...value.split(';').filter(Boolean)];
    else if (key === 'sandbox') {
      if (/^(1|true|yes|on)$/i.test(value)) text.sandbox = true;
      else if (/^(0|false|no|off)$/i.test(value)) text.sandbox = false;
      else problems.push(`sandbox must be 1 or 0, got ${JSON.stringify(value)}`);
    } else problems.push(`unknown policy option ${JSON.stringify(key)} (use ${QUERY_KEYS.join(', ')})`);
  }
  const built = buildPolicy(text, QUERY_NAMES);
  return { policy: built.policy, problems: [...problems, ...built.problems] };
}

/** One line for listings: `60/min, 10000/day, max 1000000 B, from 10.0.0.0/8, sandbox`, or `no limits`. */
export function describePolicy(p: SendingPolicy): string {
  const parts = [
    ...(p.ratePerMinute !== undefined ? [`${p.ratePerMinute}/min`] : []),
    ...(p.dailyQuota !== undefined ? [`${p.dailyQuota}/day`] : []),
    ...(p.maxMessageSize !== undefined ? [`max ${p.maxMessageSize} B`] : []),
    ...(p.sourceNetworks?.length ? [`from ${p.sourceNetworks.join(' ')}`] : []),
    ...(p.sandbox ? ['sandbox'] : []),
  ];
  return parts.length ? parts.join(', ') : 'no limits';
}
