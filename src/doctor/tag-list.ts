// The `tag=value; tag=value` syntax shared by DKIM key records (RFC 6376 §3.2),
// DMARC records (RFC 7489 §6.4) and the MTA-STS TXT record (RFC 8461 §3.1).

export interface TagList {
  tags: Map<string, string>;
  /** Tag names in order of appearance (DMARC needs v= first). */
  order: string[];
  errors: string[];
}

export function parseTagList(text: string): TagList {
  const out: TagList = { tags: new Map(), order: [], errors: [] };
  for (const part of text.split(';')) {
    const item = part.trim();
    if (!item) continue; // a trailing ";" is allowed
    const eq = item.indexOf('=');
    if (eq <= 0) {
      out.errors.push(`not a tag=value pair: "${item}"`);
      continue;
    }
    const name = item.slice(0, eq).trim().toLowerCase();
    // RFC 6376 §3.2: whitespace inside a value (folded base64) is ignored by the consumer.
    const value = item.slice(eq + 1).trim();
    if (out.tags.has(name)) out.errors.push(`tag ${name}= appears twice`);
    out.tags.set(name, value);
    out.order.push(name);
  }
  return out;
}
