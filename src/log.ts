// pino JSON logs. Credentials and bodies are never passed to the logger; the
// redact list is a second line of defence for fields that must never appear.
import { destination as fileDestination, pino, type DestinationStream, type Logger } from 'pino';

/** How long a line may wait in the buffer of a quiet server before it is written. */
export const LOG_FLUSH_MS = 100;

/**
 * stdout, with lines gathered into writes of 4 KiB (made on libuv's thread pool), or written every
 * LOG_FLUSH_MS when fewer come: pino's default destination made a write(2) for nearly every line (one per
 * SMTP session and per delivery), half of what logging cost per message under load. What is buffered at
 * the end goes out with flushLogs() (a clean stop) or pino's exit hook; a SIGKILL loses the lines of the
 * last moments.
 */
const stdoutDestinations: ReturnType<typeof fileDestination>[] = [];

function bufferedStdout(): DestinationStream {
  const out = fileDestination({ dest: 1, sync: false, minLength: 4096, periodicFlush: LOG_FLUSH_MS });
  stdoutDestinations.push(out);
  return out;
}

/** Writes out what the stdout loggers still hold (before process.exit), waiting at most `timeoutMs`. */
export async function flushLogs(timeoutMs = 2000): Promise<void> {
  const flushed = stdoutDestinations.map((out) => new Promise<void>((resolve) => out.flush(() => resolve())));
  await Promise.race([Promise.all(flushed), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
}

/**
 * Named paths only: a wildcard (`*.password`) made pino clone and walk every field of every line,
 * 15 % of all the memory smarthost allocated at 2,000 messages/s (a heap sampling of `npm run bench`).
 */
const REDACTED = ['password', 'pass', 'authorization', 'cookie', 'auth.pass', 'auth.password', 'headers.authorization', 'headers.cookie',
  'req.headers.authorization', 'req.headers.cookie'];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'smarthost' },
      redact: { paths: REDACTED, censor: '[redacted]' },
    },
    (destination as DestinationStream | undefined) ?? bufferedStdout(),
  );
}
