// Emulates a disk whose fsync is slow (a network block device: a cloud volume
// syncs in milliseconds, this machine's virtio disk in about 0.1 ms): the
// environment that loads test/helpers/fsync-shim.c into a relay's processes.
import { buildFsyncShim } from '../../test/helpers/fsync-shim.ts';

/** Builds the shim into `workDir`; the result goes into each relay's environment. */
export function slowFsyncEnv(workDir: string, delayMs: number): Record<string, string> {
  return { LD_PRELOAD: buildFsyncShim(workDir), BENCH_FSYNC_DELAY_US: String(Math.round(delayMs * 1000)) };
}
