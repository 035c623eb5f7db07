// Refuse new mail before the disk is full rather than fail a commit halfway:
// 452 4.3.1 tells the client to retry later, and nothing accepted is at risk.
import { statfs } from 'node:fs/promises';

const CACHE_MS = 1000;

export function createDiskGuard(dir: string, minFreeBytes: number, statFree = defaultStatFree) {
  let checkedAt = 0;
  let ok = true;
  return async function enoughSpace(): Promise<boolean> {
    if (minFreeBytes === 0) return true;
    const now = Date.now();
    // statfs is one syscall, but MAIL FROM is hot: keep the answer for a second.
    if (now - checkedAt > CACHE_MS) {
      checkedAt = now;
      ok = (await statFree(dir)) >= minFreeBytes;
    }
    return ok;
  };
}

async function defaultStatFree(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}
