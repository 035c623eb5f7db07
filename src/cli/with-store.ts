// CLI commands read the same configuration as `serve` and open the same store.
import { ConfigError, loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { openStore } from '../store/open-store.ts';
import type { Store } from '../store/store.ts';

export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

/** Runs `fn` with the store open; a false result sets exit code 1 (not found). */
export async function withStore(fn: (store: Store, config: Config) => Promise<boolean | void>): Promise<void> {
  const config = loadConfigOrExit();
  const store = await openStore(config);
  try {
    if ((await fn(store, config)) === false) process.exitCode = 1;
  } finally {
    await store.close();
  }
}
