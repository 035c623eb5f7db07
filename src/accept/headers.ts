// Minimal RFC 5322 header-block editing on raw bytes. We read header fields
// to make decisions and add or remove whole fields; the body and every other
// byte are left exactly as received. latin1 maps bytes 1:1, so 8-bit and
// UTF-8 header content survive the round trip unchanged.
import libmime from 'libmime';

export interface HeaderField {
  /** Lower-case field name. */
  name: string;
  /** The whole field as received, folded lines included, with its final CRLF. */
  raw: string;
}

export interface ParsedMessage {
  fields: HeaderField[];
  /** Everything after the header block, starting with the empty line (if any): views of the bytes given, not copies. */
  body: Buffer[];
}

/**
 * `raw` may be the chunks the message arrived in: the header block's end is found across them, only
 * the chunks that hold the header block are joined (once), and serialize() copies the body once, into
 * the message it builds.
 */
export function parseMessage(raw: Buffer | readonly Buffer[]): ParsedMessage {
  const chunks = Buffer.isBuffer(raw) ? [raw] : raw.filter((c) => c.length > 0);
  let headerEnd: number;
  if (startsWithCrlf(chunks)) headerEnd = 0; // no header fields at all
  else {
    const blank = indexAcross(chunks, BLANK_LINE);
    headerEnd = blank === -1 ? chunks.reduce((n, c) => n + c.length, 0) : blank + 2; // -1: header fields only, no body
  }
  let used = 1;
  for (let covered = chunks[0]?.length ?? 0; covered < headerEnd; used++) covered += chunks[used]!.length;
  const head = used === 1 ? (chunks[0] ?? Buffer.alloc(0)) : Buffer.concat(chunks.slice(0, used));
  let text = head.subarray(0, headerEnd).toString('latin1');
  if (text !== '' && !text.endsWith('\r\n')) text += '\r\n'; // a last header line cut short still ends its field
  const fields: HeaderField[] = [];
  for (const line of text.split(/(?<=\r\n)/)) {
    if (line === '') continue;
    const last = fields[fields.length - 1];
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) last.raw += line; // RFC 5322 §2.2.3 folding
    else fields.push({ name: line.slice(0, Math.max(0, line.indexOf(':'))).trim().toLowerCase(), raw: line });
  }
  return { fields, body: [head.subarray(headerEnd), ...chunks.slice(used)] };
}

const BLANK_LINE = Buffer.from('\r\n\r\n');

function startsWithCrlf(chunks: readonly Buffer[]): boolean {
  const first = chunks[0];
  if (!first || first[0] !== 0x0d) return false;
  return (first.length > 1 ? first[1] : chunks[1]?.[0]) === 0x0a;
}

/** Where `needle` (a few bytes) first occurs in the chunks taken as one, without joining them; -1 if nowhere. */
function indexAcross(chunks: readonly Buffer[], needle: Buffer): number {
  let offset = 0;
  let carry: Buffer = Buffer.alloc(0); // the last needle.length - 1 bytes before this chunk: a match may start there
  for (const c of chunks) {
    // A match that starts k bytes before this chunk: the earliest first.
    for (let k = carry.length; k > 0; k--) {
      const rest = needle.length - k;
      if (c.length >= rest && carry.subarray(carry.length - k).equals(needle.subarray(0, k)) && c.subarray(0, rest).equals(needle.subarray(k)))
        return offset - k;
    }
    const at = c.indexOf(needle);
    if (at !== -1) return offset + at;
    carry = c.length >= needle.length - 1 ? c.subarray(c.length - needle.length + 1) : Buffer.concat([carry, c]).subarray(-(needle.length - 1));
    offset += c.length;
  }
  return -1;
}

/** The unfolded value of a field, without its name. */
export function fieldValue(field: HeaderField): string {
  return field.raw.slice(field.raw.indexOf(':') + 1).replace(/\r\n(?=[ \t])/g, '').trim();
}

/** A field's value for people to read: UTF-8 (parseMessage keeps header bytes as latin1), RFC 2047 encoded words decoded. */
export function fieldText(field: HeaderField): string {
  const value = Buffer.from(fieldValue(field), 'latin1').toString('utf8');
  try {
    return libmime.decodeWords(value);
  } catch {
    return value; // a malformed encoded word stays as it came
  }
}

export function findFields(msg: ParsedMessage, name: string): HeaderField[] {
  return msg.fields.filter((f) => f.name === name);
}

export function serialize(prepend: string[], msg: ParsedMessage, drop: (f: HeaderField) => boolean, append: string[]): Buffer {
  const head = [...prepend, ...msg.fields.filter((f) => !drop(f)).map((f) => f.raw), ...append].join('');
  return Buffer.concat([Buffer.from(head, 'latin1'), ...msg.body]);
}
