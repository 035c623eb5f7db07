import type { Command } from 'commander';
import { ConfigError } from '../../config/load.ts';
import { createLogger, flushLogs } from '../../log.ts';
import { SecretKeyError } from '../../dkim/secret.ts';
import { startSmarthost } from '../../main.ts';
import { loadConfigOrExit } from '../with-store.ts';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the relay: SMTP listeners and the delivery queue')
    .action(async () => {
      const config = loadConfigOrExit();
      const logger = createLogger(config.logLevel);
      // Logs are buffered (log.ts): written out before each exit.
      const exit = (code: number) => void flushLogs().finally(() => process.exit(code));
      const smarthost = await startSmarthost(config, logger).catch(async (err: unknown) => {
        // A bad key, or a route that is named but not configured: say what to fix, not a stack.
        if (err instanceof ConfigError) console.error(err.message);
        else if (err instanceof SecretKeyError) console.error(`smarthost: ${err.message}`);
        else throw err;
        await flushLogs();
        process.exit(2);
      });
      const stop = (signal: string) => {
        logger.info({ signal }, 'stopping: no new connections, finishing deliveries in flight');
        smarthost.close().then(
          () => exit(0),
          (err) => {
            logger.error({ err }, 'unclean stop');
            exit(1);
          },
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
