// The suppression list as CSV (RFC 4180: CRLF lines, fields quoted when they
// hold a comma, quote or line break, quotes doubled), read page by page so a
// long list is never held in memory.
import type { Store } from '../store/store.ts';

const PAGE = 1_000;

export const csvField = (value: string): string => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

// A field a spreadsheet would run as a formula (=, +, -, @, tab, CR at the start) gets a leading quote (OWASP CSV injection).
const inert = (value: string): string => (/^[=+\-@\t\r]/.test(value) ? `'${value}` : value);

export async function* suppressionsCsv(store: Store, search?: string): AsyncGenerator<string> {
  yield 'email,reason,created_at\r\n';
  for (let after: string | undefined; ; ) {
    const page = await store.listSuppressions({ limit: PAGE, after, search });
    for (const s of page) yield `${csvField(inert(s.address))},${csvField(inert(s.reason))},${new Date(s.createdAt).toISOString()}\r\n`;
    if (page.length < PAGE) return;
    after = page[page.length - 1]!.address;
  }
}
