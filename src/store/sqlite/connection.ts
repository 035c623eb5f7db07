// How the store's own connection (the one that commits) is set up.
import Database from 'better-sqlite3';

/** The page cache (SQLite's cache_size, in KiB). */
const PAGE_CACHE_KIB = 4000;
/** WAL pages after which the connection checkpoints on its own while the checkpointer works (checkpointer.ts). */
export const BACKSTOP_CHECKPOINT_PAGES = 10_000;
/** SQLite's own default, for when the checkpointer has failed. */
export const SQLITE_CHECKPOINT_PAGES = 1000;

export function openConnection(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // better-sqlite3 builds default WAL connections to NORMAL, which may lose
  // the last commits on power loss; a 250 must mean "on disk".
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // better-sqlite3 builds SQLite with a 16 MB page cache per connection. What a busy node reads again (the
  // due index, the leaves it appends to) fits in 4 MB, and the kernel caches the file as well; with 50,000
  // messages queued the larger cache filled with pages read once (bodies on their way out): 10 MiB of peak RSS.
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`); // negative: KiB, not pages
  // Checkpoints are the checkpointer's, off the event loop; SQLite's own stay as a backstop for a WAL that
  // grows anyway (writes outside the group commit that never leave it a quiet moment).
  db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
  return db;
}
