// Emulates a disk whose fsync is slow (a network block device: a cloud volume
// syncs in milliseconds, this machine's virtio disk in about 0.1 ms): builds
// slow-fsync.c with the system's C compiler and gives the environment that
// loads it into a relay's processes.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('./slow-fsync.c', import.meta.url));

/** Builds the shim into `workDir`; the result goes into each relay's environment. */
export function slowFsyncEnv(workDir: string, delayMs: number): Record<string, string> {
  const lib = join(workDir, 'slow-fsync.so');
  execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', lib, SOURCE, '-ldl'], { stdio: 'inherit' });
  return { LD_PRELOAD: lib, BENCH_FSYNC_DELAY_US: String(Math.round(delayMs * 1000)) };
}
