// pino JSON logs. Credentials and bodies are never passed to the logger; the
// redact list is a second line of defence for fields that must never appear.
import { destination as fileDestination, pino, type DestinationStream, type Logger } from 'pino';

/** How long a line may wait in the buffer of a quiet server before it is written. */
export const LOG_FLUSH_MS = 100;

/**
 * stdout with lines gathered into writes of 4 KiB, made on libuv's thread pool, or every LOG_FLUSH_MS:
 * a write(2) per line on the event loop (a line per SMTP session and per delivery) was half of what
 * logging cost per message under load. pino writes out what is left when the process exits; a SIGKILL
 * loses at most the last LOG_FLUSH_MS of lines.
 */
function bufferedStdout(): DestinationStream {
  const out = fileDestination({ dest: 1, sync: false, minLength: 4096 });
  let unflushed = false;
  setInterval(() => {
    if (!unflushed) return;
    unflushed = false;
    out.flush();
  }, LOG_FLUSH_MS).unref();
  return {
    write(line: string) {
      unflushed = true;
      out.write(line);
    },
  };
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'smarthost' },
      redact: { paths: ['password', '*.password', 'pass', '*.pass', 'authorization', '*.authorization'], censor: '[redacted]' },
    },
    (destination as DestinationStream | undefined) ?? bufferedStdout(),
  );
}
