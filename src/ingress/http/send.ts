// The HTTP side of the accept step: validated input → MIME → accept (the same
// call SMTP makes) → the queue id, after the durable commit.
import type { Accept, Principal } from '../../accept/accept.ts';
import { SmtpError } from '../../delivery/smtp-reply.ts';
import { composeMessage } from './compose.ts';
import type { EmailInput } from './email-input.ts';
import { ApiError, fromSmtpReply } from './errors.ts';

export interface SendContext {
  accept: Accept;
  principal: Principal;
  clientAddress: string;
  secure: boolean;
  maxMessageSize: number;
}

export async function sendEmail(input: EmailInput, ctx: SendContext): Promise<{ id: string; recipients: string[] }> {
  const { sender, recipients, raw } = await composeMessage(input);
  if (raw.length > ctx.maxMessageSize)
    throw new ApiError(413, 'validation_error', `email is ${raw.length} bytes; the limit is ${ctx.maxMessageSize}`, {}, 300);
  try {
    const accepted = await ctx.accept({
      source: 'http', principal: ctx.principal, clientAddress: ctx.clientAddress, protocol: ctx.secure ? 'HTTPS' : 'HTTP',
      sender, recipients, raw, tags: input.tags,
    });
    return { id: accepted.id, recipients };
  } catch (err) {
    if (err instanceof SmtpError) throw fromSmtpReply(err.reply);
    throw err;
  }
}
