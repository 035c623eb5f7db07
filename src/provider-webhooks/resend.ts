// Resend webhooks. Resend signs with Svix (resend.com/docs/webhooks/verify-webhooks-requests):
// svix-id, svix-timestamp and svix-signature = space-separated `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`,
// key = base64 after `whsec_`. That is the Standard Webhooks scheme, which the `standardwebhooks` package
// verifies, refusing timestamps more than 5 minutes off (replays). svix-id is the same on Resend's retries.
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { z } from 'zod';
import type { Store } from '../store/store.ts';
import { header, malformed, parseJson, parseShape, unauthorized, type ProviderEvent, type ProviderWebhook, type Received } from './provider-event.ts';

// resend.com/docs/webhooks/event-types: email events share data.email_id and data.to.
const emailEvent = z.object({
  type: z.string(),
  data: z.object({
    email_id: z.string().min(1),
    to: z.array(z.string()).min(1),
    bounce: z.object({
      type: z.string().optional(),
      subType: z.string().optional(),
      message: z.string().optional(),
      diagnosticCode: z.array(z.string()).optional(),
    }).optional(),
    // resend.com/docs/webhooks/emails/failed: { reason: "reached_daily_quota" }.
    failed: z.object({ reason: z.string().optional() }).optional(),
    // resend.com/docs/webhooks/emails/suppressed: the address bounced or complained before.
    suppressed: z.object({ message: z.string().optional(), type: z.string().optional() }).optional(),
  }),
});

const AMBIGUOUS = 'Resend sent this email to several recipients and does not say which one this is about: not applied to any';

export function resendWebhook(secret: string | undefined, store: Store): ProviderWebhook {
  const signer = secret ? new Webhook(secret) : undefined;
  return {
    name: 'resend',
    missing: signer ? undefined : 'SMARTHOST_RESEND_WEBHOOK_SECRET (the whsec_… signing secret of the webhook in Resend)',
    async receive({ headers, body }): Promise<Received> {
      const id = header(headers, 'svix-id');
      try {
        signer!.verify(body.toString('utf8'), {
          'webhook-id': id ?? '', 'webhook-timestamp': header(headers, 'svix-timestamp') ?? '', 'webhook-signature': header(headers, 'svix-signature') ?? '',
        }, { jsonParse: false });
      } catch (err) {
        if (err instanceof WebhookVerificationError) throw unauthorized(`invalid Svix signature: ${err.message}`);
        throw err;
      }
      const json = parseJson(body.toString('utf8'));
      const type = (json as { type?: unknown } | null)?.type;
      if (typeof type !== 'string') throw malformed('no event type');
      const kind = kindOf(json as z.infer<typeof emailEvent>);
      if (!kind) return { events: [], unused: [{ id: id!, type }] };
      const { data } = parseShape(emailEvent, json, type);
      // Resend sends each recipient's event with the email's whole `to` list (resend/resend-python#68), Cc and Bcc
      // not even named: when our call carried several recipients, nothing says whose bounce or complaint this is,
      // and pinning it on all of them would bounce and suppress them all.
      const sent = await store.findDeliveryByProviderId(data.email_id);
      if (sent && sent.recipients.length > 1) return { events: [], unused: [{ id: id!, type, reason: AMBIGUOUS }] };
      const events = data.to.map((recipient): ProviderEvent => ({
        id: id!, kind, providerMessageId: data.email_id, recipient,
        diagnostic: data.bounce?.diagnosticCode?.[0],
        text: [data.bounce?.subType, data.bounce?.message].filter(Boolean).join(': ') || data.failed?.reason || data.suppressed?.message || type,
      }));
      return { events, unused: [] };
    },
  };
}

function kindOf(e: { type: string; data?: { bounce?: { type?: string } } }): ProviderEvent['kind'] | undefined {
  switch (e.type) {
    case 'email.bounced':
      // Resend reports SES's bounce types: Permanent, Transient, Undetermined.
      return e.data?.bounce?.type === 'Permanent' ? 'bounce' : 'soft-bounce';
    case 'email.complained':
      return 'complaint';
    case 'email.delivered':
      return 'delivery';
    case 'email.delivery_delayed':
      return 'delay';
    // Resend did not send to an address on its suppression list (a hard bounce or complaint before).
    case 'email.suppressed':
      return 'suppressed';
    // Resend could not send at all: quota, key, unverified domain — nothing about the address.
    case 'email.failed':
      return 'failed';
    default:
      return undefined;
  }
}
