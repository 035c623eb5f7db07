// What every figure must be read against: the machine, the versions, the load
// on the shared cores, the disk's fsync ceiling, and the memory of a process tree.
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PROJECT_ROOT } from './processes.ts';

const firstLine = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], cwd: PROJECT_ROOT }).trim().split('\n')[0];
  } catch {
    return undefined;
  }
};

export function machineFacts(dataDir: string) {
  const db = new Database(':memory:');
  const sqlite = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  db.close();
  return {
    nproc: os.availableParallelism(), cpuModel: os.cpus()[0]?.model, memoryMiB: Math.round(os.totalmem() / 2 ** 20),
    kernel: `${os.type()} ${os.release()}`, disk: firstLine('findmnt', ['-no', 'SOURCE,FSTYPE', '-T', dataDir])?.replace(/\s+/g, ' '),
    node: process.version, sqlite, postfix: firstLine('postconf', ['-d', '-h', 'mail_version']),
    // A run on uncommitted changes says so (`<commit>-dirty`).
    smarthostCommit: firstLine('git', ['describe', '--always', '--dirty']),
  };
}

export const loadAverage = () => os.loadavg().map((n) => Math.round(n * 100) / 100);

/** The machine's CPU time so far from /proc/stat's `cpu` line, in clock ticks: all of it, and what the hypervisor stole. */
export function cpuTimes(stat = readFileSync('/proc/stat', 'utf8')): { total: number; steal: number } {
  // user nice system idle iowait irq softirq steal (guest time is already counted in user).
  const ticks = /^cpu\s+(.*)$/m.exec(stat)?.[1]?.trim().split(/\s+/).slice(0, 8).map(Number) ?? [];
  if (ticks.length < 8 || ticks.some((n) => !Number.isFinite(n))) throw new Error('/proc/stat has no cpu line of eight counters');
  return { total: ticks.reduce((a, b) => a + b, 0), steal: ticks[7]! };
}

/**
 * The share of the machine's CPU time a virtual machine's host took between two readings (per cent): on a
 * shared host this moves the rates of both relays together, and a run with much of it is read with that in mind.
 */
export const stealPercent = (from: { total: number; steal: number }, to: { total: number; steal: number }): number =>
  to.total > from.total ? Math.round(((to.steal - from.steal) / (to.total - from.total)) * 1000) / 10 : 0;

/** write(4 KiB) + fsync, as often as the disk allows for `ms` (bounded): the ceiling of one-commit-per-message. */
export function fsyncCeiling(dir: string, ms = 2000): { fsyncsPerSecond: number; meanMs: number } {
  const file = join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 1);
  let n = 0;
  const start = performance.now();
  try {
    while (performance.now() - start < ms && n < 1_000_000) {
      writeSync(fd, block, 0, block.length, (n % 256) * block.length);
      fsyncSync(fd);
      n++;
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  const elapsed = performance.now() - start;
  return { fsyncsPerSecond: Math.round((n / elapsed) * 1000), meanMs: Math.round((elapsed / n) * 1000) / 1000 };
}

/** A kB figure of /proc/<pid>/<file>; 0 when the process is gone. */
function procKb(pid: number, file: 'status' | 'smaps_rollup', field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Samples the memory of `pids()` every `everyMs` until stopped. Reports the peak of the summed PSS (shared
 * pages divided among the processes that map them, so Postfix's many processes are not counted once per
 * copy of libc; for one process it is about its RSS) and the largest VmHWM (one process's own peak RSS since the sampler started).
 */
export function startMemorySampler(pids: () => number[], everyMs = 250) {
  let peakPssKb = 0;
  let peakHwmKb = 0;
  const sample = () => {
    let sum = 0;
    for (const pid of pids()) {
      sum += procKb(pid, 'smaps_rollup', 'Pss');
      peakHwmKb = Math.max(peakHwmKb, procKb(pid, 'status', 'VmHWM'));
    }
    peakPssKb = Math.max(peakPssKb, sum);
  };
  // Linux ≥ 4.0: writing 5 to clear_refs resets VmHWM, so the peak is this scenario's, not the process start's.
  for (const pid of pids()) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      // not ours to reset (another user's process): its VmHWM then counts from its start
    }
  }
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      sample();
      clearInterval(timer);
      return { peakPssMiB: Math.round(peakPssKb / 102.4) / 10, peakHwmMiB: Math.round(peakHwmKb / 102.4) / 10 };
    },
  };
}

/**
 * CPU seconds used so far by `pids` and their reaped children (utime+stime+cutime+cstime of /proc/<pid>/stat):
 * a figure that the other engineers' load on the shared cores changes far less than a rate does.
 */
export function cpuSeconds(pids: number[]): number {
  const ticks = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14-17 of stat(5); f[0] is field 3.
      total += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // gone meanwhile: its time is in its parent's cutime once reaped
    }
  }
  return total / ticks;
}
