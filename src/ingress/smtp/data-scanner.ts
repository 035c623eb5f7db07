// Checks DATA bytes as they stream in. Only <CRLF>.<CRLF> ends a message, but
// a bare LF or CR inside it is how SMTP smuggling (CVE-2023-51764) hides a
// second message from a downstream server that accepts "\n.\n" as the end.
// We refuse such input instead of guessing, like Postfix's
// smtpd_forbid_bare_newline=reject; NUL bytes and over-long lines are refused
// too, since the stored bytes are exactly what goes out.
import { reply, type SmtpReply } from '../../delivery/smtp-reply.ts';

const CR = 13;
const LF = 10;
/** RFC 5322 §2.1.1: at most 998 characters on a line, excluding CRLF. */
export const MAX_LINE = 998;

export const bareLf = reply(550, '5.6.0', 'Message refused: bare <LF> received; lines must end with <CR><LF> (RFC 5321 section 2.3.8)');
export const bareCr = reply(550, '5.6.0', 'Message refused: bare <CR> received; lines must end with <CR><LF> (RFC 5321 section 2.3.8)');
export const nulByte = reply(550, '5.6.0', 'Message refused: it contains a NUL byte');
export const lineTooLong = reply(550, '5.6.0', `Message refused: a line is longer than ${MAX_LINE} characters (RFC 5322 section 2.1.1)`);

export class DataScanner {
  private prevCr = false;
  private lineLength = 0;
  /** The first problem found, if any; scanning stops there. */
  problem: SmtpReply | undefined;

  push(chunk: Buffer): void {
    if (this.problem) return;
    if (chunk.indexOf(0) !== -1) {
      this.problem = nulByte;
      return;
    }
    let start = 0;
    if (this.prevCr) {
      if (chunk.length === 0) return;
      if (chunk[0] !== LF) return void (this.problem = bareCr);
      this.prevCr = false;
      this.lineLength = 0;
      start = 1;
    }
    for (let i = start; i < chunk.length; ) {
      const lf = chunk.indexOf(LF, i);
      const end = lf === -1 ? chunk.length : lf;
      // A CR anywhere but right before LF is bare; the last byte may be a CR whose LF is in the next chunk.
      const cr = chunk.indexOf(CR, i);
      if (cr !== -1 && cr < end - 1) return void (this.problem = bareCr);
      if (lf === -1) {
        const trailingCr = cr === end - 1;
        this.lineLength += end - i - (trailingCr ? 1 : 0);
        this.prevCr = trailingCr;
        if (this.lineLength > MAX_LINE) this.problem = lineTooLong;
        return;
      }
      if (lf === 0 || chunk[lf - 1] !== CR) {
        // lf === start after a carried CR is handled above; here the LF has no CR before it.
        return void (this.problem = bareLf);
      }
      this.lineLength += lf - 1 - i;
      if (this.lineLength > MAX_LINE) return void (this.problem = lineTooLong);
      this.lineLength = 0;
      i = lf + 1;
    }
  }

  /** Call at the end of DATA: a trailing lone CR is bare too. */
  end(): SmtpReply | undefined {
    if (!this.problem && this.prevCr) this.problem = bareCr;
    return this.problem;
  }
}
