// Postmark webhooks. Postmark signs nothing; it documents HTTP Basic auth put
// in the webhook URL (postmarkapp.com/developer/webhooks/webhooks-overview:
// "https://user:password@example.com/webhook"), so the endpoint requires the
// configured user and password. Bodies: postmarkapp.com/developer/webhooks/
// bounce-webhook, spam-complaint-webhook and delivery-webhook.
import { z } from 'zod';
import { basicAuthMatches } from './basic-auth.ts';
import { header, malformed, parseJson, parseShape, unauthorized, type ProviderEvent, type ProviderWebhook, type Received } from './provider-event.ts';

const record = z.object({ RecordType: z.string(), MessageID: z.string().min(1) });
const bounce = record.extend({
  Type: z.string(), Email: z.string().min(1), BouncedAt: z.string(), Details: z.string().optional(), Description: z.string().optional(),
  Inactive: z.boolean().optional(),
});
const delivery = record.extend({ Recipient: z.string().min(1), DeliveredAt: z.string(), Details: z.string().optional() });

/** Bounce types after which Postmark itself stops sending to the address. */
const PERMANENT = new Set(['HardBounce', 'BadEmailAddress', 'ManuallyDeactivated']);

export function postmarkWebhook(user: string | undefined, password: string | undefined): ProviderWebhook {
  const configured = user !== undefined && password !== undefined;
  return {
    name: 'postmark',
    missing: configured ? undefined : 'SMARTHOST_POSTMARK_WEBHOOK_USER and SMARTHOST_POSTMARK_WEBHOOK_PASSWORD (the Basic auth credentials in the webhook URL)',
    async receive({ headers, body }): Promise<Received> {
      if (!basicAuthMatches(header(headers, 'authorization'), user!, password!)) throw unauthorized('wrong or missing Basic auth credentials');
      const json = parseJson(body.toString('utf8'));
      const type = (json as { RecordType?: unknown } | null)?.RecordType;
      if (typeof type !== 'string') throw malformed('no RecordType');
      // Postmark's numeric ID can exceed 2^53 (JSON numbers lose it): the natural key is exact and the same on retries.
      if (type === 'Bounce' || type === 'SpamComplaint') {
        const b = parseShape(bounce, json, type);
        const kind = type === 'SpamComplaint' ? 'complaint' : PERMANENT.has(b.Type) || b.Inactive === true ? 'bounce' : 'soft-bounce';
        return one({ id: `${type}:${b.MessageID}:${b.BouncedAt}`, kind, providerMessageId: b.MessageID, recipient: b.Email, diagnostic: b.Details, text: `${b.Type}: ${b.Description ?? b.Details ?? ''}`.trim() });
      }
      if (type === 'Delivery') {
        const d = parseShape(delivery, json, type);
        return one({ id: `${type}:${d.MessageID}:${d.DeliveredAt}`, kind: 'delivery', providerMessageId: d.MessageID, recipient: d.Recipient, diagnostic: d.Details, text: d.Details ?? '' });
      }
      return { events: [], unused: [{ id: String((json as { MessageID?: unknown }).MessageID ?? ''), type }] };
    },
  };
}

const one = (e: ProviderEvent): Received => ({ events: [e], unused: [] });
