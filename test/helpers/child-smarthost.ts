// Runs smarthost as a real child process (`node --import tsx src/cli/index.ts …`),
// the way an operator does, so tests can SIGKILL and SIGTERM it and restart it on
// the same data directory. Every child is killed when the test ends, pass or fail.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

/** The repository root (cwd for every child). */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = 'src/cli/index.ts';

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildSmarthost {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Every stdout line so far (pino JSON lines and the printed first credential). */
  readonly lines: string[];
  /** The stdout lines that parse as JSON objects (the logs). */
  readonly logs: Record<string, unknown>[];
  readonly stderr: () => string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ChildExit>;
  readonly exit: ChildExit | undefined;
  /** Sends `signal` and waits up to `timeoutMs` for the exit; undefined if it is still running. */
  stop(signal: NodeJS.Signals, timeoutMs: number): Promise<ChildExit | undefined>;
  /** The last `n` stdout and stderr lines, for failure messages. */
  tail(n?: number): string;
}

/** The test's own environment without SMARTHOST_* settings or the test runner's markers, plus `env`. */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('SMARTHOST_') && k !== 'NODE_TEST_CONTEXT' && k !== 'NODE_OPTIONS') base[k] = v;
  return { ...base, ...env };
}

/**
 * `npm start` as a command line: the environment set before node (NAME=value), the node options
 * before the compiled entry (dist/cli/index.js), read from package.json so tests and the benchmark
 * run exactly what operators run.
 */
export function npmStart(): { env: Record<string, string>; nodeArgs: string[]; entry: string; args: string[] } {
  const start = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const words = start.split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_][A-Z0-9_]*=/.test(words[0] ?? '')) {
    const [name, value] = words.shift()!.split(/=(.*)/) as [string, string];
    env[name] = value;
  }
  const at = words.findIndex((w) => w.endsWith('.js'));
  if (words[0] !== 'node' || at < 0) throw new Error(`package.json start is not "[NAME=value …] node [options] <entry>.js …": ${start}`);
  return { env, nodeArgs: words.slice(1, at), entry: words[at]!, args: words.slice(at + 1) };
}

/** The CLI through tsx, or the compiled one in `buildDir` (scripts/build.sh's output) with npm start's node options. */
function spawnCli(args: string[], env: Record<string, string>, buildDir?: string): ChildProcess {
  const start = buildDir ? npmStart() : undefined;
  const argv = start ? [...start.nodeArgs, join(buildDir!, 'cli/index.js')] : ['--import', 'tsx', CLI];
  return spawn(process.execPath, [...argv, ...args], {
    cwd: PROJECT_ROOT,
    env: childEnv({ ...start?.env, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function exitOf(proc: ChildProcess): Promise<ChildExit> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
  return new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** True once a TCP connection to 127.0.0.1:port succeeds (closed again at once). */
export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface SpawnOptions {
  /** Ready once this port accepts TCP connections. */
  readyPort: number;
  readyTimeoutMs?: number;
  /** Also append stdout and stderr to this file (kept for debugging). */
  logFile?: string;
  /** Run the compiled JavaScript in this directory (scripts/build.sh <dir>) instead of the sources. */
  buildDir?: string;
}

/** Starts `smarthost serve` and waits (bounded) until `readyPort` accepts connections. */
export async function spawnSmarthost(t: TestContext, env: Record<string, string>, opts: SpawnOptions): Promise<ChildSmarthost> {
  const proc = spawnCli(['serve'], env, opts.buildDir);
  if (proc.pid === undefined) throw new Error('smarthost child did not start');
  // Registered first: whatever happens next, the child does not outlive the test.
  t.after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await withTimeout(exitOf(proc), 5000);
    }
  });

  const lines: string[] = [];
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  let partial = '';
  let file: WriteStream | undefined;
  if (opts.logFile) {
    file = createWriteStream(opts.logFile, { flags: 'a' });
    file.on('error', () => {});
  }
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => {
    file?.write(chunk);
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      if (line.startsWith('{')) {
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a log line
        }
      }
    }
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (chunk: string) => {
    file?.write(`[stderr] ${chunk}`);
    stderr += chunk;
  });

  let exit: ChildExit | undefined;
  // 'close' comes after the output streams end, so every line has been read by then.
  const exited = new Promise<ChildExit>((resolve) =>
    proc.once('close', (code, signal) => {
      if (partial) lines.push(partial);
      partial = '';
      exit = { code, signal };
      file?.end();
      resolve(exit);
    }),
  );

  const child: ChildSmarthost = {
    proc,
    pid: proc.pid,
    lines,
    logs,
    stderr: () => stderr,
    exited,
    get exit() {
      return exit;
    },
    async stop(signal, timeoutMs) {
      if (!exit) proc.kill(signal);
      return withTimeout(exited, timeoutMs);
    },
    tail(n = 30) {
      return [
        `--- last ${n} stdout lines of pid ${proc.pid} ---`,
        ...lines.slice(-n),
        '--- stderr ---',
        ...stderr.split('\n').slice(-n),
      ].join('\n');
    },
  };

  const timeoutMs = opts.readyTimeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exit) throw new Error(`smarthost exited before it was ready (${JSON.stringify(exit)})\n${child.tail()}`);
    if (await canConnect(opts.readyPort)) return child;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`smarthost did not accept connections on ${opts.readyPort} within ${timeoutMs} ms\n${child.tail()}`);
    }
    await sleep(50);
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs one `smarthost` CLI command to completion (killed after `timeoutMs`). */
export async function runCli(args: string[], env: Record<string, string>, timeoutMs = 20_000): Promise<CliResult> {
  const proc = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<ChildExit>((resolve) => proc.once('close', (code, signal) => resolve({ code, signal })));
  const result = await withTimeout(closed, timeoutMs);
  if (!result) {
    proc.kill('SIGKILL');
    await closed;
    throw new Error(`smarthost ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`);
  }
  return { ...result, stdout, stderr };
}
