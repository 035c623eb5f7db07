// SendGrid's Signed Event Webhook (twilio.com/docs/sendgrid/for-developers/tracking-events/
// getting-started-event-webhook-security-features): an ECDSA P-256 / SHA-256 signature, base64 DER, in
// X-Twilio-Email-Event-Webhook-Signature over the X-Twilio-Email-Event-Webhook-Timestamp header followed by
// the raw body; the verification key is shown base64 DER (SubjectPublicKeyInfo). SendGrid documents no
// timestamp window; a replayed body only repeats events, each applied once by its sg_event_id.
// Body: a JSON array of events (twilio.com/docs/sendgrid/for-developers/tracking-events/event).
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { header, parseJson, parseShape, unauthorized, type ProviderEvent, type ProviderWebhook, type Received } from './provider-event.ts';

const events = z.array(z.looseObject({
  event: z.string(),
  sg_event_id: z.string().min(1),
  sg_message_id: z.string().optional(),
  email: z.string().optional(),
  type: z.string().optional(),
  reason: z.string().optional(),
  response: z.string().optional(),
  status: z.string().optional(),
}));

export function sendgridWebhook(publicKey: string | undefined): ProviderWebhook {
  const key: KeyObject | undefined = publicKey ? createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' }) : undefined;
  return {
    name: 'sendgrid',
    missing: key ? undefined : 'SMARTHOST_SENDGRID_WEBHOOK_PUBLIC_KEY (the verification key of the Signed Event Webhook)',
    async receive({ headers, body }): Promise<Received> {
      const signature = header(headers, 'x-twilio-email-event-webhook-signature');
      const timestamp = header(headers, 'x-twilio-email-event-webhook-timestamp');
      if (!signature || !timestamp) throw unauthorized('missing X-Twilio-Email-Event-Webhook-Signature or -Timestamp');
      if (!signedBy(key!, Buffer.concat([Buffer.from(timestamp, 'utf8'), body]), signature)) throw unauthorized('invalid Event Webhook signature');
      const received: Received = { events: [], unused: [] };
      for (const e of parseShape(events, parseJson(body.toString('utf8')), 'events')) {
        const kind = kindOf(e);
        if (!kind || !e.sg_message_id || !e.email) {
          received.unused.push({ id: e.sg_event_id, type: e.event });
          continue;
        }
        received.events.push({
          id: e.sg_event_id, kind, providerMessageId: sendId(e.sg_message_id), recipient: e.email,
          diagnostic: withStatus(e.reason ?? e.response, e.status), text: e.reason ?? e.response ?? e.event,
        });
      }
      return received;
    },
  };
}

function signedBy(key: KeyObject, data: Buffer, signature: string): boolean {
  try {
    return verify('sha256', data, key, Buffer.from(signature, 'base64'));
  } catch {
    return false; // not a DER signature at all
  }
}

function kindOf(e: z.infer<typeof events>[number]): ProviderEvent['kind'] | undefined {
  switch (e.event) {
    // type "bounce" is a permanent bounce; "blocked" a refusal SendGrid does not add to its own suppressions.
    case 'bounce':
      return e.type === 'blocked' ? 'soft-bounce' : 'bounce';
    case 'deferred':
      return 'delay';
    case 'delivered':
      return 'delivery';
    case 'spamreport':
      return 'complaint';
    case 'dropped':
      return DEAD_ADDRESS.has(e.reason ?? '') ? 'suppressed' : 'failed';
    default:
      return undefined;
  }
}

/**
 * Drop reasons that name one of SendGrid's own suppression lists of dead addresses (docs.sendgrid.com/glossary/drops):
 * it bounced, reported spam, or is on the Invalid Emails list. Other drops ("Unsubscribed Address" — the
 * recipient's choice about this sender's mail at SendGrid — "Spam Content", "Invalid SMTPAPI header") say nothing
 * about whether the address works.
 */
const DEAD_ADDRESS = new Set(['Bounced Address', 'Spam Reporting Address', 'Invalid']);

/**
 * sg_message_id is the send reply's X-Message-Id followed by the receiving server's part: `.filter…` in
 * the documentation's (older) examples, `.recvd-…` today. The id itself may contain dots (`14c5d75ce93.dfd.64b469`).
 */
const sendId = (sgMessageId: string) => {
  const i = sgMessageId.search(/\.(filter|recvd)/);
  return i > 0 ? sgMessageId.slice(0, i) : sgMessageId;
};

/** `500 unknown recipient` + status 5.0.0 → `500 5.0.0 unknown recipient`. */
function withStatus(reason: string | undefined, status: string | undefined): string | undefined {
  const m = reason && /^([245]\d\d)\s+(.*)$/s.exec(reason.trim());
  if (!m || !status || /^[245]\.\d+\.\d+\s/.test(m[2]!)) return reason;
  return `${m[1]} ${status} ${m[2]}`;
}
