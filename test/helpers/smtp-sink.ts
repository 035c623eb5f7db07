// Postfix's smtp-sink as a real receiving MX on 127.0.0.x: a separate process
// that dumps every mail transaction into its own file (`-d`) and logs each
// session on stderr (`-v`), so tests can read back what arrived and count the
// connections. Stopped by its PID when the test ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './ports.ts';
import { requireProgram } from './run.ts';

export interface SinkMessage {
  /** The dump file. */
  file: string;
  /** X-Client-Addr: the address the client connected from. */
  clientAddr: string;
  /** X-Helo-Args: the client's EHLO argument. */
  helo?: string;
  /** X-Mail-Args: what followed MAIL FROM:, e.g. `<app@example.com> SIZE=312`. */
  mailArgs: string;
  /** The addresses of the RCPT commands, in order, without `<>` and parameters. */
  rcpts: string[];
  /** The message as received (headers and body), LF line ends, smtp-sink's own headers removed. */
  data: string;
}

export interface SmtpSink {
  host: string;
  port: number;
  pid: number;
  /** Every transaction dumped so far, oldest first. */
  messages(): SinkMessage[];
  /** Waits until at least `count` transactions were dumped (bounded), then returns them all. */
  waitForMessages(count: number, timeoutMs?: number): Promise<SinkMessage[]>;
  /** SMTP sessions opened by clients (the readiness probe is not counted). */
  readonly connections: number;
  /** smtp-sink's verbose log so far: the commands it received, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export interface SmtpSinkOptions {
  /** Listen on this port (every MX shares SMARTHOST_MX_PORT); a free one otherwise. */
  port?: number;
  /** Greeting and EHLO name (`-h`). */
  name?: string;
  /** Extra smtp-sink options, e.g. `['-r', 'RCPT']` to defer every recipient. */
  args?: string[];
}

// The readiness probe connects from this address so its session can be told
// apart from the ones under test in the `-v` log.
const PROBE_ADDRESS = '127.0.0.254';
const START_TIMEOUT_MS = 5000;

export async function startSmtpSink(host: string, t?: TestContext, opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const program = requireProgram('smtp-sink');
  // Without a fixed port, a free port may be taken between the probe and smtp-sink's bind: try a few.
  for (let attempt = 0; ; attempt++) {
    const port = opts.port ?? (await freePort(host));
    try {
      const sink = await spawnSink(program, host, port, opts);
      t?.after(() => sink.stop());
      return sink;
    } catch (err) {
      if (opts.port !== undefined || attempt >= 4 || !/address already in use/i.test(String(err))) throw err;
    }
  }
}

async function spawnSink(program: string, host: string, port: number, opts: SmtpSinkOptions): Promise<SmtpSink> {
  const dir = mkdtempSync(join(tmpdir(), 'smtp-sink-'));
  const args = ['-v', '-d', join(dir, 'msg.'), ...(opts.name ? ['-h', opts.name] : []), ...(opts.args ?? [])];
  // smtp-sink refuses to run as root without -u; the unprivileged user must be able to write the dumps.
  if (process.getuid?.() === 0) {
    args.push('-u', 'nobody');
    chmodSync(dir, 0o777);
  }
  args.push(`${host}:${port}`, '16');
  const child = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (log += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const cleanUp = () => rmSync(dir, { recursive: true, force: true });
  try {
    await waitUntilListening(host, port, () => hasExited);
  } catch (err) {
    await kill(child, exited);
    cleanUp();
    throw new Error(`smtp-sink on ${host}:${port} did not start: ${(err as Error).message}\n${log}`);
  }

  const messages = () =>
    readdirSync(dir)
      .map((name) => join(dir, name))
      .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs || a.localeCompare(b))
      .map((file) => parseDump(file, readFileSync(file, 'utf8')));

  let stopped: Promise<void> | undefined;
  return {
    host,
    port,
    pid: child.pid!,
    messages,
    async waitForMessages(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages();
        if (found.length >= count) return found;
        if (Date.now() > deadline) throw new Error(`smtp-sink ${host}:${port}: ${found.length} of ${count} messages after ${timeoutMs} ms\n${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    get connections() {
      return [...log.matchAll(/: connect \(AF_INET ([\d.]+)\)/g)].filter((m) => m[1] !== PROBE_ADDRESS).length;
    },
    log: () => log,
    stop() {
      return (stopped ??= kill(child, exited).then(cleanUp));
    },
  };
}

/** Connects until smtp-sink accepts (it prints nothing once it listens), bounded in time. */
async function waitUntilListening(host: string, port: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited()) throw new Error('smtp-sink exited');
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port, localAddress: PROBE_ADDRESS });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`not listening after ${START_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** SIGTERM by PID, then SIGKILL if it has not exited within 2 s. */
async function kill(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(timer);
}

/**
 * smtp-sink's dump format (smtp-sink(1), "DUMP FILE FORMAT"): X-Client-Addr,
 * X-Client-Proto, X-Helo-Args, X-Mail-Args, one X-Rcpt-Args per RCPT, then its
 * own three-line Received: header, the message, and one empty line.
 */
export function parseDump(file: string, text: string): SinkMessage {
  const lines = text.split(/\r?\n/);
  const fields: [string, string][] = [];
  let i = 0;
  for (; i < lines.length && !lines[i]!.startsWith('Received:'); i++) {
    const m = /^([\w-]+): ?(.*)$/.exec(lines[i]!);
    if (m) fields.push([m[1]!, m[2]!]);
  }
  // Skip smtp-sink's Received: and its continuation lines.
  for (i++; i < lines.length && /^[ \t]/.test(lines[i]!); i++);
  const field = (name: string) => fields.find(([k]) => k === name)?.[1];
  const rest = lines.slice(i).join('\n');
  return {
    file,
    clientAddr: field('X-Client-Addr') ?? '',
    helo: field('X-Helo-Args'),
    mailArgs: field('X-Mail-Args') ?? '',
    rcpts: fields.filter(([k]) => k === 'X-Rcpt-Args').map(([, v]) => /<([^>]*)>/.exec(v)?.[1] ?? v),
    data: rest.endsWith('\n\n') ? rest.slice(0, -1) : rest, // the dump appends one empty line
  };
}
