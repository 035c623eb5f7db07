// For issue 11: the messages list (store.listMessages, behind GET /emails and
// `queue list`) with 100,000 messages in a SQLite store, in process: the first
// page, and pages filtered by status and by recipient, each the median of 5.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { newMessageId } from '../../src/store/ids.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Figure } from './scenarios.ts';
import { percentile, round } from './stats.ts';

export async function listWithManyMessages(dir: string, count: number, say: (line: string) => void): Promise<Figure[]> {
  const store = openSqliteStore(dir);
  const raw = Buffer.from('From: <app@example.com>\r\nTo: <rcpt@example.org>\r\nSubject: list bench\r\n\r\n' + 'x'.repeat(1000) + '\r\n');
  const start = Date.now() - count;
  const fillStart = performance.now();
  // 1,000 enqueues per event-loop turn share one group commit.
  for (let i = 0; i < count; i += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, count - i) }, (_, j) => {
      const n = i + j;
      return store.enqueue({
        id: newMessageId(start + n), sender: 'app@example.com', recipients: [{ address: `rcpt${n % 5000}@example.org`, status: 'queued' }],
        raw, source: 'smtp', credential: null, clientAddress: '127.0.0.1', createdAt: start + n,
      });
    }));
  }
  // Most mail is delivered; one in a hundred bounced, spread over the whole range.
  const db = new Database(join(dir, 'smarthost.db'));
  db.prepare(`UPDATE recipients SET status = CASE WHEN id % 100 = 0 THEN 'bounced' ELSE 'delivered' END`).run();
  db.close();
  say(`  ${count} messages written in ${round((performance.now() - fillStart) / 1000, 1)} s`);
  const median = async (fn: () => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await fn();
      times.push(performance.now() - t);
    }
    return round(percentile(times, 50), 2);
  };
  const scenario = `list with ${count} messages in the store`;
  const figures: Figure[] = [
    { scenario, metric: 'listMessages: first page of 50', unit: 'ms', value: await median(() => store.listMessages({ limit: 51 })), better: 'lower' },
    { scenario, metric: 'listMessages: page 2 (cursor)', unit: 'ms', value: await median(async () => {
      const first = await store.listMessages({ limit: 50 });
      return store.listMessages({ limit: 51, before: first[49]!.id });
    }), better: 'lower' },
    { scenario, metric: 'listMessages: status=bounced (1 %)', unit: 'ms', value: await median(() => store.listMessages({ status: 'bounced', limit: 51 })), better: 'lower' },
    { scenario, metric: 'listMessages: recipient= (20 messages)', unit: 'ms', value: await median(() => store.listMessages({ recipient: 'rcpt42@example.org', limit: 51 })), better: 'lower' },
  ];
  await store.close();
  for (const f of figures) say(`  ${f.metric}: ${f.value} ms`);
  return figures;
}
