// The HTTP side of the accept step: validated input → MIME → accept (the same
// call SMTP makes) → the queue id, after the durable commit.
import type { Accept, Principal } from '../../accept/accept.ts';
import { checkSendLimits, maxMessageSizeFor, RateLimited } from '../../accept/limits.ts';
import { SmtpError } from '../../delivery/smtp-reply.ts';
import type { Store } from '../../store/store.ts';
import { composeMessage } from './compose.ts';
import type { EmailInput } from './email-input.ts';
import { ApiError, fromSmtpReply, overLimit } from './errors.ts';

export interface SendContext {
  accept: Accept;
  store: Store;
  principal: Principal;
  clientAddress: string;
  secure: boolean;
  maxMessageSize: number;
}

export async function sendEmail(input: EmailInput, ctx: SendContext): Promise<{ id: string; recipients: string[] }> {
  const { sender, recipients, raw } = await composeMessage(input);
  const max = maxMessageSizeFor(ctx.principal, ctx.maxMessageSize);
  if (raw.length > max) throw new ApiError(413, 'validation_error', `email is ${raw.length} bytes; the limit is ${max}`, {}, 300);
  try {
    const accepted = await ctx.accept({
      source: 'http', principal: ctx.principal, clientAddress: ctx.clientAddress, protocol: ctx.secure ? 'HTTPS' : 'HTTP',
      sender, recipients, raw, tags: input.tags, subject: input.subject,
    });
    return { id: accepted.id, recipients };
  } catch (err) {
    throw asApiError(err);
  }
}

/** Refuses a batch of `count` emails up front when they would not all fit the key's limits, so none of it is queued. */
export async function checkRoomFor(count: number, ctx: SendContext): Promise<void> {
  await checkSendLimits(ctx.store, ctx.principal, Date.now(), count).catch((err: unknown) => {
    throw asApiError(err);
  });
}

function asApiError(err: unknown): unknown {
  if (err instanceof RateLimited) return overLimit(err);
  if (err instanceof SmtpError) return fromSmtpReply(err.reply);
  return err;
}
