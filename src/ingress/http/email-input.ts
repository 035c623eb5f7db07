// The one validated shape both API dialects are turned into, and the checks
// every field passes: no CR/LF anywhere a header is built from, real
// addresses, real base64, a bounded number of recipients.
import addressparser from 'nodemailer/lib/addressparser';
import type { Tag } from '../../store/store.ts';
import { validation } from './errors.ts';

export interface Address {
  name: string;
  address: string;
}

export interface EmailInput {
  from: Address;
  to: Address[];
  cc: Address[];
  bcc: Address[];
  replyTo: Address[];
  subject: string;
  text?: string;
  html?: string;
  headers: [string, string][];
  attachments: { filename: string; content: Buffer; contentType?: string; contentId?: string }[];
  tags: Tag[];
}

export const MAX_RECIPIENTS = 50;
const ADDRESS = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:".]+$/u;
const HEADER_NAME = /^[!-9;-~]+$/; // RFC 5322 §2.2: printable ASCII except ':'
// Headers the composer writes itself; letting a request set them would produce a second copy or a broken MIME tree.
const RESERVED = new Set(['from', 'to', 'cc', 'bcc', 'reply-to', 'subject', 'mime-version', 'content-type', 'content-transfer-encoding', 'received']);

export function noLineBreaks(field: string, value: string): string {
  if (/[\r\n]/.test(value)) throw validation(`${field} must not contain line breaks`);
  return value;
}

/** "Name <a@b>", "a@b", or a comma-separated list of them. */
export function parseAddresses(field: string, value: string | string[] | undefined): Address[] {
  if (value === undefined) return [];
  const items = Array.isArray(value) ? value : [value];
  const out: Address[] = [];
  for (const item of items) {
    noLineBreaks(field, item);
    const parsed = addressparser(item, { flatten: true });
    if (parsed.length === 0) throw validation(`${field}: no address in ${JSON.stringify(item)}`);
    for (const a of parsed) {
      if (!ADDRESS.test(a.address)) throw validation(`${field}: invalid email address ${JSON.stringify(a.address || item)}`);
      out.push({ name: a.name, address: a.address });
    }
  }
  return out;
}

export function parseSingleAddress(field: string, value: string): Address {
  const list = parseAddresses(field, value);
  if (list.length !== 1) throw validation(`${field} must be exactly one address`);
  return list[0]!;
}

export function checkHeaders(entries: [string, string][]): [string, string][] {
  for (const [name, value] of entries) {
    if (!HEADER_NAME.test(name)) throw validation(`headers: invalid header name ${JSON.stringify(name)}`);
    if (RESERVED.has(name.toLowerCase())) throw validation(`headers: ${name} is set from its own field, not from headers`);
    noLineBreaks(`headers.${name}`, value);
  }
  return entries;
}

export function decodeBase64(field: string, value: string): Buffer {
  const compact = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) throw validation(`${field} is not valid base64`);
  return Buffer.from(compact, 'base64');
}

export function checkRecipients(input: EmailInput): EmailInput {
  const count = input.to.length + input.cc.length + input.bcc.length;
  if (count === 0) throw validation('at least one recipient (to, cc or bcc) is required');
  if (count > MAX_RECIPIENTS) throw validation(`at most ${MAX_RECIPIENTS} recipients per email (to, cc and bcc together); got ${count}`);
  if (!input.text && !input.html && input.attachments.length === 0) throw validation('an email needs text, html or an attachment');
  return input;
}
