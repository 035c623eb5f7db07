// Postfix's smtp-source as the load generator for throughput: `sessions`
// parallel clients send `messages` messages of `size` bytes, reusing each
// connection (-d) as an application's connection pool does. A registered
// child, killed by its PID when it overruns its time.
import { join } from 'node:path';
import { spawnTracked, stopProcess } from './processes.ts';

export interface SmtpSourceRun {
  seconds: number;
  exitCode: number | null;
}

export async function runSmtpSource(
  o: { host?: string; port: number; messages: number; sessions: number; size: number; from: string; to: string; timeoutMs: number; logDir: string },
): Promise<SmtpSourceRun> {
  const args = ['-d', '-s', String(o.sessions), '-m', String(o.messages), '-l', String(o.size), '-f', o.from, '-t', o.to,
    '-M', 'source.bench.test', `${o.host ?? '127.0.0.1'}:${o.port}`];
  const start = performance.now();
  const proc = spawnTracked('smtp-source', args, join(o.logDir, 'smtp-source.log'), process.env);
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const timer = setTimeout(() => void stopProcess(proc, 1000), o.timeoutMs);
  const exitCode = await exit;
  clearTimeout(timer);
  return { seconds: (performance.now() - start) / 1000, exitCode };
}
