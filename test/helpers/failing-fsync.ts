// A disk that starts failing: builds failing-fsync.c with the system's C
// compiler and gives the environment that loads it into a child process.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireProgram } from './run.ts';

const SOURCE = fileURLToPath(new URL('./failing-fsync.c', import.meta.url));

/** Builds the shim into `dir`; every fsync and fdatasync of the child fails with EIO while `flag` exists. */
export function failingFsyncEnv(dir: string, flag: string): Record<string, string> {
  const lib = join(dir, 'failing-fsync.so');
  execFileSync(requireProgram('cc'), ['-shared', '-fPIC', '-O2', '-o', lib, SOURCE, '-ldl'], { stdio: 'inherit' });
  return { LD_PRELOAD: lib, FAIL_FSYNC_FLAG: flag };
}
