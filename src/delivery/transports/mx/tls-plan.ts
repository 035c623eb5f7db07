// What TLS one delivery to a recipient domain must have, and how to say what it
// got. The operator's per-domain TLS policy wins; otherwise the domain's MTA-STS
// policy decides (RFC 8461 §4-5); otherwise TLS is opportunistic (RFC 7435).
import { mxMatches } from '../../../doctor/mta-sts.ts';
import type { TlsFacts } from '../smtp-session.ts';
import type { PolicyLookup } from './mta-sts.ts';

/** may: opportunistic; encrypt: TLS required, certificate unchecked; verify: TLS with a certificate valid for the MX name. */
export type TlsLevel = 'may' | 'encrypt' | 'verify';
export const TLS_LEVELS = ['may', 'encrypt', 'verify'] as const;

export interface TlsPlan {
  /** Names the rule in replies and event details: "tls policy verify", "mta-sts enforce", "opportunistic". */
  label: string;
  level: TlsLevel;
  /** The MTA-STS mx patterns: enforced (hosts that match none are skipped) or only reported (testing). */
  sts?: { domain: string; mx: readonly string[]; enforce: boolean };
  /** Why a policy that should have applied did not, or which cached copy did (a failed refetch). */
  note?: string;
}

export function planFor(domain: string, configured: TlsLevel | undefined, sts: PolicyLookup | undefined): TlsPlan {
  if (configured) return { label: `tls policy ${configured}`, level: configured };
  const policy = sts?.policy;
  const note = sts?.problem && (policy ? `cached policy kept: ${sts.problem}` : sts.problem);
  if (!policy || policy.mode === 'none') return { label: 'opportunistic', level: 'may', ...(note && { note }) };
  const enforce = policy.mode === 'enforce';
  return {
    label: `mta-sts ${policy.mode}`, level: enforce ? 'verify' : 'may',
    sts: { domain, mx: policy.mx, enforce }, ...(note && { note }),
  };
}

/** RFC 8461 §4.1: does the MX host name match one of the policy's mx patterns? */
export function hostAllowed(plan: TlsPlan, host: string): boolean {
  return !plan.sts || plan.sts.mx.some((pattern) => mxMatches(host, pattern));
}

export function mismatch(plan: TlsPlan, hosts: readonly string[]): string {
  const names = hosts.join(', ');
  return `${names} ${hosts.length > 1 ? 'do' : 'does'} not match the policy for ${plan.sts?.domain} (mx: ${plan.sts?.mx.join(', ')})`;
}

/**
 * The event detail of a session: the rule, whether the certificate was verified,
 * and under MTA-STS testing what enforce would have refused (RFC 8461 §5: report, deliver anyway).
 */
export function describeTls(plan: TlsPlan, host: string, tls: TlsFacts | undefined): string {
  const parts = [plan.label];
  if (plan.note) parts.push(plan.note);
  if (tls) parts.push(tls.verified ? 'certificate verified' : tls.protocol ? `certificate not verified: ${tls.problem}` : `no TLS: ${tls.problem}`);
  if (plan.sts && !plan.sts.enforce) {
    const failures = [
      ...(hostAllowed(plan, host) ? [] : [mismatch(plan, [host])]),
      ...(tls && !tls.verified ? [tls.protocol ? 'no valid certificate' : 'no TLS'] : []),
    ];
    if (failures.length) parts.push(`enforce would fail: ${failures.join('; ')}`);
  }
  return parts.join(', ');
}
