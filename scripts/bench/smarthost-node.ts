// One `smarthost serve` child for the side-by-side scenarios: SQLite in its own
// data directory (or PostgreSQL when a database URL is given), SMTP on the alt
// port for a trusted network, 587 with STARTTLS + AUTH for a seeded user, the
// HTTP API with a bench API key, and direct MX delivery to the sink through a
// domain-literal recipient (rcpt@[127.0.0.2]: no DNS, as Postfix's relayhost) or a local DNS server
// (example.org MX → 127.0.0.2), SMARTHOST_MX_PORT = the sink's port.
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createApiKey } from '../../src/credentials/api-keys.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import { freePort } from '../../test/helpers/ports.ts';
import { PROJECT_ROOT, spawnSmarthost, stopProcess, waitReady } from './processes.ts';

const run = promisify(execFile);

export const BENCH_USER = 'bench';
export const BENCH_PASSWORD = 'bench-password-not-secret';

export interface SmarthostNode {
  proc: ChildProcess;
  pid: number;
  dataDir: string;
  /** Trusted-network listener (no AUTH): what smtp-source talks to. */
  altPort: number;
  /** STARTTLS + AUTH submission. */
  submissionPort: number;
  httpPort: number;
  apiKey: string;
  env: Record<string, string>;
  /** `smarthost <args>` against the same store, like an operator's CLI call; resolves to stdout. */
  cli(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface SmarthostNodeOptions {
  dataDir: string;
  logFile: string;
  sinkPort: number;
  dnsServer: string;
  perDestinationConcurrency: number;
  /** Extra settings (SMARTHOST_*) and environment (slow-fsync.ts's LD_PRELOAD). */
  env?: Record<string, string>;
  /** Node options for the child, e.g. --cpu-prof. */
  nodeArgs?: string[];
}

export async function startSmarthostNode(o: SmarthostNodeOptions): Promise<SmarthostNode> {
  // The API key is created in the store before the server opens it, as `smarthost keys create` would.
  const seed = openSqliteStore(o.dataDir);
  const { key: apiKey } = await createApiKey(seed, 'bench', ['*']);
  await seed.close();
  const [altPort, submissionPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  const env: Record<string, string> = {
    SMARTHOST_DATA_DIR: o.dataDir,
    SMARTHOST_HOSTNAME: 'smarthost.bench.test',
    SMARTHOST_LISTEN: '127.0.0.1',
    SMARTHOST_SUBMISSION_PORT: String(submissionPort),
    SMARTHOST_SMTPS_PORT: '0',
    SMARTHOST_ALT_PORT: String(altPort),
    SMARTHOST_HTTP_PORT: String(httpPort),
    SMARTHOST_TRUSTED_NETWORKS: '127.0.0.1/32',
    SMARTHOST_USERS: `${BENCH_USER}:${BENCH_PASSWORD}:*`,
    SMARTHOST_DNS_SERVERS: o.dnsServer,
    SMARTHOST_MX_PORT: String(o.sinkPort),
    SMARTHOST_MIN_FREE_DISK: '0',
    SMARTHOST_PER_DESTINATION_CONCURRENCY: String(o.perDestinationConcurrency),
    // Postfix exempts mynetworks from its per-client limits (smtpd_client_event_limit_exceptions); ours is 20 per address by default.
    SMARTHOST_MAX_CONNECTIONS_PER_IP: '200',
    ...o.env,
  };
  const proc = spawnSmarthost(env, o.logFile, o.nodeArgs);
  await waitReady(proc, [altPort, submissionPort, httpPort], 60_000, 'smarthost');
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...env };
  return {
    proc, pid: proc.pid!, dataDir: o.dataDir, altPort, submissionPort, httpPort, apiKey, env,
    cli: async (args) => (await run(process.execPath, [join(PROJECT_ROOT, 'dist/cli/index.js'), ...args], {
      cwd: PROJECT_ROOT, env: base, maxBuffer: 256 * 2 ** 20,
    })).stdout,
    stop: () => stopProcess(proc, 30_000),
  };
}
