// `npm run bench [-- --quick]`: smarthost side by side with a private Postfix
// instance (issue 7), loopback only, every process started here and stopped by
// its PID (processes.ts). Both relay to Postfix's smtp-sink; smtp-source and
// load clients of ours drive them. Scenarios: 1 accept and 2 end to end (4 KiB
// and 100 KiB, concurrency 1/20/100), 3 STARTTLS+AUTH submission, 4 deep queue
// (accepted while the sink is down, then drained), 5 HTTP POST /emails, plus
// the disk's fsync ceiling and the messages list with 100,000 stored messages.
// Installs postfix from Debian when it is missing (deps.ts). Writes
// bench/results/<time>.{json,md,svg} and prints the table.
//
// --quick: scenarios 1 and 2 only, 2,000 messages of 4 KiB at concurrency 20.
// --only 1,2,3,4,5,list: a subset. --profile: smarthost runs scenarios 1–2 under
// node --cpu-prof (profile in the work directory; see profile-top.ts).
// --fsync-delay-ms N: every fsync of both relays waits N ms first, as on a
// network disk (slow-fsync.ts).
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDnsServer } from '../../test/helpers/dns-server.ts';
import { freePort } from '../../test/helpers/ports.ts';
import { deepQueue, warmUp } from './deep-queue.ts';
import { ensurePostfix } from './deps.ts';
import { slowFsyncEnv } from './slow-fsync.ts';
import { listWithManyMessages } from './list-store.ts';
import { cpuTimes, fsyncCeiling, loadAverage, machineFacts, stealPercent } from './machine.ts';
import { buildSmarthost, onCleanup, PROJECT_ROOT, runBench } from './processes.ts';
import { chartSvg, ratio, rowsTable, type Row } from './report.ts';
import { acceptAndDeliver, DEFAULT_TO, httpSend, kib, LATENCY_WARMUP, sinkCeiling, tlsSubmission, type Context, type Figure } from './scenarios.ts';
import { startSmtpSink, type Sink } from './smtp-sink.ts';
import { postfixRelay, smarthostRelay, type RelayUnderTest } from './systems.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    messages: { type: 'string' },
    'large-messages': { type: 'string', default: '2000' },
    concurrency: { type: 'string' },
    sizes: { type: 'string' },
    'latency-messages': { type: 'string' },
    deep: { type: 'string', default: '50000' },
    shallow: { type: 'string', default: '2000' },
    'tls-messages': { type: 'string', default: '2000' },
    'http-messages': { type: 'string', default: '2000' },
    'list-messages': { type: 'string', default: '100000' },
    'per-destination': { type: 'string', default: '20' },
    'timeout-s': { type: 'string', default: '300' },
    'deep-timeout-s': { type: 'string', default: '1200' },
    systems: { type: 'string', default: 'smarthost,postfix' },
    profile: { type: 'boolean', default: false },
    'fsync-delay-ms': { type: 'string' },
    to: { type: 'string', default: DEFAULT_TO },
  },
});

const QUICK = args.quick!;
const ONLY = new Set((args.only ?? (QUICK ? '1,2' : '1,2,3,4,5,list')).split(','));
const MESSAGES = Number(args.messages ?? (QUICK ? 2000 : 10_000));
const LARGE_MESSAGES = Number(args['large-messages']);
const CONCURRENCIES = (args.concurrency ?? (QUICK ? '20' : '1,20,100')).split(',').map(Number);
const SIZES = (args.sizes ?? (QUICK ? '4096' : '4096,102400')).split(',').map(Number);
// A p99 of 1,000 is the 10th slowest: one stall moves it. 3,000 (1,000 quick) steady it.
const LATENCY_MESSAGES = Number(args['latency-messages'] ?? (QUICK ? 1000 : 3000));
const SYSTEMS = args.systems!.split(',') as RelayUnderTest['name'][];
const PER_DESTINATION = Number(args['per-destination']);
const TIMEOUT_MS = Number(args['timeout-s']) * 1000;
const DEEP_TIMEOUT_MS = Number(args['deep-timeout-s']) * 1000;
const FSYNC_DELAY_MS = args['fsync-delay-ms'] === undefined ? undefined : Number(args['fsync-delay-ms']);

const say = (line: string) => console.log(line);
/** The sink's address: the relays' final destination (Postfix's relayhost, smarthost's MX), apart from their own 127.0.0.1. */
const SINK_HOST = '127.0.0.2';

