// Starts a real smarthost in this process on free loopback ports with its own
// data directory, and stops it when the test ends.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/log.ts';
import { startSmarthost, type Smarthost, type StartOptions } from '../../src/main.ts';
import { freePort } from './ports.ts';

export interface TestSmarthost extends Smarthost {
  config: Config;
  ports: { submission: number; smtps: number; alt: number; http: number };
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  /** What startSmarthost printed (the first credential). */
  printed: string[];
}

export const TEST_USER = 'app';
export const TEST_PASSWORD = 'correct horse battery staple';

export async function startTestSmarthost(t: TestContext | undefined, env: Record<string, string> = {}, opts: StartOptions = {}): Promise<TestSmarthost> {
  // A free port can be taken by a parallel test file between the probe and the bind: try again with new ones.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePorts(t, env, opts);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EADDRINUSE' || attempt === 5) throw err;
    }
  }
}

async function startOnFreePorts(t: TestContext | undefined, env: Record<string, string>, opts: StartOptions): Promise<TestSmarthost> {
  const dataDir = env.SMARTHOST_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'smarthost-test-'));
  const ports = { submission: await freePort(), smtps: await freePort(), alt: await freePort(), http: await freePort() };
  const config = loadConfig({
    SMARTHOST_DATA_DIR: dataDir,
    SMARTHOST_HOSTNAME: 'relay.test',
    SMARTHOST_LISTEN: '127.0.0.1',
    SMARTHOST_SUBMISSION_PORT: String(ports.submission),
    SMARTHOST_SMTPS_PORT: String(ports.smtps),
    SMARTHOST_ALT_PORT: String(ports.alt),
    SMARTHOST_HTTP_PORT: String(ports.http),
    SMARTHOST_USERS: `${TEST_USER}:${TEST_PASSWORD}:example.com`,
    SMARTHOST_LOG_LEVEL: 'debug',
    SMARTHOST_MIN_FREE_DISK: '0',
    SMARTHOST_SHUTDOWN_GRACE: '0.2s',
    ...env,
  });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const printed: string[] = [];
  const instance = await startSmarthost(config, createLogger(config.logLevel, sink), (line) => printed.push(line), opts);
  t?.after(() => instance.close());
  return Object.assign(instance, { config, ports, logs, printed });
}
