// Runs a third-party program (swaks, openssl, …) as a test peer: bounded in
// time, stdin fed from a string, both output streams collected. Also decides
// what a test does when such a program is missing: fail in CI, skip elsewhere.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface RunResult {
  /** Exit status; null when killed by a signal (including our own timeout). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  /** Killed (SIGKILL) after this many ms; default 10 s. */
  timeoutMs?: number;
  /**
   * Written to stdin, which is then closed; stdin is empty without it. As steps,
   * each `send` waits until stdout or stderr matches its `after` (like expect(1)),
   * for peers that must not talk before the server's greeting.
   */
  input?: string | { after?: RegExp; send: string }[];
  env?: NodeJS.ProcessEnv;
}

export function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const steps = typeof opts.input === 'string' ? [{ send: opts.input }] : [...(opts.input ?? [])];
    const feed = () => {
      const seen = Buffer.concat(stdout).toString('utf8') + Buffer.concat(stderr).toString('utf8');
      while (steps.length && (!steps[0]!.after || steps[0]!.after.test(seen))) child.stdin.write(steps.shift()!.send);
      if (!steps.length && !child.stdin.writableEnded) child.stdin.end();
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout.push(d);
      feed();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr.push(d);
      feed();
    });
    child.stdin.on('error', () => {}); // the program may exit before reading its input
    feed();
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code, signal, timedOut,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
  });
}

// smtp-sink and friends live in sbin, which a non-root PATH often lacks.
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/** Absolute path of an executable on PATH (or in sbin), or undefined. */
export function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * For `test(name, { skip: skipWithout('swaks') }, …)`: outside CI a missing
 * program skips the test with the reason; under CI=true it never skips, so
 * the test runs and fails on `requireProgram` instead of passing silently.
 */
export function skipWithout(...names: string[]): string | false {
  if (process.env.CI === 'true') return false;
  const missing = names.filter((n) => !findProgram(n));
  return missing.length ? `not installed: ${missing.join(', ')} (run scripts/test-deps.sh)` : false;
}

/** The program's path; throws (fails the test) when it is missing. */
export function requireProgram(name: string): string {
  const path = findProgram(name);
  if (!path) throw new Error(`${name} is not installed; scripts/test-deps.sh installs it${process.env.CI === 'true' ? ' (CI=true: not skipping)' : ''}`);
  return path;
}
