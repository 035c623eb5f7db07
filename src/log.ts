// pino JSON logs. Credentials and bodies are never passed to the logger; the
// redact list is a second line of defence for fields that must never appear.
import { pino, type DestinationStream, type Logger } from 'pino';

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'smarthost' },
      redact: { paths: ['password', '*.password', 'pass', '*.pass', 'authorization', '*.authorization'], censor: '[redacted]' },
    },
    destination as DestinationStream | undefined,
  );
}
