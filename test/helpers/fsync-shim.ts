// Builds fsync-shim.c with the system's C compiler: a disk whose syncs are slow
// (the benchmark) or start failing (tests), for any process it is preloaded in.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireProgram } from './run.ts';

const SOURCE = fileURLToPath(new URL('./fsync-shim.c', import.meta.url));

/** Builds the shim into `dir`; returns its path, for LD_PRELOAD. */
export function buildFsyncShim(dir: string): string {
  const lib = join(dir, 'fsync-shim.so');
  execFileSync(requireProgram('cc'), ['-shared', '-fPIC', '-O2', '-o', lib, SOURCE, '-ldl'], { stdio: 'inherit' });
  return lib;
}

/** Every fsync and fdatasync of a process with this environment fails with EIO while `flag` exists. */
export const failingFsyncEnv = (dir: string, flag: string): Record<string, string> => ({ LD_PRELOAD: buildFsyncShim(dir), FAIL_FSYNC_FLAG: flag });
