// Makes committed WAL frames durable off the event loop. In WAL mode,
// synchronous=FULL differs from NORMAL only by an fsync of the WAL after each
// commit (NORMAL still syncs around checkpoints and when the WAL is reused);
// SQLite writes frames with plain pwrite, so an fdatasync of the WAL file issued
// after a commit returned covers that commit. libuv runs it on its thread pool.
import { closeSync, fdatasync, openSync, realpathSync } from 'node:fs';

export interface WalSync {
  sync(): Promise<void>;
  close(): void;
}

/**
 * `dbPath`'s connection must be in WAL mode and have read once, so the WAL exists. SQLite keeps that
 * file (and its inode: checkpoints truncate or overwrite it in place) until its connection closes.
 */
export function openWalSync(dbPath: string): WalSync {
  // SQLite puts the WAL beside the database file a symlink points to.
  const fd = openSync(`${realpathSync(dbPath)}-wal`, 'r');
  return {
    sync: () => new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
    close: () => closeSync(fd),
  };
}
