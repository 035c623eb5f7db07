// Providers pass the remote server's reply on in several shapes: SES and
// Resend `smtp; 550 5.1.1 user unknown`, Postmark `smtp;550 …`, SendGrid and
// Mailgun a code and text. Turn each into our SmtpReply.
import { parseReply, type SmtpReply } from '../delivery/smtp-reply.ts';

const LINE = /^(?:smtp\s*;\s*)?([245]\d\d)(?:[ -]+(.*))?$/is;

/** `smtp; 550 5.1.1 text` → 550 5.1.1 text; undefined when the line does not start with an SMTP reply code. */
export function diagnosticReply(line: string | undefined): SmtpReply | undefined {
  const m = line && LINE.exec(line.trim().replace(/\s+/g, ' '));
  return m ? parseReply(Number(m[1]), (m[2] ?? '').trim()) : undefined;
}
