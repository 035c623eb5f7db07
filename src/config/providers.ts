// Provider HTTPS API settings: one optional entry per provider, configured when
// its key is set. Env names are SMARTHOST_<PROVIDER>_<FIELD>, e.g.
// SMARTHOST_MAILGUN_DOMAIN or SMARTHOST_SES_SECRET_ACCESS_KEY; the config file
// holds the same fields under "providers".
import { isIP } from 'node:net';
import { z } from 'zod';

/** Whole-request deadline of one provider API call (SMARTHOST_PROVIDER_TIMEOUT). */
export const PROVIDER_TIMEOUT_DEFAULT = 30_000;

const required = { error: (issue: { input: unknown }) => (issue.input === undefined ? 'is required' : 'must be a string') };
const secret = z.string(required).trim().min(1, 'must not be empty');

// Plain http:// reaches a provider only on this machine (tests, a local proxy):
// API keys never cross a network in clear.
const isLoopback = (host: string) => {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return h === 'localhost' || (isIP(h) === 4 && h.startsWith('127.')) || h === '::1';
};
const apiUrl = z
  .string()
  .trim()
  .transform((s, ctx) => {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: `not a URL: ${JSON.stringify(s)}` });
      return z.NEVER;
    }
    if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname))) return url;
    ctx.addIssue({ code: 'custom', message: `must be https:// (http:// only on loopback), got ${url.protocol}//${url.host}` });
    return z.NEVER;
  });
const url = (s: string) => new URL(s);

export const resendConfig = z.strictObject({
  apiKey: secret,
  apiUrl: apiUrl.default(url('https://api.resend.com')),
});
export const postmarkConfig = z.strictObject({
  serverToken: secret,
  /** Postmark's "outbound" stream unless set (transactional vs broadcast streams). */
  messageStream: z.string().trim().min(1).optional(),
  apiUrl: apiUrl.default(url('https://api.postmarkapp.com')),
});
export const sendgridConfig = z.strictObject({
  apiKey: secret,
  apiUrl: apiUrl.default(url('https://api.sendgrid.com')),
});
export const mailgunConfig = z.strictObject({
  apiKey: secret,
  /** The sending domain as set up at Mailgun; it is part of every API path. */
  domain: z.string(required).trim().regex(/^[a-z0-9.-]+$/i, 'must be a domain name such as mg.example.com'),
  /** EU accounts: https://api.eu.mailgun.net */
  apiUrl: apiUrl.default(url('https://api.mailgun.net')),
});
export const sesConfig = z.strictObject({
  region: z.string(required).trim().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region such as eu-west-1'),
  accessKeyId: secret,
  secretAccessKey: secret,
  sessionToken: secret.optional(),
  configurationSet: z.string().trim().min(1).optional(),
  /** Default: https://email.<region>.amazonaws.com */
  apiUrl: apiUrl.optional(),
});

export const providersSchema = z.strictObject({
  resend: resendConfig.optional(),
  postmark: postmarkConfig.optional(),
  sendgrid: sendgridConfig.optional(),
  mailgun: mailgunConfig.optional(),
  ses: sesConfig.optional(),
});

export type ProvidersConfig = z.output<typeof providersSchema>;
export type ResendConfig = z.output<typeof resendConfig>;
export type PostmarkConfig = z.output<typeof postmarkConfig>;
export type SendgridConfig = z.output<typeof sendgridConfig>;
export type MailgunConfig = z.output<typeof mailgunConfig>;
export type SesConfig = z.output<typeof sesConfig>;

const FIELDS = {
  resend: resendConfig, postmark: postmarkConfig, sendgrid: sendgridConfig, mailgun: mailgunConfig, ses: sesConfig,
} as const;

/** SMARTHOST_RESEND_API_KEY for ('resend', 'apiKey'). */
export const providerEnvName = (provider: string, field: string): string =>
  `SMARTHOST_${provider.toUpperCase()}_${field.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase()}`;

/**
 * The provider entries given in the environment, merged over those of the config
 * file field by field. A provider appears as soon as any of its variables is set,
 * so a URL or domain without its key is reported instead of silently ignored.
 */
export function providersInput(env: NodeJS.ProcessEnv, fromFile: unknown): Record<string, Record<string, unknown>> {
  const base = (fromFile && typeof fromFile === 'object' ? fromFile : {}) as Record<string, Record<string, unknown>>;
  const out: Record<string, Record<string, unknown>> = { ...base };
  for (const [provider, schema] of Object.entries(FIELDS)) {
    for (const field of Object.keys(schema.shape)) {
      const value = env[providerEnvName(provider, field)];
      if (value !== undefined && value !== '') out[provider] = { ...out[provider], [field]: value };
    }
  }
  return out;
}
