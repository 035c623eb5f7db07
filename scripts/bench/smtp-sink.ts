// The final destination: Postfix's smtp-sink on loopback, a registered child
// stopped by its PID. `-c` makes it print its running counters
// (`sess=… quit=… mesg=N`, one per event, separated by CR) on stdout; the
// message count and the time it last grew are read from there.
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { canConnect } from '../../test/helpers/child-smarthost.ts';
import { sleep, spawnTracked, stopProcess } from './processes.ts';

export interface Sink {
  host: string;
  port: number;
  /** Messages received (end of DATA answered) since the last reset. */
  readonly received: number;
  /** performance.now() when the first and the last counted message arrived. */
  readonly firstAt: number;
  readonly lastAt: number;
  reset(): void;
  /** Until `count` messages arrived or `timeoutMs` passed; true when they all did. */
  waitFor(count: number, timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
  pid: number;
}

/** The last `mesg=` counter in a chunk of smtp-sink -c output; undefined when there is none. */
export function lastMessageCount(chunk: string): number | undefined {
  const all = [...chunk.matchAll(/mesg=(\d+)/g)];
  return all.length ? Number(all[all.length - 1]![1]) : undefined;
}

export async function startSmtpSink(host: string, port: number, logDir: string): Promise<Sink> {
  const args = ['-c', `${host}:${port}`, '1024'];
  // smtp-sink refuses to run as root without dropping privileges.
  if (process.getuid?.() === 0) args.unshift('-u', 'nobody');
  const proc: ChildProcess = spawnTracked('smtp-sink', args, join(logDir, `smtp-sink-${port}.log`), process.env);
  let total = 0;
  let base = 0;
  let firstAt = 0;
  let lastAt = 0;
  let partial = '';
  proc.stdout!.setEncoding('latin1');
  proc.stdout!.on('data', (d: string) => {
    // A counter line may be split across chunks: keep what follows the last CR.
    const text = partial + d;
    const cut = text.lastIndexOf('\r');
    partial = cut < 0 ? text : text.slice(cut + 1);
    const n = lastMessageCount(cut < 0 ? '' : text.slice(0, cut));
    if (n !== undefined && n > total) {
      const now = performance.now();
      if (total === base) firstAt = now;
      total = n;
      lastAt = now;
    }
  });
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port, host))) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`smtp-sink did not listen on ${port}`);
    await sleep(20);
  }
  return {
    host,
    port,
    pid: proc.pid!,
    get received() {
      return total - base;
    },
    get firstAt() {
      return firstAt;
    },
    get lastAt() {
      return lastAt;
    },
    reset() {
      base = total;
      firstAt = 0;
      lastAt = 0;
    },
    async waitFor(count, timeoutMs) {
      const end = performance.now() + timeoutMs;
      while (total - base < count && performance.now() < end) await sleep(20);
      return total - base >= count;
    },
    stop: () => stopProcess(proc),
  };
}
