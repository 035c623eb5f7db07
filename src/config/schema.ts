// Every setting smarthost reads: its SMARTHOST_* environment name, its default,
// and what it means. Defaults that decide behaviour live here, not in code.
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseUserEntry } from '../credentials/seed.ts';
import { parseCidr } from './cidr.ts';
import { parseDuration } from './duration.ts';

const port = z.coerce.number().int().min(0).max(65535);
const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', ''])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes' || v === 'on');
const list = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(/[\s,]+/)).map((s) => s.trim()).filter(Boolean));
// Durations are milliseconds; zod 4 applies .default() to the output, so defaults are in ms too.
const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v * 1000 : parseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(v)} (use 30s, 10m, 4h or 5d)` });
    return z.NEVER;
  }
  return ms;
});
const cidrs = list.superRefine((items, ctx) => {
  for (const item of items)
    if (!parseCidr(item)) ctx.addIssue({ code: 'custom', message: `not an address or CIDR: ${item}` });
});
const dnsServers = list.superRefine((items, ctx) => {
  for (const item of items) {
    const host = item.replace(/^\[(.*)\](:\d+)?$/, '$1').replace(/^([\d.]+):\d+$/, '$1');
    if (!isIP(host)) ctx.addIssue({ code: 'custom', message: `not a resolver ip[:port]: ${item}` });
  }
});
const relayUrl = z
  .string()
  .transform((s) => s.trim())
  .refine((s) => s === '' || /^smtps?:\/\/[^/]+/.test(s), 'must look like smtp://user:pass@host:587 or smtps://user:pass@host:465')
  .transform((s) => (s === '' ? undefined : new URL(s)));
// Kept as the string pg parses; never logged (it may hold a password).
const databaseUrl = z
  .string()
  .transform((s) => s.trim())
  .refine((s) => s === '' || /^postgres(ql)?:\/\/[^/]/.test(s), 'must look like postgres://user:pass@host:5432/dbname (or postgresql://)')
  .transform((s) => (s === '' ? undefined : s));
// Comma-separated only: passwords may contain spaces. Each entry may end in a policy, `?rate=60&quota=10000…`.
const users = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean))
  .superRefine((items, ctx) => {
  for (const item of items) for (const message of parseUserEntry(item).problems) ctx.addIssue({ code: 'custom', message });
});

/** Schema keys are camelCase; `envName` maps each to SMARTHOST_<UPPER_SNAKE>. */
export const configSchema = z.object({
  dataDir: z.string().min(1).default('./data'),
  /** PostgreSQL shared by several nodes instead of SQLite in dataDir; the plain DATABASE_URL is read too (load.ts). */
  databaseUrl: databaseUrl.optional(),
  hostname: z.string().min(1).default(''),
  listen: z.string().refine((s) => isIP(s) !== 0, 'must be an IP address such as 0.0.0.0 or ::').default('0.0.0.0'),
  submissionPort: port.default(587),
  smtpsPort: port.default(465),
  altPort: port.default(2525),
  tlsCert: z.string().default(''),
  tlsKey: z.string().default(''),
  trustedNetworks: cidrs.default([]),
  allowInsecureAuth: bool.default(false),
  maxMessageSize: z.coerce.number().int().positive().default(25 * 1024 * 1024),
  maxRecipients: z.coerce.number().int().positive().default(100),
  maxConnections: z.coerce.number().int().positive().default(500),
  maxConnectionsPerIp: z.coerce.number().int().positive().default(20),
  /** Whole-session deadline: a client dripping bytes cannot hold a slot forever. */
  sessionTimeout: duration.default(10 * 60 * 1000),
  idleTimeout: duration.default(60_000),
  /** AUTH failures before 421: per connection, and per address within authFailureWindow. */
  authFailuresPerConnection: z.coerce.number().int().positive().default(3),
  authFailuresPerIp: z.coerce.number().int().positive().default(5),
  authFailureWindow: duration.default(10 * 60 * 1000),
  /** Refuse new mail (452 4.3.1) when the data directory has less free space than this. */
  minFreeDisk: z.coerce.number().int().nonnegative().default(100 * 1024 * 1024),
  /** HTTP API and metrics; TLS when SMARTHOST_TLS_CERT is set (a PaaS usually terminates TLS in front). */
  httpPort: port.default(8080),
  relayUrl: relayUrl.optional(),
  /** Verify the upstream relay's certificate; turn off only for a private relay with a self-signed one. */
  relayTlsVerify: bool.default(true),
  dnsServers: dnsServers.default([]),
  mxPort: port.default(25),
  maxQueueLifetime: duration.default(5 * 24 * 3600 * 1000),
  /** Retry schedule: first delay, doubling up to the maximum, with jitter. */
  retryInitial: duration.default(5 * 60 * 1000),
  retryMax: duration.default(4 * 3600 * 1000),
  deliveryConcurrency: z.coerce.number().int().positive().default(20),
  perDestinationConcurrency: z.coerce.number().int().positive().default(4),
  connectTimeout: duration.default(30_000),
  replyTimeout: duration.default(5 * 60 * 1000),
  /** Claimed recipients are leased; a crashed delivery is retried after this. */
  leaseTime: duration.default(10 * 60 * 1000),
  /** On SIGTERM: how long open SMTP sessions and deliveries in flight may take to finish. */
  shutdownGrace: duration.default(10_000),
  users: users.default([]),
  /** Webhook URLs may reach these networks even though they are private (loopback, RFC 1918, …). */
  webhookAllowedNetworks: cidrs.default([]),
  webhookTimeout: duration.default(10_000),
  /** Encrypts DKIM private keys at rest (AES-256-GCM); every node sharing the store needs the same one. Never logged. */
  secretKey: z.string().optional(),
  /** Refuse (550 5.7.26) mail whose From: domain has no DKIM key instead of sending it unsigned. */
  requireDkim: bool.default(false),
  /** The dashboard's login; unset: generated at first start and printed once. Never logged. */
  adminPassword: z.string().min(8, 'use at least 8 characters').optional(),
  /** A dashboard session ends after this long without a request, and in any case after adminSessionLifetime. */
  adminSessionIdle: duration.default(30 * 60 * 1000),
  adminSessionLifetime: duration.default(12 * 3600 * 1000),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;

export const envName = (key: string): string => 'SMARTHOST_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
