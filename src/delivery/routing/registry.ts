// Every route smarthost can deliver through, by the name used in SMARTHOST_ROUTE
// and the routes rules: what it needs configured, how to build its transport,
// and how it reaches the world (for the log and /readyz). A new transport is one
// entry here.
import type { Config } from '../../config/schema.ts';
import type { Transport } from '../outcome.ts';
import { providerEnvName } from '../../config/providers.ts';
import type { MtaStsOptions } from '../transports/mx/mta-sts.ts';
import { createProviderTransport, PROVIDER_NAMES, type ProviderName } from '../transports/providers/index.ts';
import { createMxTransport } from '../transports/mx/mx-transport.ts';
import { createRelayTransport } from '../transports/relay/relay-transport.ts';

/** What a transport may need from the running node besides the config; absent in `smarthost routes`. */
export interface RouteContext {
  /** Apply MTA-STS on the mx route, with policies cached in the store. */
  mtaSts?: MtaStsOptions;
  /** A private CA the provider routes trust besides the system's (tests). */
  providerCa?: string | Buffer;
}

export interface RouteKind {
  /** The settings still missing before this route can be used, by their SMARTHOST_* names; empty when it can. */
  missing(config: Config): string[];
  create(config: Config, ctx: RouteContext): Transport;
  /** How mail leaves on this route, completing "delivering …": "through resend over HTTPS". */
  describe(config: Config): string;
}

/** Route name → kind, in the order SMARTHOST_ROUTE=auto tries them by default. */
export type TransportRegistry = Record<string, RouteKind>;

const smtpTimeouts = (config: Config) => ({
  hostname: config.hostname, connectTimeout: config.connectTimeout, replyTimeout: config.replyTimeout,
  // At most one idle session per delivery slot waits for the next message.
  connectionCache: { idleMs: config.connectionCacheTime, maxParked: config.deliveryConcurrency },
});

const relayHostPort = (url: URL) => `${url.hostname}:${url.port || (url.protocol === 'smtps:' ? 465 : 587)}`;

export const builtinRoutes: TransportRegistry = {
  mx: {
    missing: () => [],
    create: (config, ctx) => createMxTransport({
      ...smtpTimeouts(config), dnsServers: config.dnsServers, port: config.mxPort, perDestinationConcurrency: config.perDestinationConcurrency,
      probe: { host: config.probeMxHost, timeoutMs: config.routeProbeTimeout }, tlsPolicy: config.tlsPolicy, mtaSts: ctx.mtaSts,
    }),
    describe: (config) => `directly to each recipient's MX on port ${config.mxPort}`,
  },
  relay: {
    missing: (config) => (config.relayUrl ? [] : ['SMARTHOST_RELAY_URL']),
    create: (config) => createRelayTransport({
      url: config.relayUrl!, tlsRejectUnauthorized: config.relayTlsVerify, checkTimeout: config.routeProbeTimeout, ...smtpTimeouts(config),
    }),
    describe: (config) => `through the relay ${relayHostPort(config.relayUrl!)}`,
  },
  ...Object.fromEntries(PROVIDER_NAMES.map((name): [string, RouteKind] => [name, providerRoute(name)])),
};

/** The variables without which each provider cannot be used (its schema reports the rest once one is set). */
const PROVIDER_KEYS: Record<ProviderName, string[]> = {
  resend: ['apiKey'], postmark: ['serverToken'], sendgrid: ['apiKey'], mailgun: ['apiKey', 'domain'],
  ses: ['region', 'accessKeyId', 'secretAccessKey'],
};

function providerRoute(name: ProviderName): RouteKind {
  return {
    missing: (config) => (config.providers[name] ? [] : PROVIDER_KEYS[name].map((field) => providerEnvName(name, field))),
    create: (config, ctx) => createProviderTransport(name, config.providers[name]!, {
      timeoutMs: config.providerTimeout, ...(ctx.providerCa && { ca: ctx.providerCa }),
    }),
    // Plain http is allowed on loopback only (tests, a local proxy): say so rather than claim HTTPS.
    describe: (config) => `through ${name} over ${config.providers[name]?.apiUrl?.protocol === 'http:' ? 'plain HTTP on loopback' : 'HTTPS'}`,
  };
}
