// Both adapters name the events columns alike, so one mapper reads a row of either.
import type { SmtpReply } from '../delivery/smtp-reply.ts';
import type { Category } from '../doctor/explain.ts';
import type { StoredEvent } from './store.ts';

export function eventRow(r: Record<string, unknown>): StoredEvent {
  return {
    id: r.id as number, messageId: r.message_id as string, recipient: r.recipient as string | null,
    type: r.type as StoredEvent['type'], at: r.at as number,
    ...(r.route != null && { route: r.route as string }),
    ...(r.relay != null && { relay: r.relay as string }),
    ...(r.tls != null && { tls: r.tls as string }),
    ...(r.reply_code != null && {
      reply: { code: r.reply_code as number, enhanced: r.reply_enhanced as SmtpReply['enhanced'], text: r.reply_text as string },
    }),
    ...(r.attempt != null && { attempt: r.attempt as number }),
    ...(r.detail != null && { detail: r.detail as string }),
    ...(r.category != null && { category: r.category as Category }),
    ...(r.provider_message_id != null && { providerMessageId: r.provider_message_id as string }),
  };
}
