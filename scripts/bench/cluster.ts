// `npm run bench:cluster [-- --quick] [-- --messages N --concurrency C --size BYTES --nodes 1,2,3]`
//
// Throughput of smarthost on PostgreSQL with 1, 2 and 3 nodes (issue 8), loopback only:
// for each node count, a fresh database, N `smarthost serve` children (trusted
// network, alt port, logging at its default level into a file of their own, as
// in service), a recipient sink of ours on 127.0.0.2 found through a local DNS
// server, and a load client of ours. It
// reports accepted and delivered msg/s, p50/p99 accept latency and database
// statements per delivered message (smarthost_store_queries_total from every
// node's /metrics). The sink is measured on its own first.
//
// The side-by-side comparison with Postfix on SQLite is `npm run bench` (index.ts).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startDnsServer } from '../../test/helpers/dns-server.ts';
import { runLoad, type LoadResult } from './load-client.ts';
import { buildSmarthost, onCleanup, PROJECT_ROOT, runBench, sleep, spawnSmarthost, stopProcess, waitReady } from './processes.ts';
import { startSink, type Sink } from './sink.ts';
import { markdownTable, percentile, round } from './stats.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    messages: { type: 'string' },
    concurrency: { type: 'string', default: '20' },
    size: { type: 'string', default: '4096' },
    nodes: { type: 'string', default: '1,2,3' },
    'per-destination': { type: 'string', default: '20' },
    'timeout-s': { type: 'string', default: '120' },
    database: { type: 'string', default: process.env.SMARTHOST_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});

const MESSAGES = Number(args.messages ?? (args.quick ? 500 : 2000));
const CONCURRENCY = Number(args.concurrency);
const SIZE = Number(args.size);
const NODE_COUNTS = args.nodes!.split(',').map(Number);
/** Every node's delivery to the one sink destination; Postfix's default_destination_concurrency_limit is 20 too. */
const PER_DESTINATION = Number(args['per-destination']);
const SCENARIO_TIMEOUT_MS = Number(args['timeout-s']) * 1000;
const ADMIN_URL = args.database!;
const FROM = 'app@example.com';
const TO = 'rcpt@example.org';

interface ScenarioResult {
  name: string;
  nodes: number;
  messages: number;
  concurrency: number;
  size: number;
  accepted: number;
  refused: number;
  errors: number;
  delivered: number;
  complete: boolean;
  acceptSeconds: number;
  endToEndSeconds: number;
  acceptedPerSecond: number;
  deliveredPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  acceptedPerNode: number[];
  /** smarthost_store_queries_total summed over nodes, from just before the load to when the queue was empty. */
  queries: number;
  queriesPerDelivered: number;
}

async function admin<T extends pg.QueryResultRow>(sql: string, url = ADMIN_URL): Promise<pg.QueryResult<T>> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await client.query<T>(sql);
  } finally {
    await client.end();
  }
}

function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function scrapeQueries(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /^smarthost_store_queries_total (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  if (!m) throw new Error(`no smarthost_store_queries_total on :${port}/metrics`);
  return Number(m[1]);
}

function summarize(name: string, nodes: number, load: LoadResult, delivered: number, deliveredAt: number, complete: boolean, queries: number): ScenarioResult {
  const acceptSeconds = (load.finishedAt - load.startedAt) / 1000;
  const endToEndSeconds = (deliveredAt - load.startedAt) / 1000;
  return {
    name, nodes, messages: MESSAGES, concurrency: CONCURRENCY, size: SIZE,
    accepted: load.accepted, refused: load.refused, errors: load.errors, delivered, complete,
    acceptSeconds: round(acceptSeconds, 2), endToEndSeconds: round(endToEndSeconds, 2),
    acceptedPerSecond: round(load.accepted / acceptSeconds), deliveredPerSecond: round(delivered / endToEndSeconds),
    p50Ms: round(percentile(load.latencies, 50), 2), p99Ms: round(percentile(load.latencies, 99), 2),
    acceptedPerNode: load.perTarget, queries, queriesPerDelivered: round(queries / delivered, 2),
  };
}

/** The sink alone, driven by the same load client: the ceiling no smarthost figure can pass. */
async function sinkAlone(sink: Sink): Promise<ScenarioResult> {
  sink.reset();
  const load = await runLoad({
    targets: [{ host: '127.0.0.2', port: sink.port }], messages: MESSAGES, concurrency: CONCURRENCY, size: SIZE, from: FROM, to: TO,
    deadlineMs: SCENARIO_TIMEOUT_MS,
  });
  return summarize('sink alone', 0, load, sink.received, sink.lastAt, sink.received === MESSAGES, NaN);
}

async function smarthostNodes(n: number, sink: Sink, dnsServer: string, work: string): Promise<ScenarioResult> {
  const dbName = `smarthost_bench_${n}_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${dbName}`);
  const dropDb = () => admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).then(() => undefined);
  onCleanup(dropDb);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const smtpPorts: number[] = [];
  const httpPorts: number[] = [];
  for (let i = 0; i < n; i++) {
    smtpPorts.push(await freePort());
    httpPorts.push(await freePort());
  }
  const procs = smtpPorts.map((port, i) =>
    spawnSmarthost({
      SMARTHOST_DATABASE_URL: url.toString(),
      SMARTHOST_DATA_DIR: join(work, `n${n}-node${i}`),
      SMARTHOST_HOSTNAME: `node${i}.bench.test`,
      SMARTHOST_LISTEN: '127.0.0.1',
      SMARTHOST_SUBMISSION_PORT: '0',
      SMARTHOST_SMTPS_PORT: '0',
      SMARTHOST_ALT_PORT: String(port),
      SMARTHOST_HTTP_PORT: String(httpPorts[i]),
      SMARTHOST_TRUSTED_NETWORKS: '127.0.0.1/32',
      SMARTHOST_DNS_SERVERS: dnsServer,
      SMARTHOST_MX_PORT: String(sink.port),
      SMARTHOST_MIN_FREE_DISK: '0',
      SMARTHOST_PER_DESTINATION_CONCURRENCY: String(PER_DESTINATION),
    }, join(work, `n${n}-node${i}.log`)));
  try {
    await Promise.all(procs.map((p, i) => waitReady(p, [smtpPorts[i]!, httpPorts[i]!], 30_000, `node ${i}`)));
    const before = (await Promise.all(httpPorts.map(scrapeQueries))).reduce((a, b) => a + b, 0);
    sink.reset();
    const load = await runLoad({
      targets: smtpPorts.map((port) => ({ host: '127.0.0.1', port })), messages: MESSAGES, concurrency: CONCURRENCY, size: SIZE,
      from: FROM, to: TO, deadlineMs: SCENARIO_TIMEOUT_MS,
    });
    // End to end: until the sink has every accepted message (bounded by the scenario's time).
    while (sink.received < load.accepted && performance.now() - load.startedAt < SCENARIO_TIMEOUT_MS) await sleep(20);
    const deliveredAt = sink.lastAt;
    const delivered = sink.received;
    // The deliveries' own bookkeeping (results, events) commits after the sink's 250: wait for an empty queue before counting.
    const settleDeadline = Date.now() + 15_000;
    while (Date.now() < settleDeadline) {
      const { rows } = await admin<{ n: string }>(`SELECT count(*) AS n FROM recipients WHERE status IN ('queued', 'deferred')`, url.toString());
      if (Number(rows[0]!.n) === 0) break;
      await sleep(100);
    }
    const after = (await Promise.all(httpPorts.map(scrapeQueries))).reduce((a, b) => a + b, 0);
    const complete = delivered >= load.accepted && load.accepted === MESSAGES;
    return summarize(`smarthost ×${n}`, n, load, delivered, deliveredAt, complete, after - before);
  } finally {
    await Promise.all(procs.map((p) => stopProcess(p)));
    await dropDb();
  }
}

