// What an SMTP peer's replies and failures mean, for smtp-session.ts: a raw
// reply as an SmtpReply, whether a failure ended the session or refused the
// message, and TLS and network errors in plain words for the reply text.
import type { SMTPError } from 'nodemailer/lib/smtp-connection';
import { explainError } from '../../doctor/explain.ts';
import { parseReply, reply, type SmtpReply } from '../smtp-reply.ts';

/** Turns a raw (possibly multi-line) server reply into one SmtpReply. */
export function remoteReply(response: string, code?: number): SmtpReply {
  const lines = response.split(/\r?\n/).filter((l) => l.trim() !== '');
  const first = lines[0] ?? '';
  const basic = code ?? Number(/^\d{3}/.exec(first)?.[0] ?? 451);
  // Continuation lines repeat the code and the enhanced code (RFC 2034 §4); keep their text only.
  const rest = lines.slice(1).map((l) => l.replace(/^\d{3}[ -](?:[245]\.\d{1,3}\.\d{1,3}\s+)?/, ''));
  return parseReply(basic, [first, ...rest].join(' '));
}

/**
 * The session is gone rather than the message refused: a 421, the connection closed or broken, no reply in
 * time (nodemailer's own isTransientError, which its pool uses the same way). Errors nodemailer raises
 * before talking to the server (an unusable address, the peer's SIZE) are the message's, on any session.
 */
export function sessionLost(err: SMTPError): boolean {
  return err.responseCode === 421 || err.code === 'ECONNECTION' || err.code === 'ESOCKET' || err.code === 'ETIMEDOUT';
}

/** The server answered the failed command with a reply other than 421 (which closes the session). */
export function answered(err: SMTPError): boolean {
  return (err.code === 'EENVELOPE' || err.code === 'EMESSAGE') && !!err.responseCode && err.responseCode !== 421;
}

export const timedOut = (label: string) => reply(451, '4.4.2', `${label} timed out waiting for a reply`);

/** One line for a reply text: OpenSSL's short reason when there is one, never CR/LF. */
export function describe(err: SMTPError): string {
  return ((err as { reason?: string }).reason ?? err.message).replace(/\s+/g, ' ').trim();
}

/**
 * A certificate verification code (CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, …) in plain words.
 * Node types `authorizationError` as an Error but sets the OpenSSL code string.
 */
export function certificateProblem(code: string | Error | null | undefined): string {
  const name = code instanceof Error ? ((code as NodeJS.ErrnoException).code ?? code.message) : (code ?? 'unknown');
  const why = explainError({ code: name });
  return why.category === 'tls' ? `${why.meaning} (${name})` : `certificate not verified (${name})`;
}

/** A failed handshake in plain words: what is wrong with the certificate, with OpenSSL's or Node's own text. */
export function handshakeProblem(err: SMTPError): string {
  const why = explainError({ code: err.originalCode ?? err.code, message: err.message });
  return why.category === 'tls' ? `${why.meaning} (${describe(err)})` : describe(err);
}

export function isTlsError(err: SMTPError): boolean {
  return /^ERR_(SSL|TLS)_|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(err.originalCode ?? '');
}

export function rejectedReplies(errors: readonly SMTPError[]): Map<string, SmtpReply> {
  const out = new Map<string, SmtpReply>();
  for (const e of errors) if (e.recipient) out.set(e.recipient, remoteReply(e.response ?? '', e.responseCode));
  return out;
}
