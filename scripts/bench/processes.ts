// Every process the benchmark starts is registered here and stopped by its PID:
// at the end of a scenario, at the end of the run, and on Ctrl-C / SIGTERM.
// Nothing is stopped by name, and nothing the benchmark did not start.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { canConnect, npmStart } from '../../test/helpers/child-smarthost.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const running = new Map<number, ChildProcess>();
const cleanups: (() => Promise<void>)[] = [];

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` when the run ends or is interrupted (databases to drop, servers to close). */
export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL after `graceMs`; by PID. */
export async function stopProcess(proc: ChildProcess, graceMs = 10_000): Promise<void> {
  if (proc.pid === undefined) return;
  const done = exited(proc);
  if (proc.exitCode === null && proc.signalCode === null) {
    try {
      process.kill(proc.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const timer = setTimeout(() => {
    try {
      process.kill(proc.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, graceMs);
  await done;
  clearTimeout(timer);
  running.delete(proc.pid);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running.values()].map((p) => stopProcess(p, 5_000)));
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
}

/** Runs a benchmark's main: any error sets a failing exit code, and every process it started is stopped. */
export async function runBench(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (!interrupted) console.error(err);
    process.exitCode = 1;
  } finally {
    await stopAll();
  }
}

let interrupted = false;
/** True once Ctrl-C or SIGTERM arrived: the run is being torn down, errors from here on are expected. */
export const wasInterrupted = () => interrupted;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping ${running.size} process(es) by PID: ${[...running.keys()].join(' ')}`);
    void stopAll().finally(() => process.exit(130));
  });
}
// Last resort (an uncaught error): no child outlives the benchmark.
process.on('exit', () => {
  for (const pid of running.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Starts `command` as a registered child (stopped by its PID), its output piped through here (to be read) and appended to `logFile`. */
export function spawnTracked(command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv, cwd = PROJECT_ROOT): ChildProcess {
  const proc = track(command, spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
  const log = createWriteStream(logFile, { flags: 'a' });
  log.on('error', () => {});
  proc.stdout!.pipe(log);
  proc.stderr!.pipe(log);
  return proc;
}

/**
 * As spawnTracked, but the child writes its output straight into `logFile`, as Postfix's postlogd writes
 * its maillog: a relay's log lines cost the relay, not this process's event loop.
 */
export function spawnTrackedToFile(command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv, cwd = PROJECT_ROOT): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    return track(command, spawn(command, args, { cwd, env, stdio: ['ignore', fd, fd] }));
  } finally {
    closeSync(fd); // the child holds its own copy
  }
}

function track(command: string, proc: ChildProcess): ChildProcess {
  if (proc.pid === undefined) throw new Error(`${command} did not start`);
  running.set(proc.pid, proc);
  proc.once('exit', () => running.delete(proc.pid!));
  return proc;
}

/** Compiles smarthost as `npm start` does (scripts/build.sh → dist/), so the benchmark measures what operators run. */
export function buildSmarthost(): void {
  execFileSync('bash', ['scripts/build.sh'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
}

/**
 * Starts `smarthost serve` as `npm start` does (call buildSmarthost first) with exactly `env` (plus PATH/HOME),
 * its output appended to `logFile`; `nodeArgs` e.g. --cpu-prof.
 */
export function spawnSmarthost(env: Record<string, string>, logFile: string, nodeArgs: string[] = []): ChildProcess {
  const base: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[k] !== undefined) base[k] = process.env[k];
  const start = npmStart();
  return spawnTrackedToFile(process.execPath, [...start.nodeArgs, ...nodeArgs, start.entry, ...start.args], logFile, { ...base, ...start.env, ...env });
}

/** Waits (bounded) until every port accepts TCP connections; throws if `proc` exits first. */
export async function waitReady(proc: ChildProcess, ports: number[], timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${what} exited before it was ready`);
      if (await canConnect(port)) break;
      if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`);
      await sleep(50);
    }
  }
}
