// Delivery through a provider's HTTPS API: one transport per provider, behind
// the same Transport interface as mx and relay. The router picks them by name.
import { PROVIDER_TIMEOUT_DEFAULT, type ProvidersConfig } from '../../../config/providers.ts';
import type { Transport } from '../../outcome.ts';
import { createHttpClient } from './http-client.ts';
import { createMailgunTransport } from './mailgun.ts';
import { createPostmarkTransport } from './postmark.ts';
import { createResendTransport } from './resend.ts';
import { createSendgridTransport } from './sendgrid.ts';
import { createSesTransport } from './ses.ts';

export const PROVIDER_NAMES = ['resend', 'postmark', 'sendgrid', 'mailgun', 'ses'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export type ProviderConfig<N extends ProviderName> = NonNullable<ProvidersConfig[N]>;

export interface ProviderTransportOptions {
  /** Deadline of one API call (SMARTHOST_PROVIDER_TIMEOUT). */
  timeoutMs?: number;
  /** An extra trusted CA (PEM) for tests; production verifies against the system roots. */
  ca?: string | Buffer;
}

export const isProviderName = (s: string): s is ProviderName => (PROVIDER_NAMES as readonly string[]).includes(s);

export function createProviderTransport<N extends ProviderName>(name: N, config: ProviderConfig<N>, opts: ProviderTransportOptions = {}): Transport {
  const client = createHttpClient({ timeoutMs: opts.timeoutMs ?? PROVIDER_TIMEOUT_DEFAULT, ...(opts.ca && { ca: opts.ca }) });
  switch (name) {
    case 'resend': return createResendTransport(config as ProviderConfig<'resend'>, client);
    case 'postmark': return createPostmarkTransport(config as ProviderConfig<'postmark'>, client);
    case 'sendgrid': return createSendgridTransport(config as ProviderConfig<'sendgrid'>, client);
    case 'mailgun': return createMailgunTransport(config as ProviderConfig<'mailgun'>, client);
    case 'ses': return createSesTransport(config as ProviderConfig<'ses'>, client);
  }
  client.close();
  throw new Error(`unknown provider ${String(name)}`);
}

/** The providers whose key is set, in PROVIDER_NAMES order. */
export const configuredProviders = (providers: ProvidersConfig): ProviderName[] => PROVIDER_NAMES.filter((n) => providers[n] !== undefined);
