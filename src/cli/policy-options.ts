// The sending-policy flags shared by `credentials add|policy` and `keys create|policy`.
import type { Command } from 'commander';
import { buildPolicy, describePolicy } from '../credentials/policy.ts';
import type { SendingPolicy } from '../store/store.ts';

export interface PolicyFlags {
  rateLimit?: string;
  dailyQuota?: string;
  maxSize?: string;
  sourceCidr: string[];
  sandbox?: boolean;
  clear?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const FLAG_NAMES = { rate: '--rate-limit', quota: '--daily-quota', maxSize: '--max-size', cidr: '--source-cidr' };

/** Adds the flags; `editing` adds what only changing an existing policy needs (--no-sandbox, --clear). */
export function policyOptions(cmd: Command, editing = false): Command {
  cmd
    .option('--rate-limit <n>', 'at most N messages per minute (over SMTP and HTTP together)')
    .option('--daily-quota <n>', 'at most N messages per UTC day')
    .option('--max-size <bytes>', 'largest message it may send (takes effect below SMARTHOST_MAX_MESSAGE_SIZE)')
    .option('--source-cidr <cidr>', 'may authenticate only from this network; repeat for more', collect, [])
    .option('--sandbox', 'accept and record messages, never deliver them');
  if (editing) cmd.option('--no-sandbox', 'deliver its messages again').option('--clear', 'drop every limit first, then apply the flags given');
  return cmd;
}

/** The flags applied over `base`; undefined (after printing why, exit code 2) when a value is bad. */
export function policyFromFlags(flags: PolicyFlags, base: SendingPolicy = {}): SendingPolicy | undefined {
  const { policy, problems } = buildPolicy(
    { rate: flags.rateLimit, quota: flags.dailyQuota, maxSize: flags.maxSize, cidrs: flags.sourceCidr, sandbox: flags.sandbox }, FLAG_NAMES,
  );
  if (problems.length) {
    for (const p of problems) console.error(p);
    process.exitCode = 2;
    return undefined;
  }
  const merged = { ...(flags.clear ? {} : base), ...policy };
  if (!merged.sandbox) delete merged.sandbox;
  return merged;
}

/** Credentials and keys must name their senders: false (exit 2) when none were given. */
export function requireSenders(allowDomain: readonly string[]): boolean {
  if (allowDomain.length > 0) return true;
  console.error('give at least one --allow-domain (a domain, an address, or * to allow any sender)');
  process.exitCode = 2;
  return false;
}

export const policyLine = (name: string, p: SendingPolicy) => `${name} limits: ${describePolicy(p)}`;
