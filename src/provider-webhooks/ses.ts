// Amazon SES reports bounces, complaints and deliveries through an SNS topic
// (docs.aws.amazon.com/ses/latest/dg/notification-contents.html, and event publishing's
// event-publishing-retrieving-sns-contents.html). SNS signs each POST
// (docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html): SignatureVersion 1 is
// SHA1withRSA and 2 SHA256withRSA over "Name\nvalue\n" of the message's fields, checked against the
// certificate at SigningCertURL. AWS's own validator (sns-validator) does that, fetching the certificate
// over HTTPS only from the allowed SNS host. Another topic is refused; a SubscriptionConfirmation is
// confirmed by GETting its SubscribeURL, from that same host only.
import MessageValidator from 'sns-validator';
import { z } from 'zod';
import { malformed, parseJson, parseShape, unauthorized, type ProviderEvent, type ProviderWebhook, type Received } from './provider-event.ts';

/** Fetching the signing certificate or confirming a subscription may take this long. */
const FETCH_TIMEOUT_MS = 10_000;

const snsMessage = z.looseObject({
  Type: z.enum(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']),
  MessageId: z.string().min(1),
  TopicArn: z.string(),
  Message: z.string(),
  SubscribeURL: z.string().optional(),
});

const recipient = z.looseObject({ emailAddress: z.string().min(1), status: z.string().optional(), diagnosticCode: z.string().optional() });
const sesEvent = z.looseObject({
  // Identity notifications say notificationType; configuration-set event publishing says eventType.
  notificationType: z.string().optional(),
  eventType: z.string().optional(),
  mail: z.looseObject({ messageId: z.string().min(1) }),
  bounce: z.looseObject({ bounceType: z.string(), bounceSubType: z.string().optional(), bouncedRecipients: z.array(recipient) }).optional(),
  complaint: z.looseObject({ complainedRecipients: z.array(recipient), complaintFeedbackType: z.string().optional() }).optional(),
  delivery: z.looseObject({ recipients: z.array(z.string()), smtpResponse: z.string().optional() }).optional(),
  deliveryDelay: z.looseObject({ delayType: z.string().optional(), delayedRecipients: z.array(recipient) }).optional(),
});

/** The SNS endpoint host of the topic's region: sns.<region>.amazonaws.com (.com.cn in the China partition). */
export function snsHostOf(topicArn: string): string {
  const [, partition, , region] = topicArn.split(':');
  return `sns.${region}.amazonaws.com${partition === 'aws-cn' ? '.cn' : ''}`;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function sesWebhook(topicArn: string | undefined, certHost: string | undefined): ProviderWebhook {
  const host = topicArn ? (certHost ?? snsHostOf(topicArn)) : '';
  const validator = new MessageValidator(new RegExp(`^${escapeRegExp(host)}$`, 'i'));
  return {
    name: 'ses',
    missing: topicArn ? undefined : 'SMARTHOST_SES_SNS_TOPIC_ARN (the SNS topic SES sends its notifications to)',
    async receive({ body }): Promise<Received> {
      const json = parseJson(body.toString('utf8'));
      const sns = parseShape(snsMessage, json, 'SNS message');
      if (sns.TopicArn !== topicArn) throw unauthorized(`SNS message from topic ${sns.TopicArn}, not ${topicArn}`);
      await validate(validator, json as Record<string, unknown>);
      if (sns.Type === 'SubscriptionConfirmation') {
        await confirm(sns.SubscribeURL, host);
        return { events: [], unused: [], note: `subscribed to ${sns.TopicArn}` };
      }
      if (sns.Type === 'UnsubscribeConfirmation') return { events: [], unused: [{ id: sns.MessageId, type: sns.Type }] };
      return eventsOf(sns.MessageId, parseShape(sesEvent, parseJson(sns.Message), 'SES event in Message'));
    },
  };
}

function validate(validator: MessageValidator, message: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the SNS signing certificate did not arrive in time')), FETCH_TIMEOUT_MS);
    validator.validate(message, (err) => {
      clearTimeout(timer);
      if (!err) return resolve();
      // A certificate we could not fetch is our problem, not the sender's: answer 500 so SNS retries.
      const unreachable = err.message === 'Certificate could not be retrieved' || 'code' in err;
      reject(unreachable ? new Error(`fetching the SNS signing certificate failed: ${err.message}`, { cause: err }) : unauthorized(`invalid SNS signature: ${err.message}`));
    });
  });
}

async function confirm(subscribeUrl: string | undefined, host: string): Promise<void> {
  let url: URL;
  try {
    url = new URL(subscribeUrl ?? '');
  } catch {
    throw malformed('SubscriptionConfirmation without a SubscribeURL');
  }
  if (url.protocol !== 'https:' || url.host.toLowerCase() !== host.toLowerCase()) throw unauthorized(`SubscribeURL is not on https://${host}`);
  const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`confirming the SNS subscription failed: HTTP ${res.status} from ${url.host}`);
}

function eventsOf(snsMessageId: string, e: z.infer<typeof sesEvent>): Received {
  const type = e.eventType ?? e.notificationType ?? '';
  const event = (kind: ProviderEvent['kind'], rcpt: string, text: string, diagnostic?: string): ProviderEvent =>
    ({ id: snsMessageId, kind, providerMessageId: e.mail.messageId, recipient: rcpt, text, ...(diagnostic && { diagnostic }) });
  if (type === 'Bounce' && e.bounce) {
    const b = e.bounce;
    // bounceType Permanent: do not send again; Transient and Undetermined: not suppressed.
    const kind = b.bounceType === 'Permanent' ? 'bounce' : 'soft-bounce';
    return { events: b.bouncedRecipients.map((r) => event(kind, r.emailAddress, `${b.bounceType}/${b.bounceSubType ?? ''}`, r.diagnosticCode)), unused: [] };
  }
  if (type === 'Complaint' && e.complaint) {
    const c = e.complaint;
    return { events: c.complainedRecipients.map((r) => event('complaint', r.emailAddress, c.complaintFeedbackType ?? 'complaint')), unused: [] };
  }
  if (type === 'Delivery' && e.delivery) {
    const d = e.delivery;
    return { events: d.recipients.map((r) => event('delivery', r, d.smtpResponse ?? '', d.smtpResponse)), unused: [] };
  }
  if (type === 'DeliveryDelay' && e.deliveryDelay) {
    const d = e.deliveryDelay;
    return { events: d.delayedRecipients.map((r) => event('delay', r.emailAddress, d.delayType ?? 'delayed', r.diagnosticCode)), unused: [] };
  }
  return { events: [], unused: [{ id: snsMessageId, type }] };
}
