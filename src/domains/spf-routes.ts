// Which hosts hand a sending domain's mail to the recipient's MX, per configured route, and the SPF
// mechanism (RFC 7208 §5) that authorises each. One place, so a new route kind adds one case here.
import { isIP } from 'node:net';
import type { Config } from '../config/schema.ts';
import { AUTO, checkRoutes, defaultRoutes } from '../delivery/routing/route-table.ts';
import { isProviderName, type ProviderName } from '../delivery/transports/providers/index.ts';

type Provider = ProviderName;

export type SendingRoute =
  | { kind: 'mx' }
  | { kind: 'relay'; host: string }
  | { kind: 'provider'; provider: Provider };

export interface SpfRequirement {
  /** The route, as the hint names it: "mx", "relay smtp.example.net", "resend". */
  route: string;
  /** The DNS name whose SPF record must hold the mechanism: the domain, or the provider's return-path subdomain. */
  at: string;
  /** E.g. "a:relay.example.net" or "include:amazonses.com". */
  mechanism: string;
  /** Why, for the printed records. */
  why: string;
}

/** Providers' SMTP endpoints: a relay route through one of them needs that provider's include, not the endpoint's A record. */
const PROVIDER_SMTP_HOSTS: [RegExp, Provider][] = [
  [/^smtp\.resend\.com$/i, 'resend'],
  [/^smtp(-broadcasts)?\.postmarkapp\.com$/i, 'postmark'],
  [/^smtp\.sendgrid\.net$/i, 'sendgrid'],
  [/^smtp(\.eu)?\.mailgun\.org$/i, 'mailgun'],
  [/^email-smtp\.[a-z0-9-]+\.amazonaws\.com$/i, 'ses'],
];

/**
 * The routes mail from `domain` may take: the default failover list and every rule that can apply to this
 * sender domain (SMARTHOST_ROUTE, routes rules; `auto` stands for every route it may pick). Each one that can
 * carry the mail needs SPF, a failover route included.
 */
export function configuredRoutes(config: Config, domain: string): SendingRoute[] {
  const lists = [defaultRoutes(config), ...(config.routes?.rules ?? []).filter((r) => !r.senderDomain || r.senderDomain.includes(domain)).map((r) => r.routes)];
  const names = new Set(lists.flat());
  if (names.delete(AUTO)) for (const name of checkRoutes(config).autoCandidates ?? []) names.add(name);
  return [...names].map((name): SendingRoute => {
    if (isProviderName(name)) return { kind: 'provider', provider: name };
    if (name !== 'relay' || !config.relayUrl) return { kind: 'mx' };
    const host = config.relayUrl.hostname.replace(/^\[(.*)\]$/, '$1'); // an IPv6 literal comes in brackets
    const provider = PROVIDER_SMTP_HOSTS.find(([re]) => re.test(host))?.[1];
    return provider ? { kind: 'provider', provider } : { kind: 'relay', host };
  });
}

/**
 * The providers' documented SPF: Resend sends with the return path send.<domain> and asks for
 * include:amazonses.com there (its MX on that name takes the bounces); Postmark include:spf.mtasv.net,
 * SendGrid include:sendgrid.net, Mailgun include:mailgun.org, SES include:amazonses.com on the domain
 * (or on a custom MAIL FROM subdomain, when one is set up in SES).
 */
const PROVIDER_SPF: Record<Provider, { sub?: string; include: string }> = {
  resend: { sub: 'send', include: 'amazonses.com' },
  postmark: { include: 'spf.mtasv.net' },
  sendgrid: { include: 'sendgrid.net' },
  mailgun: { include: 'mailgun.org' },
  ses: { include: 'amazonses.com' },
};

/**
 * What SPF must authorise for `domain` on these routes. MX delivery leaves from this host, found through
 * SMARTHOST_HOSTNAME: `a:<hostname>` authorises the addresses that name resolves to, which is also the name the
 * host greets with (EHLO) and the one receivers check it against, so it must resolve to the sending address anyway.
 */
export function spfMechanismsForRoutes(routes: readonly SendingRoute[], config: Pick<Config, 'hostname'>, domain: string): SpfRequirement[] {
  return routes.map((r): SpfRequirement => {
    switch (r.kind) {
      case 'mx':
        return { route: 'mx', at: domain, mechanism: `a:${config.hostname}`, why: `MX delivery from this host (SMARTHOST_HOSTNAME ${config.hostname})` };
      case 'relay':
        return {
          route: `relay ${r.host}`, at: domain, mechanism: isIP(r.host) ? `ip${isIP(r.host)}:${r.host}` : `a:${r.host}`,
          why: `the relay route through ${r.host}; if it sends from other addresses, use the include its operator documents instead`,
        };
      case 'provider': {
        const spf = PROVIDER_SPF[r.provider];
        return {
          route: r.provider, at: spf.sub ? `${spf.sub}.${domain}` : domain, mechanism: `include:${spf.include}`,
          why: `the ${r.provider} route${spf.sub ? ` (${r.provider} sends with the return path ${spf.sub}.${domain})` : ''}`,
        };
      }
    }
  });
}
