// Turns the stored MIME message into the parts a JSON send API takes (Resend,
// Postmark, SendGrid accept no raw MIME): addresses, subject, bodies, custom
// headers and attachments, parsed with mailparser. The provider composes and
// DKIM-signs a new message from these, so our own DKIM-Signature is dropped.
import type { AddressObject } from 'mailparser';
import { inChunks } from './api-call.ts';

export interface Address {
  address: string;
  name?: string;
}

export interface Attachment {
  filename: string;
  content: Buffer;
  contentType: string;
  /** Content-ID without angle brackets, for parts the HTML references as cid:…; only for inline parts. */
  contentId?: string;
}

export interface ParsedMessage {
  from?: Address;
  replyTo: Address[];
  subject: string;
  text?: string;
  html?: string;
  /** Headers the API does not compose itself, in order, unfolded: Message-ID, In-Reply-To, References, List-*, X-*… */
  headers: { name: string; value: string }[];
  attachments: Attachment[];
  /** Display names from To:/Cc:/Bcc:, and where each header address appeared, keyed by lower-case address. */
  headerAddresses: Map<string, { name?: string; field: 'to' | 'cc' | 'bcc' }>;
}

/** Recipients of one API call. */
export interface Recipients {
  to: Address[];
  cc: Address[];
  bcc: Address[];
}

// Headers the API builds from its own fields, or that describe our copy and
// would be wrong on the provider's: trace headers (the provider adds its own
// Received:), our DKIM signature (the provider signs the re-composed message),
// MIME structure, and Date (the provider stamps the time it sends). SendGrid
// refuses x-sg-id and x-sg-eid outright.
const COMPOSED = new Set([
  'from', 'to', 'cc', 'bcc', 'subject', 'reply-to', 'sender', 'date', 'mime-version', 'content-type',
  'content-transfer-encoding', 'content-disposition', 'content-id', 'content-description', 'dkim-signature',
  'received', 'return-path', 'x-sg-id', 'x-sg-eid',
]);

const firstAddress = (obj: AddressObject | AddressObject[] | undefined): Address | undefined => addressesOf(obj)[0];

function addressesOf(obj: AddressObject | AddressObject[] | undefined): Address[] {
  const out: Address[] = [];
  for (const o of obj === undefined ? [] : Array.isArray(obj) ? obj : [obj])
    for (const v of o.value) {
      // A group (RFC 5322 §3.4, "undisclosed-recipients:;") lists its members in `group`.
      for (const m of v.group ?? [v]) if (m.address) out.push({ address: m.address, ...(m.name && { name: m.name }) });
    }
  return out;
}

export async function parseMessage(raw: Buffer): Promise<ParsedMessage> {
  // Loaded on first use: only the Resend, Postmark and SendGrid routes parse mail (about 8 MB otherwise).
  const { simpleParser } = await import('mailparser');
  const mail = await simpleParser(raw, {
    // The original's parts as they are: no cid: images turned into data: URLs,
    // no text made up from HTML or HTML from text, no links added.
    keepCidLinks: true,
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipTextLinks: true,
    skipImageLinks: true,
  });
  const headerAddresses: ParsedMessage['headerAddresses'] = new Map();
  for (const field of ['to', 'cc', 'bcc'] as const)
    for (const a of addressesOf(mail[field])) {
      const key = a.address.toLowerCase();
      if (!headerAddresses.has(key)) headerAddresses.set(key, { field, ...(a.name && { name: a.name }) });
    }
  const headers: ParsedMessage['headers'] = [];
  for (const { line } of mail.headerLines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim();
    if (colon < 1 || COMPOSED.has(name.toLowerCase())) continue;
    // RFC 5322 §2.2.3: unfold by removing the CRLF before the folding white space.
    headers.push({ name, value: line.slice(colon + 1).replace(/\r?\n(?=[ \t])/g, '').trim() });
  }
  const attachments = mail.attachments.map((a, i): Attachment => {
    const inline = a.contentDisposition === 'inline' || (a.related && !!a.cid);
    return {
      filename: a.filename ?? a.cid ?? `attachment-${i + 1}`,
      content: a.content,
      contentType: a.contentType,
      ...(inline && a.cid && { contentId: a.cid }),
    };
  });
  return {
    from: firstAddress(mail.from),
    replyTo: addressesOf(mail.replyTo),
    subject: mail.subject ?? '',
    ...(mail.text && { text: mail.text }),
    ...(typeof mail.html === 'string' && mail.html && { html: mail.html }),
    headers,
    attachments,
    headerAddresses,
  };
}

/**
 * Splits the envelope recipients of one delivery into to/cc/bcc. Only envelope
 * recipients are sent to: the envelope is what the client asked us to deliver,
 * and header addresses that are not in it are either delivered by another route
 * (another domain's group) or were never meant to get this copy (a forwarded
 * message keeps its original To:). A recipient in To:/Cc: keeps that place and
 * name; any other envelope recipient is a Bcc.
 *
 * The APIs require a To. When no recipient of this call is in To:, the Cc ones
 * take its place; when none is in To: or Cc: either, each Bcc recipient gets a
 * call of its own, so no Bcc recipient sees another's address.
 */
export function splitRecipients(parsed: ParsedMessage, rcpts: readonly string[]): Recipients[] {
  const to: Address[] = [];
  const cc: Address[] = [];
  const bcc: Address[] = [];
  const seen = new Set<string>();
  for (const rcpt of rcpts) {
    const key = rcpt.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    const h = parsed.headerAddresses.get(key);
    const entry = { address: rcpt, ...(h?.name && { name: h.name }) };
    (h?.field === 'to' ? to : h?.field === 'cc' ? cc : bcc).push(entry);
  }
  if (to.length) return [{ to, cc, bcc }];
  if (cc.length) return [{ to: cc, cc: [], bcc }];
  return bcc.map((b) => ({ to: [b], cc: [], bcc: [] }));
}

/**
 * The calls for one delivery through an API that takes at most `max` recipients per call
 * (splitRecipients for each piece). To: recipients come first, then Cc:, then the rest,
 * so that as many calls as can keep a real To.
 */
export function splitCalls(parsed: ParsedMessage, rcpts: readonly string[], max: number): Recipients[] {
  const rank = { to: 0, cc: 1, bcc: 2 } as const;
  const rankOf = (rcpt: string) => rank[parsed.headerAddresses.get(rcpt.toLowerCase())?.field ?? 'bcc'];
  const seen = new Set<string>();
  const unique = rcpts.filter((r) => !seen.has(r.toLowerCase()) && seen.add(r.toLowerCase()));
  const ordered = unique.sort((a, b) => rankOf(a) - rankOf(b));
  return inChunks(ordered, max).flatMap((piece) => splitRecipients(parsed, piece));
}

/** `Name <a@b>` with the name quoted when it has specials (RFC 5322 §3.2.3, §3.4). */
export function formatAddress(a: Address): string {
  if (!a.name) return a.address;
  const name = /^[\p{L}\p{N}!#$%&'*+\-/=?^_`{|}~ ]+$/u.test(a.name) ? a.name : `"${a.name.replace(/(["\\])/g, '\\$1')}"`;
  return `${name} <${a.address}>`;
}
