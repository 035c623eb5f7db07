// Delivery status notifications (bounces and delay warnings) as RFC 3464
// multipart/report messages, and the rule for when not to send one. The
// output is 7-bit ASCII with CRLF line ends and lines of at most 998
// characters (RFC 5322 §2.1.1), so any MTA can carry it without SMTPUTF8 or
// 8BITMIME, and it is a pure function of its input, so golden files are stable.
import { createHash } from 'node:crypto';
import { formatReply, type SmtpReply } from './smtp-reply.ts';

export interface DsnRecipient {
  address: string;
  action: 'failed' | 'delayed';
  /** The last reply: the remote's, or the one smarthost made for a connection failure. */
  reply: SmtpReply;
  /** Host name of the server that gave the reply. */
  remoteMta?: string;
  lastAttemptDate?: Date;
  /** Failed because the queue lifetime ran out, not because of a permanent reply. */
  expired?: boolean;
}

export interface DsnInput {
  /** Our hostname. */
  reportingMta: string;
  /** Our queue id for the original message. */
  originalMessageId: string;
  originalSender: string;
  arrivalDate: Date;
  /** The original message as accepted; only its header section is returned. */
  original: Buffer;
  recipients: readonly DsnRecipient[];
  now: Date;
  messageIdDomain: string;
}

export interface Dsn {
  sender: '';
  recipient: string;
  raw: Buffer;
}

const CRLF = '\r\n';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const isNullSender = (sender: string): boolean => sender.trim() === '' || sender.trim() === '<>';

/**
 * Whether a failure of this message should be reported to its sender.
 *
 * The primary rule: never notify the null sender. Bounces, DSNs and MDNs
 * travel with MAIL FROM:<> precisely so that a failure to deliver them
 * produces no further notification (RFC 5321 §4.5.5, §6.1); without this
 * two MTAs could bounce bounces to each other forever.
 *
 * The header checks are belt and braces for senders that break those rules
 * and send a notification with a real return path: a message that is itself
 * a delivery or disposition report (RFC 3464 §2, RFC 8098), or an automatic
 * reply (Auto-Submitted: auto-replied, RFC 3834 §5). Plain auto-generated
 * mail (Auto-Submitted: auto-generated) still gets its bounces: that is what
 * applications send through a relay, and their owners need to hear about
 * bad addresses.
 */
export function shouldSendDsn(originalSender: string, original?: Buffer | string): boolean {
  if (isNullSender(originalSender)) return false;
  if (original === undefined) return true;
  const fields = headerFields(typeof original === 'string' ? Buffer.from(original, 'latin1') : original);
  if (/^auto-replied\b/i.test(fields.get('auto-submitted') ?? '')) return false;
  const contentType = fields.get('content-type') ?? '';
  return !(
    /^multipart\/report\b/i.test(contentType) &&
    /\breport-type\s*=\s*"?(delivery-status|disposition-notification)\b/i.test(contentType)
  );
}

