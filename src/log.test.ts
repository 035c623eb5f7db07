import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger, LOG_FLUSH_MS } from './log.ts';

const LOG_TS = fileURLToPath(new URL('./log.ts', import.meta.url));

test('stdout logs: a quiet server\'s line is written within the flush interval, and the last ones when the process exits', async () => {
  // The child logs one line, says so on stderr, waits ten flush intervals, logs a second line and exits at once.
  const script = `import { createLogger } from ${JSON.stringify(LOG_TS)};
    const logger = createLogger('info');
    logger.info('first');
    process.stderr.write('logged\\n');
    setTimeout(() => { logger.info('last'); process.exit(0); }, ${10 * LOG_FLUSH_MS});`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let loggedAt = 0;
  const arrivals: { msg: string; afterMs: number }[] = [];
  child.stderr.on('data', () => (loggedAt ||= performance.now()));
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    // Both pipes can be read in one turn, stdout first: a line that comes before the marker is not late.
    for (const line of lines) arrivals.push({ msg: (JSON.parse(line) as { msg: string }).msg, afterMs: loggedAt ? performance.now() - loggedAt : 0 });
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 0);
  assert.deepEqual(arrivals.map((a) => a.msg), ['first', 'last']);
  // Written by the flush timer, long before the exit wrote the rest (without it: at the exit, 10 intervals later).
  assert.ok(arrivals[0]!.afterMs < 5 * LOG_FLUSH_MS, `the first line came ${arrivals[0]!.afterMs} ms after it was logged`);
});

test('secrets in the fields the logger knows are written as [redacted]; other fields as they are', () => {
  const lines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(line) } as unknown as NodeJS.WritableStream);
  logger.info({
    user: 'app', password: 's1', pass: 's2', authorization: 's3', cookie: 's4', auth: { user: 'u', pass: 's5', password: 's6' },
    headers: { authorization: 's7', cookie: 's8', host: 'h' }, req: { method: 'POST', headers: { authorization: 's9', cookie: 's10' } },
  }, 'line');
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual(
    { user: line.user, password: line.password, pass: line.pass, authorization: line.authorization, cookie: line.cookie, auth: line.auth, headers: line.headers, req: line.req },
    {
      user: 'app', password: '[redacted]', pass: '[redacted]', authorization: '[redacted]', cookie: '[redacted]',
      auth: { user: 'u', pass: '[redacted]', password: '[redacted]' },
      headers: { authorization: '[redacted]', cookie: '[redacted]', host: 'h' },
      req: { method: 'POST', headers: { authorization: '[redacted]', cookie: '[redacted]' } },
    },
  );
  assert.doesNotMatch(lines[0]!, /"s\d+"/);
});
