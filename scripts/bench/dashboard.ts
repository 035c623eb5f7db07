// `npm run bench:dashboard [-- --messages 100000 --runs 30 --stores sqlite,postgres]`
//
// How fast the dashboard answers on a deep queue (issue 11: the first page and a filtered page of
// 100,000 messages under 200 ms). For each store: a fresh SQLite file or PostgreSQL database
// filled with N messages over the last week (100 senders, one recipient each, 1,000 campaign tags,
// 1 % queued, 9 % suppressed, the rest sandboxed, so no delivery runs), then the real HTTP server on loopback,
// a login, and each dashboard request timed over `runs` repetitions after a warm-up.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Accept } from '../../src/accept/accept.ts';
import { loadConfig } from '../../src/config/load.ts';
import { ensureAdminPassword } from '../../src/dashboard/admin-password.ts';
import { buildRouteTable } from '../../src/delivery/routing/route-table.ts';
import { createHttpIngress } from '../../src/ingress/http/server.ts';
import { createLogger } from '../../src/log.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { createProviderWebhooks } from '../../src/provider-webhooks/provider-webhooks.ts';
import { newMessageId } from '../../src/store/ids.ts';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { NewMessage, Store } from '../../src/store/store.ts';
import { createAddressGuard } from '../../src/webhooks/address-guard.ts';
import { markdownTable, percentile, round } from './stats.ts';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '30' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    database: { type: 'string', default: process.env.SMARTHOST_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const MESSAGES = Number(args.messages);
const RUNS = Number(args.runs);
const PASSWORD = 'bench password';
const WEEK = 7 * 86_400_000;

async function fill(store: Store): Promise<void> {
  const now = Date.now();
  const raw = Buffer.from(`Subject: bench\r\nFrom: app@example.com\r\n\r\n${'x'.repeat(200)}\r\n`);
  for (let done = 0; done < MESSAGES; ) {
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < 5_000 && done < MESSAGES; i++, done++) {
      const createdAt = now - WEEK + Math.floor((done / MESSAGES) * WEEK);
      const status = done % 100 === 0 ? 'queued' : done % 100 < 10 ? 'suppressed' : 'sandboxed';
      const m: NewMessage = {
        id: newMessageId(createdAt), sender: `app${done % 100}@example.com`, raw, source: 'http', credential: 'key:bench', clientAddress: '127.0.0.1',
        createdAt, recipients: [{ address: `user${done}@example.org`, status }], tags: [{ name: 'campaign', value: `c${done % 1000}` }], subject: 'bench',
      };
      batch.push(store.enqueue(m));
    }
    await Promise.all(batch);
  }
}

async function measure(name: string, store: Store): Promise<(string | number)[][]> {
  const t0 = Date.now();
  await fill(store);
  console.error(`${name}: ${MESSAGES} messages stored in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await ensureAdminPassword(store, PASSWORD, '', () => {});
  const logger = createLogger('silent');
  const refuse: Accept = async () => {
    throw new Error('the benchmark sends nothing');
  };
  // Defaults only: no provider webhooks, the mx route for the domains pages.
  const config = loadConfig({});
  const http = createHttpIngress({ listen: '127.0.0.1', port: 0 }, {
    store, accept: refuse, logger, metrics: createMetrics(store), maxMessageSize: 1 << 20, webhookGuard: createAddressGuard([]), readiness: async () => [],
    providerWebhooks: createProviderWebhooks(config, store), domains: config,
    // The overview's route health reads the mx route's last events (the bench never presses Check now).
    routing: { table: buildRouteTable(config), probeTimeoutMs: config.routeProbeTimeout },
    dashboard: {
      sessions: { idleMs: 3_600_000, lifetimeMs: 3_600_000 }, loginFailures: { limit: 5, windowMs: 600_000 }, secure: false,
      connect: { hostname: 'bench.test', httpTls: false, ports: { submission: 587, smtps: 465, alt: 2525, http: 8080 } },
    },
  });
  await http.listen();
  const base = `http://127.0.0.1:${http.port}`;
  try {
    const login = await fetch(`${base}/ui/login`, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base }, body: `password=${encodeURIComponent(PASSWORD)}`,
    });
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const someId = (await store.listMessages({ limit: 1, before: newMessageId(Date.now() - WEEK / 2) }))[0]!.id;
    const since = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 16);
    const requests: [string, string][] = [
      ['messages: first page', '/ui/messages/rows'],
      ['messages: status=queued (1 %)', '/ui/messages/rows?status=queued'],
      ['messages: sender (1 of 100)', '/ui/messages/rows?sender=app7@example.com'],
      ['messages: recipient (1 match)', `/ui/messages/rows?recipient=user${Math.floor(MESSAGES / 2)}@example.org`],
      ['messages: tag (1 of 1,000)', '/ui/messages/rows?tag=campaign%3Dc7'],
      ['messages: tag (no match)', '/ui/messages/rows?tag=campaign%3Dnone'],
      ['messages: subject (every message)', '/ui/messages/rows?subject=bench'],
      ['messages: subject (no match)', '/ui/messages/rows?subject=nomatch'],
      ['messages: subject (no match), sender', '/ui/messages/rows?subject=nomatch&sender=app7@example.com'],
      ['messages: since 3 days, queued', `/ui/messages/rows?since=${since}&tz=0&status=queued`],
      ['messages: a page in the middle', `/ui/messages/rows?cursor=${someId}`],
      ['message detail', `/ui/messages/${someId}`],
      ['overview: last day', '/ui/?window=day'],
      ['overview: last week', '/ui/?window=week'],
      ['suppressions', '/ui/suppressions'],
    ];
    const rows: (string | number)[][] = [];
    for (const [label, path] of requests) {
      const times: number[] = [];
      for (let i = 0; i < RUNS + 3; i++) {
        const start = performance.now();
        const res = await fetch(base + path, { headers: { cookie } });
        await res.text();
        if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
        if (i >= 3) times.push(performance.now() - start);
      }
      rows.push([name, label, round(percentile(times, 50)), round(percentile(times, 95)), round(Math.max(...times))]);
    }
    return rows;
  } finally {
    await http.close();
  }
}

const rows: (string | number)[][] = [];
for (const kind of args.stores!.split(',')) {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'smarthost-bench-dashboard-'));
    const store = openSqliteStore(dir);
    try {
      rows.push(...(await measure('sqlite', store)));
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  } else if (kind === 'postgres') {
    const name = `smarthost_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: args.database });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(args.database!);
    url.pathname = `/${name}`;
    const store = await openPostgresStore(url.toString());
    try {
      rows.push(...(await measure('postgres', store)));
    } finally {
      await store.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  } else throw new Error(`unknown store ${kind}: sqlite or postgres`);
}
console.log(`\nDashboard requests over HTTP on loopback, ${MESSAGES} messages, ${RUNS} runs each (ms)\n`);
console.log(markdownTable(['store', 'request', 'p50', 'p95', 'max'], rows));