/** Builds the notification for one or more recipients of one message. */
export function buildDsn(input: DsnInput): Dsn {
  if (input.recipients.length === 0) throw new Error('buildDsn: no recipients to report on');
  if (isNullSender(input.originalSender)) throw new Error('buildDsn: the null sender is never notified (RFC 5321 §4.5.5)');

  const failed = input.recipients.some((r) => r.action === 'failed');
  const human = encodeBody(Buffer.from(humanText(input).join(CRLF) + CRLF, 'utf8'));
  const headers = encodeBody(Buffer.concat([headerSection(input.original), Buffer.from(CRLF)]));
  const status = deliveryStatus(input);
  const parts = [
    [
      'Content-Description: Notification',
      'Content-Type: text/plain; charset=utf-8',
      `Content-Transfer-Encoding: ${human.encoding}`,
      '',
      human.text,
    ],
    ['Content-Description: Delivery report', 'Content-Type: message/delivery-status', '', status],
    // RFC 3464 §2 allows the headers alone as the third part (RFC 6522
    // text/rfc822-headers): the sender learns which message it was without
    // us mailing the body back — smaller, and nothing private is repeated.
    [
      'Content-Description: Undelivered message headers',
      'Content-Type: text/rfc822-headers',
      `Content-Transfer-Encoding: ${headers.encoding}`,
      '',
      headers.text,
    ],
  ].map((lines) => lines.join(CRLF));
  const boundary = boundaryFor(input.originalMessageId, parts);

  const top = [
    `From: Mail Delivery System <MAILER-DAEMON@${input.reportingMta}>`,
    toField(input.originalSender),
    `Subject: ${failed ? 'Undelivered Mail Returned to Sender' : 'Delivery delayed'}`,
    `Date: ${formatDate(input.now)}`,
    `Message-ID: ${messageId(input)}`,
    // RFC 3834 §5: marks the notification as automatic, so vacation
    // responders and other auto-repliers leave it alone.
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status;${CRLF} boundary="${boundary}"`,
    '',
    // RFC 2046 §5.1.1 preamble: shown only by readers that do not speak MIME.
    'This is a MIME-encapsulated message.',
    '',
  ];
  // Every part body ends in CRLF; the CRLF before each "--boundary" belongs
  // to the delimiter (RFC 2046 §5.1.1), which leaves one blank line there.
  const raw = [top.join(CRLF), ...parts.map((part) => `--${boundary}${CRLF}${part}`), `--${boundary}--${CRLF}`].join(CRLF);
  // RFC 5321 §4.5.5 / §6.1: a notification is sent with the null reverse-path,
  // to the original envelope sender.
  return { sender: '', recipient: input.originalSender, raw: Buffer.from(raw, 'ascii') };
}

// ---- part 1: the explanation a person reads --------------------------------

function humanText(input: DsnInput): string[] {
  const failed = input.recipients.filter((r) => r.action === 'failed').length;
  const delayed = input.recipients.length - failed;
  const lines = [`This is the mail system at ${input.reportingMta}.`, ''];
  if (failed > 0)
    lines.push(
      ...wrap(`Your message could not be delivered to ${plural(failed, 'recipient')}. This is final: it will not be retried.`),
      '',
    );
  if (delayed > 0)
    lines.push(
      ...wrap(
        `Your message has not yet been delivered to ${plural(delayed, 'recipient')}. ` +
          'Delivery is still being retried; you do not need to send it again.',
      ),
      '',
    );
  lines.push(
    `  Sent by:   <${input.originalSender}>`,
    `  Accepted:  ${formatDate(input.arrivalDate)}`,
    `  Queue ID:  ${input.originalMessageId}`,
  );
  for (const r of input.recipients) {
    const outcome =
      r.action === 'delayed'
        ? 'not delivered yet, still trying'
        : r.expired
          ? `not delivered, gave up after ${duration(input.now.getTime() - input.arrivalDate.getTime())} of retrying`
          : 'not delivered';
    lines.push(
      '',
      `<${r.address}>: ${outcome}`,
      ...wrap(`${r.remoteMta ? `${r.remoteMta} said` : 'Reason'}: ${oneLine(formatReply(r.reply))}`, '    '),
      ...wrap(`In plain words: ${meaning(r.reply)}`, '    '),
    );
  }
  lines.push('', 'The delivery report and the headers of your message are attached.');
  return lines;
}

// RFC 3463 subject.detail codes senders meet most, in words a sender can act on.
const MEANINGS: Record<string, string> = {
  '1.1': 'the address does not exist at the receiving domain. Check it for typos.',
  '1.2': 'the receiving domain does not exist or does not accept mail. Check the part after the @.',
  '1.10': 'the receiving domain publishes that it accepts no mail at all (null MX, RFC 7505).',
  '2.1': 'the mailbox exists but is disabled and does not accept messages.',
  '2.2': 'the mailbox is full.',
  '2.3': 'the message is larger than this mailbox accepts.',
  '3.4': 'the message is larger than the receiving server accepts.',
  '4.1': 'the receiving server did not answer.',
  '4.2': 'the connection to the receiving server failed or was cut off.',
  '4.4': 'no mail server for the receiving domain could be found or reached.',
  '4.7': 'the message could not be delivered within the time allowed.',
  '7.1':
    'the receiving server refused the message by policy: a block list, a spam filter, greylisting ' +
    'or a rule about who may write to this address.',
  '7.26':
    'the receiving server could not verify that your domain sent the message. ' +
    'Check its SPF, DKIM and DMARC records.',
};

function meaning(reply: SmtpReply): string {
  const known = MEANINGS[reply.enhanced.split('.').slice(1).join('.')];
  if (known) return known;
  return reply.code >= 500
    ? 'the receiving server refused the message permanently; sending it again unchanged will fail the same way.'
    : 'the receiving side reported a temporary problem.';
}

// ---- part 2: the machine-readable report (RFC 3464 §2.2, §2.3) -------------

function deliveryStatus(input: DsnInput): string {
  const perMessage = [
    field('Reporting-MTA', `dns; ${input.reportingMta}`),
    // RFC 3464 §2.4: X- fields are for local use. Original-Envelope-Id is
    // reserved for the client's ENVID (RFC 3461), which is not our queue id.
    field('X-Smarthost-Queue-ID', input.originalMessageId),
    field('Arrival-Date', formatDate(input.arrivalDate)),
  ];
  const perRecipient = input.recipients.map((r) =>
    [
      field('Final-Recipient', typedAddress(r.address)),
      field('Action', r.action),
      // RFC 3463 §3.5 X.4.7 "Delivery time expired" is the reason we stopped;
      // its class 4 is right for a failure caused by a persisting transient
      // condition (RFC 3463 §3.1). The last reply stays in Diagnostic-Code.
      field('Status', r.expired ? '4.4.7' : r.reply.enhanced),
      ...(r.remoteMta ? [field('Remote-MTA', `dns; ${r.remoteMta}`)] : []),
      field('Diagnostic-Code', `smtp; ${formatReply(r.reply)}`),
      ...(r.lastAttemptDate ? [field('Last-Attempt-Date', formatDate(r.lastAttemptDate))] : []),
    ].join(CRLF),
  );
  // RFC 3464 §2.1: per-message fields, then each recipient's group after a blank line.
  return [perMessage.join(CRLF), ...perRecipient].join(CRLF + CRLF) + CRLF;
}

/**
 * `rfc822; addr` for ASCII addresses. A non-ASCII (SMTPUTF8) address uses
 * the `utf-8` type in its 7-bit utf-8-addr-xtext form (RFC 6533 §3): every
 * character outside "!".."~", and "+", "=" and "\", becomes \x{HEX}.
 */
function typedAddress(address: string): string {
  const clean = oneLine(address);
  if (/^[\x20-\x7e]+$/.test(clean)) return `rfc822; ${clean}`;
  const xtext = Array.from(clean, (c) =>
    /^[\x21-\x2a\x2c-\x3c\x3e-\x5b\x5d-\x7e]$/.test(c) ? c : `\\x{${c.codePointAt(0)!.toString(16).toUpperCase().padStart(2, '0')}}`,
  ).join('');
  return `utf-8; ${xtext}`;
}

// ---- part 3: the original header section -----------------------------------

/** The header section of a message, line ends normalised to CRLF, without the blank line. Bytes are kept as they are. */
function headerSection(message: Buffer): Buffer {
  const text = message.toString('latin1'); // one char per byte, so the bytes survive the round trip
  const end = text.search(/\r?\n\r?\n/);
  const head = end === -1 ? text.replace(/\r?\n$/, '') : text.slice(0, end);
  return Buffer.from(head.replace(/\r\n|\r|\n/g, CRLF), 'latin1');
}

/** Unfolded header fields by lower-case name (first occurrence wins). */
function headerFields(message: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  // RFC 5322 §2.2.3: a CRLF followed by white space continues the field.
  for (const line of headerSection(message).toString('latin1').replace(/\r\n(?=[ \t])/g, '').split(CRLF)) {
    const m = /^([!-9;-~]+)[ \t]*:(.*)$/.exec(line);
    if (m && !fields.has(m[1]!.toLowerCase())) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
  }
  return fields;
}

// ---- encoding helpers -------------------------------------------------------

/**
 * 7bit when the body already is (ASCII, lines ≤ 998); otherwise
 * quoted-printable (RFC 2045 §6.7), which both parts may use because they
 * are text/* types. The original headers can hold raw 8-bit bytes in any
 * charset; QP carries them unchanged instead of mangling them.
 */
function encodeBody(body: Buffer): { encoding: '7bit' | 'quoted-printable'; text: string } {
  const text = body.toString('latin1');
  const lines = text.split(CRLF);
  if (lines.every((l) => l.length <= 998 && /^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(l))) return { encoding: '7bit', text };
  return { encoding: 'quoted-printable', text: lines.map(quotedPrintableLine).join(CRLF) };
}

/** RFC 2045 §6.7: encode one line's bytes, with soft breaks ("=") keeping encoded lines ≤ 76 characters. */
function quotedPrintableLine(line: string): string {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < line.length; i++) {
    const byte = line.charCodeAt(i);
    const atEnd = i === line.length - 1;
    // Rule 3: a space or tab is literal unless it ends the line (it would be stripped in transit).
    const literal = (byte >= 33 && byte <= 126 && byte !== 61) || ((byte === 32 || byte === 9) && !atEnd);
    const token = literal ? line[i]! : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    if (current.length + token.length > 75) {
      out.push(current + '=');
      current = '';
    }
    current += token;
  }
  out.push(current);
  return out.join(CRLF);
}

/** Header field text: controls become spaces (no injected lines), non-ASCII becomes "?" (the part is 7-bit). */
const asciiText = (value: string): string => oneLine(value).replace(/[^\x20-\x7e]/g, '?');

/** Collapses CR, LF, tabs and other controls to single spaces. */
const oneLine = (value: string): string =>
  value
    .replace(/[\x00-\x1f\x7f]+/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();

/** A header field folded at spaces near 78 columns (RFC 5322 §2.1.1, §2.2.3); a word too long for one line is split so no line exceeds 998. */
function field(name: string, value: string): string {
  const words = asciiText(value)
    .split(' ')
    .flatMap((w) => w.match(/.{1,900}/g) ?? []);
  const lines: string[] = [];
  let line = `${name}:`;
  for (const word of words) {
    if (line.length + 1 + word.length > 78 && line.trim() !== `${name}:`) {
      lines.push(line);
      line = '';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines.join(CRLF);
}

/**
 * The To: field. An ASCII sender is written as an address. A non-ASCII one
 * cannot be: RFC 2047 §5 forbids encoded-words inside an addr-spec, and a
 * raw UTF-8 header would need SMTPUTF8 (RFC 6532). So it becomes the
 * RFC 2047-encoded display name of an empty group (RFC 5322 §3.4) — readers
 * show the address, the header stays 7-bit, and the envelope still carries
 * the real recipient.
 */
function toField(sender: string): string {
  if (/^[\x20-\x7e]+$/.test(sender)) return `To: <${sender}>`;
  const words: string[] = [];
  let chunk = '';
  // RFC 2047 §2: an encoded-word is at most 75 characters; 45 bytes of UTF-8
  // make 60 base64 characters plus 12 of framing. §5: never split a character.
  for (const c of oneLine(sender)) {
    if (Buffer.byteLength(chunk + c) > 45) {
      words.push(encodedWord(chunk));
      chunk = '';
    }
    chunk += c;
  }
  words.push(encodedWord(chunk));
  return `To: ${words.join(`${CRLF} `)} :;`;
}

const encodedWord = (text: string): string => `=?utf-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;

/**
 * A boundary derived from the queue id, so the same input always gives the
 * same bytes, and checked against every part: RFC 2046 §5.1.1 requires that
 * it occur in none of them. On the (astronomically unlikely, or contrived)
 * collision, the next candidate is taken.
 */
function boundaryFor(queueId: string, parts: readonly string[]): string {
  for (let n = 0; ; n++) {
    const boundary = `=_dsn_${sha256(`${queueId}\0${n}`).slice(0, 24)}`;
    if (!parts.some((p) => p.includes(boundary))) return boundary;
  }
}

/** Unique per notification (message, time, recipients) yet deterministic, like the rest of the output. */
function messageId(input: DsnInput): string {
  const who = input.recipients.map((r) => `${r.action}:${r.address}`).join(',');
  return `<dsn.${sha256(`${input.originalMessageId}\0${input.now.toISOString()}\0${who}`).slice(0, 24)}@${input.messageIdDomain}>`;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** RFC 5322 §3.3 date-time in UTC, with the numeric zone the RFC asks for rather than the obsolete "GMT". */
const formatDate = (date: Date): string => date.toUTCString().replace(/GMT$/, '+0000');

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

function duration(ms: number): string {
  if (ms >= DAY) return plural(Math.round(ms / DAY), 'day');
  if (ms >= HOUR) return plural(Math.round(ms / HOUR), 'hour');
  return plural(Math.max(1, Math.round(ms / MINUTE)), 'minute');
}

/** Greedy word wrap at 72 columns; a word longer than that keeps its own line (encodeBody copes with any length). */
function wrap(text: string, indent = ''): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ').filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > 72) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines;
}
