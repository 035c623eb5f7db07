// Delivery through a provider's HTTPS API: one transport per provider, behind
// the same Transport interface as mx and relay. The router picks them by name.
import { PROVIDER_TIMEOUT_DEFAULT, type ProvidersConfig } from '../../../config/providers.ts';
import type { Transport } from '../../outcome.ts';
import { createHttpClient } from './http-client.ts';
import { createResendTransport } from './resend.ts';

export const PROVIDER_NAMES = ['resend'] as const;
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
    case 'resend':
      return createResendTransport(config as ProviderConfig<'resend'>, client);
  }
  throw new Error(`unknown provider ${name}`);
}
