// Every setting smarthost reads: its SMARTHOST_* environment name, its default,
// and what it means. Defaults that decide behaviour live here, not in code.
import { createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseUserEntry } from '../credentials/seed.ts';
import { TLS_LEVELS, type TlsLevel } from '../delivery/transports/mx/tls-plan.ts';
import { parseCidr } from './cidr.ts';
import { parseDuration } from './duration.ts';
import { PROVIDER_TIMEOUT_DEFAULT, providersSchema } from './providers.ts';

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
// Route names as the registry knows them (delivery/routing/registry.ts); `auto` stands alone.
const routeList = list.pipe(z.array(z.string().regex(/^[a-z][a-z0-9-]*$/, 'route names are lower-case, e.g. mx, relay, resend')).min(1, 'name at least one route'))
  .refine((names) => !names.includes('auto') || names.length === 1, '"auto" picks a route itself and cannot be combined with others');
const domains = list.transform((items) => items.map((d) => d.toLowerCase()));
// Rules for what one failover list does not cover; a JSON string so SMARTHOST_ROUTES works on a PaaS too.
const routes = z.preprocess(
  (v, ctx) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not JSON: use {"default":["mx"],"rules":[{"recipientDomain":"example.org","routes":["relay"]}]}' });
      return z.NEVER;
    }
  },
  z.object({
    default: routeList.optional(),
    rules: z.array(z.object({ recipientDomain: domains.optional(), senderDomain: domains.optional(), routes: routeList }).strict()
      .refine((r) => r.recipientDomain || r.senderDomain, 'a rule needs recipientDomain or senderDomain')).default([]),
  }).strict(),
);
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

// `{"partner.example": "verify"}` in the config file, `partner.example=verify,other.example=encrypt` in the environment.
const tlsPolicy = z
  .union([z.record(z.string(), z.string()), z.string()])
  .transform((v, ctx) => {
    const entries = typeof v === 'string'
      ? v.split(/[\s,]+/).filter(Boolean).map((e) => (e.includes('=') ? [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] : [e, '']))
      : Object.entries(v);
    const out: Record<string, TlsLevel> = {};
    for (const [domain, level] of entries) {
      if (!/^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/i.test(domain ?? '')) ctx.addIssue({ code: 'custom', message: `not a domain=level entry: ${domain}=${level}` });
      else if (!(TLS_LEVELS as readonly string[]).includes(level ?? '')) ctx.addIssue({ code: 'custom', message: `${domain}: "${level}" is not may, encrypt or verify` });
      else out[domain!.toLowerCase()] = level as TlsLevel;
    }
    return out;
  });
// Provider webhook secrets: '' is the same as unset (the endpoint answers 404). Never logged.
const optionalSecret = z.string().transform((s) => s.trim() || undefined);
const sendgridPublicKey = optionalSecret.refine((s) => {
  if (s === undefined) return true;
  try {
    return createPublicKey({ key: Buffer.from(s, 'base64'), format: 'der', type: 'spki' }).asymmetricKeyType === 'ec';
  } catch {
    return false;
  }
}, 'must be the base64 ECDSA verification key SendGrid shows under Mail Settings → Signed Event Webhook');
const snsTopicArn = optionalSecret.refine((s) => s === undefined || /^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/.test(s),
  'must look like arn:aws:sns:us-east-1:123456789012:ses-events');

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
  /** Ordered failover list for all mail (`postmark,relay`) or `auto`; default: relay when SMARTHOST_RELAY_URL is set, else mx. Wins over routes.default. */
  route: routeList.optional(),
  /** `{ default: [...], rules: [{ recipientDomain?, senderDomain?, routes: [...] }] }`: the first matching rule wins. */
  routes: routes.optional(),
  /** SMARTHOST_ROUTE=auto: the routes to probe, in order; default mx, relay (if configured), then each configured provider. */
  autoRoutes: routeList.optional(),
  routeProbeInterval: duration.default(10 * 60 * 1000),
  /** Limit of each step of a route check (TCP connect, each reply, a provider's API call); a whole check gets four. */
  routeProbeTimeout: duration.default(10_000),
  /** A well-known MX that answers on port 25 from anywhere SMTP egress is open; the mx route's check connects to it. */
  probeMxHost: z.string().min(1).default('gmail-smtp-in.l.google.com'),
  /** Provider HTTPS APIs (Resend, Postmark, SendGrid, Mailgun, SES); env SMARTHOST_<PROVIDER>_* (providers.ts). */
  providers: providersSchema.default({}),
  /** Whole-request deadline for one provider API call, answer included. */
  providerTimeout: duration.default(PROVIDER_TIMEOUT_DEFAULT),
  dnsServers: dnsServers.default([]),
  mxPort: port.default(25),
  /** Per recipient domain: may (opportunistic TLS), encrypt (TLS required) or verify (TLS with a valid certificate); wins over MTA-STS. */
  tlsPolicy: tlsPolicy.default({}),
  /** Apply recipient domains' MTA-STS policies (RFC 8461) on the mx route. */
  mtaSts: bool.default(true),
  /** Time limit for fetching one MTA-STS policy file. */
  mtaStsTimeout: duration.default(10_000),
  maxQueueLifetime: duration.default(5 * 24 * 3600 * 1000),
  /** Retry schedule: first delay, doubling up to the maximum, with jitter. */
  retryInitial: duration.default(5 * 60 * 1000),
  retryMax: duration.default(4 * 3600 * 1000),
  deliveryConcurrency: z.coerce.number().int().positive().default(20),
  perDestinationConcurrency: z.coerce.number().int().positive().default(4),
  connectTimeout: duration.default(30_000),
  replyTimeout: duration.default(5 * 60 * 1000),
  /** How long an outbound SMTP session waits for the next message to the same host; 0: one session per delivery. */
  connectionCacheTime: duration.default(2000),
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
  /** Refuse (550 5.7.1) mail whose From: domain has no DKIM key instead of sending it unsigned (and flagging it). */
  requireDkim: bool.default(false),
  /** Provider webhooks at /providers/<name>/webhook (provider-webhooks/): each is off until its secret is set. */
  resendWebhookSecret: optionalSecret.refine((s) => s === undefined || /^whsec_(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s),
    'must be the whsec_… signing secret Resend shows for the webhook').optional(),
  /** Postmark signs nothing: it sends these as HTTP Basic credentials (put them in the webhook URL). */
  postmarkWebhookUser: optionalSecret.optional(),
  postmarkWebhookPassword: optionalSecret.optional(),
  sendgridWebhookPublicKey: sendgridPublicKey.optional(),
  mailgunWebhookSigningKey: optionalSecret.optional(),
  /** The SNS topic SES publishes bounce, complaint and delivery notifications to; other topics are refused. */
  sesSnsTopicArn: snsTopicArn.optional(),
  /** Host (with :port if any) SNS signing certificates and SubscribeURLs must be on; default sns.<region of the topic>.amazonaws.com. */
  sesSnsCertHost: optionalSecret.optional(),
  /** DKIM header/body canonicalization (RFC 6376 §3.4); relaxed survives the refolding some relays do. */
  dkimCanonicalization: z.enum(['relaxed/relaxed', 'relaxed/simple', 'simple/relaxed', 'simple/simple']).default('relaxed/relaxed'),
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
