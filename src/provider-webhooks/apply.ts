// Turns one provider event into smarthost's own: an event on the message (our
// outbound webhooks fire from it through the outbox trigger), and for a
// permanent bounce, a complaint or an address the provider itself suppresses,
// the suppression list. Each event applies once.
import { explainReply } from '../doctor/explain.ts';
import { formatReply, reply, type SmtpReply } from '../delivery/smtp-reply.ts';
import type { EventType, NewEvent, ProviderReport, Store } from '../store/store.ts';
import { diagnosticReply } from './diagnostic.ts';
import type { ProviderEvent, ProviderName } from './provider-event.ts';

export type ApplyResult = 'applied' | 'duplicate' | 'ignored';

const LABEL: Record<ProviderName, string> = { resend: 'Resend', postmark: 'Postmark', sendgrid: 'SendGrid', mailgun: 'Mailgun', ses: 'Amazon SES' };

/** The remote reply if the provider passed on one of the expected class, else a stand-in carrying the provider's words. */
function replyOf(e: ProviderEvent, expected: '2' | '4' | '5', fallback: SmtpReply): SmtpReply {
  const r = diagnosticReply(e.diagnostic);
  return r && String(r.code)[0] === expected ? r : { ...fallback, text: e.text || fallback.text };
}

function reportOf(provider: ProviderName, e: ProviderEvent, messageId: string, recipient: string, now: number): ProviderReport {
  const label = LABEL[provider];
  const base = { messageId, recipient, at: now, route: provider, providerMessageId: e.providerMessageId };
  const event = (type: EventType, detail: string, r?: SmtpReply): NewEvent & { recipient: string } =>
    ({ ...base, type, detail, ...(r && { reply: r }), ...(r && r.code >= 400 && { category: explainReply(r).category }) });
  const report = { provider, eventKey: `${e.id}:${recipient.toLowerCase()}` };
  switch (e.kind) {
    case 'bounce': {
      // No usable diagnostic on a hard bounce: the provider's verdict is "no such mailbox" (RFC 3463 X.1.1).
      const r = replyOf(e, '5', reply(550, '5.1.1', 'hard bounce'));
      return {
        ...report, event: event('bounced', `${label} reported a permanent bounce`, r), bounce: { lastReply: formatReply(r) },
        suppression: { address: recipient, reason: `${provider} bounce: ${formatReply(r)}`, createdAt: now },
      };
    }
    case 'soft-bounce':
      return { ...report, event: event('bounced', `${label} gave up after a temporary failure; not suppressed`, replyOf(e, '4', reply(450, '4.0.0', 'soft bounce'))) };
    case 'delay':
      return { ...report, event: event('deferred', `${label} is retrying`, replyOf(e, '4', reply(451, '4.0.0', 'delivery delayed'))) };
    case 'complaint':
      return {
        ...report, event: event('complained', `the recipient reported the message as spam (${label}: ${e.text || 'complaint'})`),
        suppression: { address: recipient, reason: `${provider} complaint: ${e.text || 'spam report'}`, createdAt: now },
      };
    case 'suppressed': {
      const r = replyOf(e, '5', reply(550, '5.7.1', 'address on the provider\'s suppression list'));
      return {
        ...report, event: event('bounced', `${label} did not send: the address is on its suppression list`, r), bounce: { lastReply: formatReply(r) },
        suppression: { address: recipient, reason: `${provider} suppression list: ${formatReply(r)}`, createdAt: now },
      };
    }
    case 'failed': {
      const r = replyOf(e, '5', reply(554, '5.0.0', 'not sent by the provider'));
      return { ...report, event: event('bounced', `${label} did not send it; not suppressed`, r), bounce: { lastReply: formatReply(r) } };
    }
    case 'delivery': {
      const r = diagnosticReply(e.diagnostic);
      return { ...report, event: event('delivered', `${label} delivered to the recipient's mail server`, r && r.code < 300 ? r : undefined) };
    }
  }
}

/** Applies `e` to the message whose provider id it names; 'ignored' when no message of ours has that id and recipient. */
export async function applyProviderEvent(store: Store, provider: ProviderName, e: ProviderEvent, now: number): Promise<ApplyResult> {
  const delivery = await store.findDeliveryByProviderId(e.providerMessageId, e.recipient);
  if (!delivery) return 'ignored';
  let applied = false;
  for (const recipient of delivery.recipients)
    if (await store.recordProviderReport(reportOf(provider, e, delivery.messageId, recipient, now))) applied = true;
  return applied ? 'applied' : 'duplicate';
}