async function main(): Promise<void> {
  const work = mkdtempSync(join(os.tmpdir(), 'smarthost-bench-'));
  // Postfix's daemons (user postfix, no chroot) reach their queue directory through it.
  chmodSync(work, 0o755);
  onCleanup(async () => rmSync(work, { recursive: true, force: true }));
  const startedAt = new Date();
  const loadAtStart = loadAverage();
  const cpuAtStart = cpuTimes();
  say(`smarthost vs Postfix: scenarios ${[...ONLY].join(',')}, ${MESSAGES} msgs (${LARGE_MESSAGES} of 100 KiB), concurrency ${CONCURRENCIES.join('/')}, ` +
    `sizes ${SIZES.map(kib).join('/')}; load average ${loadAtStart.join(' ')}; work directory ${work}`);
  ensurePostfix(say);
  buildSmarthost();
  const machine = machineFacts(work);
  const fsync = fsyncCeiling(work);
  say(`  fsync ceiling on ${machine.disk}: ${fsync.fsyncsPerSecond}/s (${fsync.meanMs} ms each)`);
  const slowDisk = FSYNC_DELAY_MS === undefined ? {} : slowFsyncEnv(work, FSYNC_DELAY_MS);
  if (FSYNC_DELAY_MS !== undefined) say(`  both relays: every fsync and fdatasync waits ${FSYNC_DELAY_MS} ms first (LD_PRELOAD fsync-shim.so)`);

  const dns = await startDnsServer({
    'example.org': { mx: [{ exchange: 'mx.example.org', priority: 10 }] },
    'mx.example.org': { a: [SINK_HOST] },
  });
  onCleanup(() => dns.close());
  const sinkPort = await freePort(SINK_HOST);
  let sink: Sink = await startSmtpSink(SINK_HOST, sinkPort, work);
  const ctx: Context = {
    get sink() {
      return sink;
    },
    to: args.to!, logDir: work, timeoutMs: TIMEOUT_MS, say,
  };
  const sinks = {
    down: () => sink.stop(),
    up: async () => (sink = await startSmtpSink(SINK_HOST, sinkPort, work)),
  };

  const figures = new Map<RelayUnderTest['name'], Figure[]>([['smarthost', []], ['postfix', []]]);
  const sinkAlone = await sinkCeiling(ctx, MESSAGES, 20, SIZES[0]!);

  const start = async (name: RelayUnderTest['name'], label: string, profile = false): Promise<RelayUnderTest> => {
    const dir = join(work, `${name}-${label}`);
    mkdirSync(dir, { recursive: true });
    return name === 'smarthost'
      ? smarthostRelay({ dataDir: dir, logFile: join(dir, 'smarthost.log'), sinkPort, dnsServer: dns.server, perDestinationConcurrency: PER_DESTINATION,
        nodeArgs: profile ? ['--cpu-prof', `--cpu-prof-dir=${join(work, 'profile')}`] : [], env: slowDisk })
      : postfixRelay({ dir, smtpPort: await freePort(), submissionPort: await freePort(), sinkHost: SINK_HOST, sinkPort, destinationConcurrency: PER_DESTINATION, environment: slowDisk },
        join(dir, 'postfix.log'));
  };

  for (const name of SYSTEMS) {
    const out = figures.get(name)!;
    if (ONLY.has('1') || ONLY.has('2') || ONLY.has('3') || ONLY.has('5')) {
      say(`${name}: scenarios 1, 2, 3${name === 'smarthost' ? ', 5' : ''}`);
      const relay = await start(name, 'main', args.profile && name === 'smarthost');
      try {
        if (ONLY.has('1') || ONLY.has('2'))
          for (const size of SIZES)
            for (const concurrency of CONCURRENCIES)
              out.push(...await acceptAndDeliver(relay, ctx, {
                messages: size > 16_384 ? Math.min(MESSAGES, LARGE_MESSAGES) : MESSAGES, concurrency, size,
                latencyMessages: LATENCY_MESSAGES, fresh: size <= 16_384,
              }));
        if (ONLY.has('3'))
          out.push(...await tlsSubmission(relay, ctx, { messages: Number(args['tls-messages']), concurrency: 20, size: 4096 }));
        if (name === 'smarthost' && ONLY.has('5'))
          out.push(...await httpSend(relay, ctx, { messages: Number(args['http-messages']), concurrency: 20 }));
      } finally {
        await relay.stop();
      }
    }
    if (ONLY.has('4')) {
      say(`${name}: scenario 4`);
      const relay = await start(name, 'deep');
      try {
        // A warm-up through the whole path (JIT, connection setup, first files), not measured: without it the
        // first drain of a fresh process was the slow one whichever size it had.
        await warmUp(relay, ctx);
        out.push(...await deepQueue(relay, ctx, sinks, { count: Number(args.shallow), size: 4096, timeoutMs: DEEP_TIMEOUT_MS, listings: false }));
        out.push(...await deepQueue(relay, ctx, sinks, { count: Number(args.deep), size: 4096, timeoutMs: DEEP_TIMEOUT_MS, listings: true }));
      } finally {
        await relay.stop();
      }
    }
  }
  if (ONLY.has('list')) {
    say(`smarthost: messages list with ${args['list-messages']} stored messages`);
    const dir = join(work, 'list-store');
    figures.get('smarthost')!.push(...await listWithManyMessages(dir, Number(args['list-messages']), say));
  }

  const rows = mergeRows(figures.get('smarthost')!, figures.get('postfix')!);
  const loadAtEnd = loadAverage();
  const cpuSteal = stealPercent(cpuAtStart, cpuTimes());
  const table = rowsTable(rows);
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-').replace(/-\d+Z$/, 'Z');
  const dir = join(PROJECT_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${stamp}${QUICK ? '-quick' : ''}`);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const header = `Command: \`${command}\`  \nMachine: ${machine.nproc} cores (${machine.cpuModel}), ${machine.memoryMiB} MiB, disk ${machine.disk}; ` +
    `fsync ceiling ${fsync.fsyncsPerSecond}/s${FSYNC_DELAY_MS === undefined ? '' : ` (both relays' fsyncs delayed by ${FSYNC_DELAY_MS} ms more)`}; smtp-sink alone ${sinkAlone.value} msg/s (${sinkAlone.scenario.slice(3)}); load average ${loadAtStart.join(' ')} at start, ${loadAtEnd.join(' ')} at end; ` +
    `CPU time taken by the virtual machine's host during the run (steal): ${cpuSteal} %  \n` +
    `Versions: Node ${machine.node}, SQLite ${machine.sqlite}, Postfix ${machine.postfix}, smarthost ${machine.smarthostCommit}; ${startedAt.toISOString()}\n`;
  writeFileSync(`${base}.md`, `${header}\n${table}\n`);
  writeFileSync(`${base}.json`, JSON.stringify({
    startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), command, machine, fsync, sinkAlone, loadAverage: { start: loadAtStart, end: loadAtEnd }, cpuStealPercent: cpuSteal,
    settings: { quick: QUICK, scenarios: [...ONLY], recipient: args.to, messages: MESSAGES, largeMessages: LARGE_MESSAGES, concurrencies: CONCURRENCIES, sizes: SIZES,
      latencyMessages: LATENCY_MESSAGES, latencyWarmup: LATENCY_WARMUP, perDestinationConcurrency: PER_DESTINATION, deep: Number(args.deep), shallow: Number(args.shallow),
      fsyncDelayMs: FSYNC_DELAY_MS ?? 0 },
    durability: {
      smarthost: 'SQLite WAL: 250 only after the commit and an fdatasync of the WAL (on the thread pool); messages arriving during a sync share the next commit and sync.',
      postfix: 'cleanup(8) fsyncs each queue file before smtpd answers 250 (one fsync per message; parallel smtpd/cleanup processes overlap them).',
    },
    rows: rows.map((r) => ({ ...r, ratio: ratio(r) })), table,
  }, null, 2) + '\n');
  writeFileSync(`${base}.svg`, chartSvg(rows, `smarthost vs Postfix — ${machine.nproc} cores ${machine.cpuModel}, ${startedAt.toISOString().slice(0, 16)}Z`));
  if (args.profile) {
    // One profile per thread (worker threads write their own); the main thread's is the largest file.
    const profiles = readdirSync(join(work, 'profile')).map((f) => join(work, 'profile', f)).sort((a, b) => statSync(b).size - statSync(a).size);
    if (profiles[0]) copyFileSync(profiles[0], `${base}.cpuprofile`);
    say(`profile of the main thread: ${base}.cpuprofile (read it with: node --import tsx scripts/bench/profile-top.ts ${base}.cpuprofile)`);
  }
  say(`\n${header}\n${table}\n\nwritten: ${base}.{md,json,svg}`);
  if (rows.some((r) => r.note?.startsWith('INCOMPLETE'))) process.exitCode = 1;
}

/** One row per figure: smarthost's and Postfix's figure for the same scenario and metric side by side. */
function mergeRows(smarthost: Figure[], postfix: Figure[]): Row[] {
  const key = (f: Figure) => `${f.scenario}\u0000${f.metric}`;
  const pf = new Map(postfix.map((f) => [key(f), f]));
  const rows: Row[] = [];
  for (const f of smarthost) {
    const other = pf.get(key(f));
    pf.delete(key(f));
    rows.push({ scenario: f.scenario, metric: f.metric, unit: f.unit, smarthost: f.value, postfix: other?.value, better: f.better,
      note: [f.note, other?.note].filter(Boolean).join('; ') || undefined });
  }
  for (const f of pf.values()) rows.push({ scenario: f.scenario, metric: f.metric, unit: f.unit, smarthost: NaN, postfix: f.value, better: f.better, note: f.note });
  return rows;
}

await runBench(main);
