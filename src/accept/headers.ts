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
 * `raw` may be the chunks the message arrived in: only the chunks that hold the header block are
 * joined, and serialize() copies the body once, into the message it builds.
 */
export function parseMessage(raw: Buffer | readonly Buffer[]): ParsedMessage {
  const chunks = Buffer.isBuffer(raw) ? [raw] : raw;
  let head = chunks[0] ?? Buffer.alloc(0);
  let used = 1;
  let end = head.indexOf('\r\n\r\n');
  for (; end === -1 && used < chunks.length; used++) {
    head = Buffer.concat([head, chunks[used]!]);
    end = head.indexOf('\r\n\r\n', Math.max(0, head.length - chunks[used]!.length - 3));
  }
  let headerEnd: number;
  if (head.subarray(0, 2).toString('latin1') === '\r\n') headerEnd = 0; // no header fields at all
  else if (end === -1) headerEnd = head.length; // header fields only, no body
  else headerEnd = end + 2;
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
