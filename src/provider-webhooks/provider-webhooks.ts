// The provider webhook endpoints this node serves, from configuration: one per provider, each
// off (404) until its secret is set.
import type { Config } from '../config/schema.ts';
import type { Store } from '../store/store.ts';
import { mailgunWebhook } from './mailgun.ts';
import { postmarkWebhook } from './postmark.ts';
import type { ProviderName, ProviderWebhook } from './provider-event.ts';
import { resendWebhook } from './resend.ts';
import { sendgridWebhook } from './sendgrid.ts';
import { sesWebhook } from './ses.ts';

export type ProviderWebhooks = ReadonlyMap<ProviderName, ProviderWebhook>;

type WebhookConfig = Pick<Config, 'resendWebhookSecret' | 'postmarkWebhookUser' | 'postmarkWebhookPassword' | 'sendgridWebhookPublicKey'
  | 'mailgunWebhookSigningKey' | 'sesSnsTopicArn' | 'sesSnsCertHost'>;

export function createProviderWebhooks(config: WebhookConfig, store: Store): ProviderWebhooks {
  const hooks = [
    resendWebhook(config.resendWebhookSecret, store),
    postmarkWebhook(config.postmarkWebhookUser, config.postmarkWebhookPassword),
    sendgridWebhook(config.sendgridWebhookPublicKey),
    mailgunWebhook(config.mailgunWebhookSigningKey, store),
    sesWebhook(config.sesSnsTopicArn, config.sesSnsCertHost),
  ];
  return new Map(hooks.map((h) => [h.name, h]));
}
