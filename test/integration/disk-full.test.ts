// A full disk must never turn into a lost message: the store refuses the
// commit, the client hears 452 4.3.1 (retry later), and what was accepted
// before stays intact and deliverable. SQLite's max_page_count makes the
// database "full" exactly as a full file system does (SQLITE_FULL).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type Database from 'better-sqlite3';
import { authedSession, message, send } from '../helpers/session.ts';
import { startTestSmarthost } from '../helpers/smarthost.ts';

test('SQLITE_FULL answers 452 4.3.1; earlier messages survive and new ones are taken once space returns', async (t) => {
  const s = await startTestSmarthost(t, { SMARTHOST_RELAY_URL: 'smtp://127.0.0.1:9' });
  const db = (s.store as unknown as { db: Database.Database }).db;
  const c = await authedSession(s.ports.submission);
  t.after(() => c.close());

  const first = await send(c, 'app@example.com', ['a@example.org'], message({ Subject: 'before' }));
  assert.match(first.last, /^250 2\.0\.0 Ok: queued as /);
  const pages = db.pragma('page_count', { simple: true }) as number;
  db.pragma(`max_page_count = ${pages + 2}`);

  const big = message({ Subject: 'too big for the disk' }, ('x'.repeat(900) + '\r\n').repeat(40));
  const full = await send(c, 'app@example.com', ['a@example.org'], big);
  assert.equal(full.last, '452 4.3.1 Insufficient system storage; try again later');

  const all = await s.store.listMessages({ limit: 10 });
  assert.equal(all.length, 1, 'the refused message was stored anyway');
  const kept = await s.store.getMessage(first.last.split(' ').pop()!);
  assert.match(kept!.raw.toString(), /Subject: before/);

  db.pragma('max_page_count = 1073741823');
  const after = await send(c, 'app@example.com', ['a@example.org'], big);
  assert.match(after.last, /^250 2\.0\.0 Ok: queued as /);
  assert.equal((await s.store.listMessages({ limit: 10 })).length, 2);
});