function machine() {
  const version = (cmd: string, a: string[]) => {
    try {
      return execFileSync(cmd, a, { encoding: 'utf8' }).trim().split('\n')[0];
    } catch {
      return undefined;
    }
  };
  return {
    cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryMiB: Math.round(os.totalmem() / 2 ** 20),
    platform: `${os.type()} ${os.release()}`, node: process.version, postgres: version('psql', ['--version']),
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(os.tmpdir(), 'smarthost-bench-'));
  onCleanup(async () => rmSync(work, { recursive: true, force: true }));
  buildSmarthost();
  console.log(`smarthost bench: ${MESSAGES} messages of ${SIZE} bytes, concurrency ${CONCURRENCY}, nodes ${NODE_COUNTS.join('/')}, ` +
    `per-destination concurrency ${PER_DESTINATION}, ≤${SCENARIO_TIMEOUT_MS / 1000} s per scenario (logs in ${work})`);
  const pgVersion = (await admin<{ v: string }>('SELECT current_setting(\'server_version\') AS v').catch((err: Error) => {
    throw new Error(`PostgreSQL at ${ADMIN_URL} is needed: ${err.message}`);
  })).rows[0]!.v;

  const dns = await startDnsServer({
    'example.org': { mx: [{ exchange: 'mx.example.org', priority: 10 }] },
    'mx.example.org': { a: ['127.0.0.2'] },
  });
  onCleanup(() => dns.close());
  const sink = await startSink('127.0.0.2');
  onCleanup(() => sink.close());

  const results: ScenarioResult[] = [];
  const report = (r: ScenarioResult) => {
    results.push(r);
    console.log(`  ${r.name}: accepted ${r.accepted}/${r.messages} (${r.acceptedPerSecond} msg/s), delivered ${r.delivered} ` +
      `(${r.deliveredPerSecond} msg/s), p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, queries/delivered ${r.queriesPerDelivered}` +
      `${r.complete ? '' : '  INCOMPLETE'}`);
  };
  report(await sinkAlone(sink));
  for (const n of NODE_COUNTS) report(await smarthostNodes(n, sink, dns.server, work));

  const table = markdownTable(
    ['scenario', 'accepted', 'delivered', 'accepted msg/s', 'delivered msg/s (e2e)', 'p50 accept ms', 'p99 accept ms', 'per node', 'queries/delivered'],
    results.map((r) => [r.name, r.accepted, r.delivered, r.acceptedPerSecond, r.deliveredPerSecond, r.p50Ms, r.p99Ms,
      r.acceptedPerNode.join('/'), r.queriesPerDelivered]),
  );
  console.log(`\n${table}\n`);
  const out = join(PROJECT_ROOT, 'bench', 'results', `cluster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(join(PROJECT_ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(out, JSON.stringify({
    at: new Date().toISOString(), machine: { ...machine(), postgresServer: pgVersion },
    settings: { messages: MESSAGES, size: SIZE, concurrency: CONCURRENCY, perDestinationConcurrency: PER_DESTINATION, scenarioTimeoutMs: SCENARIO_TIMEOUT_MS },
    results, table,
  }, null, 2) + '\n');
  console.log(`written: ${out}`);
  if (results.some((r) => !r.complete)) process.exitCode = 1;
}

await runBench(main);
