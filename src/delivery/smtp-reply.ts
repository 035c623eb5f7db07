// SMTP replies are the lingua franca of delivery state: every transport, the
// ingress and the DSN builder speak SmtpReply. The first digit decides retry
// (4) versus stop (5) here and nowhere else.

export type EnhancedCode = `${2 | 4 | 5}.${number}.${number}`;

export interface SmtpReply {
  code: number;
  enhanced: EnhancedCode;
  text: string;
}

export type ReplyClass = 'success' | 'transient' | 'permanent';

export function classifyReply(reply: Pick<SmtpReply, 'code'>): ReplyClass {
  if (reply.code >= 200 && reply.code < 400) return 'success';
  if (reply.code >= 400 && reply.code < 500) return 'transient';
  return 'permanent';
}

const ENHANCED_RE = /^([245])\.(\d{1,3})\.(\d{1,3})(?:\s+|$)/;

/** Parses `550 5.1.1 User unknown` (or the parts nodemailer gives us) into a reply. */
export function parseReply(code: number, line: string): SmtpReply {
  let text = line.trim().replace(/^\d{3}[ -]/, '');
  const m = ENHANCED_RE.exec(text);
  let enhanced: EnhancedCode;
  if (m && m[1] === String(code)[0]) {
    enhanced = `${m[1]}.${m[2]}.${m[3]}` as EnhancedCode;
    text = text.slice(m[0].length);
  } else {
    // RFC 3463 §3.1: the class follows the basic code; subject/detail unknown.
    enhanced = `${String(code)[0]}.0.0` as EnhancedCode;
  }
  return { code, enhanced, text: text.trim() };
}

export function formatReply(reply: SmtpReply): string {
  return `${reply.code} ${reply.enhanced} ${reply.text}`;
}

/** A local (not remote) reply, for outcomes smarthost decides itself. */
export const reply = (code: number, enhanced: EnhancedCode, text: string): SmtpReply => ({ code, enhanced, text });

/** An error that carries the exact reply to give the client. */
export class SmtpError extends Error {
  readonly responseCode: number;
  constructor(readonly reply: SmtpReply, options?: ErrorOptions) {
    // smtp-server prints err.message after the basic code; our replies carry
    // their own enhanced code, printed once (see ingress/smtp/reply-codes.ts).
    super(`${reply.enhanced} ${reply.text}`, options);
    this.responseCode = reply.code;
  }
}
