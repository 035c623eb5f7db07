// Scenario 4: `count` messages accepted while the sink is down (each relay
// defers them), then the sink comes back and the queue is flushed: accept
// rate with a growing queue, drain rate, peak memory, and the time of one
// queue listing and one GET /emails page with the whole queue in place.
import { startMemorySampler } from './machine.ts';
import { FROM, settle, type Context, type Figure } from './scenarios.ts';
import { runSmtpSource } from './smtp-source.ts';
import type { Sink } from './smtp-sink.ts';
import { percentile, round } from './stats.ts';
import { sleep } from './processes.ts';
import type { RelayUnderTest } from './systems.ts';

export interface SinkControl {
  down(): Promise<void>;
  up(): Promise<Sink>;
}

const timed = async <T>(fn: () => Promise<T>): Promise<[number, T]> => {
  const start = performance.now();
  const value = await fn();
  return [round(performance.now() - start, 1), value];
};

/** 500 messages end to end with the sink up, results thrown away. */
export async function warmUp(relay: RelayUnderTest, ctx: Context): Promise<void> {
  ctx.sink.reset();
  await runSmtpSource({ port: relay.port, messages: 500, sessions: 20, size: 4096, from: FROM, to: ctx.to, timeoutMs: ctx.timeoutMs, logDir: ctx.logDir });
  await ctx.sink.waitFor(500, ctx.timeoutMs);
  await settle(relay, ctx.timeoutMs);
}

export async function deepQueue(
  relay: RelayUnderTest, ctx: Context, sinks: SinkControl, o: { count: number; size: number; timeoutMs: number; listings: boolean },
): Promise<Figure[]> {
  const scenario = `4. queue of ${o.count}`;
  await sinks.down();
  const memory = startMemorySampler(() => relay.pids());
  const source = await runSmtpSource({ port: relay.port, messages: o.count, sessions: 20, size: o.size, from: FROM, to: ctx.to, timeoutMs: o.timeoutMs, logDir: ctx.logDir });
  // Every message has had its first (failed) attempt and waits, deferred.
  const settleEnd = Date.now() + o.timeoutMs;
  while (relay.unsettled() > 0 && Date.now() < settleEnd) await sleep(250);
  const queued = relay.pending();
  ctx.say(`  ${relay.name} ${scenario}: accepted in ${round(source.seconds, 1)} s with the sink down, ${queued} waiting`);
  const figures: Figure[] = [
    { scenario, metric: 'accept, sink down, c=20', unit: 'msg/s', value: round(o.count / source.seconds), better: 'higher' },
  ];
  if (o.listings) {
    if (relay.smarthost) {
      const node = relay.smarthost;
      const [cliMs, out] = await timed(() => node.cli(['queue', 'list', '--limit', '50']));
      // The same CLI process start without the store: what the listing itself adds is the difference.
      const [helpMs] = await timed(() => node.cli(['queue', '--help']));
      const get = async (query: string) => {
        const r = await fetch(`http://127.0.0.1:${node.httpPort}/emails?${query}`, { headers: { authorization: `Bearer ${node.apiKey}` } });
        return { status: r.status, body: (await r.json()) as { data: unknown[] } };
      };
      // The median of 5: one request on a shared machine is noise.
      const median = async (query: string) => {
        const times: number[] = [];
        let last = await get(query);
        for (let i = 0; i < 5; i++) {
          const [ms, res] = await timed(() => get(query));
          times.push(ms);
          last = res;
        }
        return [percentile(times, 50), last] as const;
      };
      const [httpMs, res] = await median('limit=50');
      const [filteredMs] = await median('limit=50&status=deferred');
      ctx.say(`  ${relay.name} queue list (${out.split('\n').length - 1} lines): ${cliMs} ms (process start alone ${helpMs} ms); GET /emails: HTTP ${res.status}, ${res.body.data.length} items, ${httpMs} ms; status=deferred ${filteredMs} ms`);
      figures.push(
        { scenario, metric: '`smarthost queue list` (a page of 50, process start included)', unit: 'ms', value: cliMs, better: 'lower' },
        { scenario, metric: '`smarthost queue --help` (the same process start, no store)', unit: 'ms', value: helpMs, better: 'lower' },
        { scenario, metric: 'GET /emails?limit=50 (median of 5)', unit: 'ms', value: httpMs, better: 'lower' },
        { scenario, metric: 'GET /emails?limit=50&status=deferred (median of 5)', unit: 'ms', value: filteredMs, better: 'lower' },
      );
    } else if (relay.postfix) {
      const [ms, out] = await timed(() => relay.postfix!.listQueue());
      ctx.say(`  ${relay.name} postqueue -p (the whole queue, ${out.split('\n').length} lines): ${ms} ms`);
      figures.push({ scenario, metric: '`postqueue -p` (whole queue: it has no pages)', unit: 'ms', value: ms, better: 'lower' });
    }
  }
  const sink = await sinks.up();
  sink.reset();
  const flushAt = performance.now();
  await relay.flush();
  const complete = await sink.waitFor(queued, o.timeoutMs);
  await settle(relay, o.timeoutMs);
  const { peakPssMiB, peakHwmMiB } = memory.stop();
  const note = complete && queued === o.count ? undefined : `INCOMPLETE: ${sink.received}/${queued} delivered of ${o.count} sent`;
  // From the first to the last delivery: the relays' wake-up after a flush (smarthost's idle poll, ≤ 5 s) is not drain.
  const drain = round((sink.received - 1) / ((sink.lastAt - sink.firstAt) / 1000));
  ctx.say(`  ${relay.name} ${scenario}: drained at ${drain} msg/s (flush → last delivery ${round((sink.lastAt - flushAt) / 1000, 1)} s), peak memory ${peakPssMiB} MiB PSS (largest process ${peakHwmMiB} MiB RSS)${note ? ` ${note}` : ''}`);
  figures.push(
    { scenario, metric: 'drain, first to last delivery', unit: 'msg/s', value: drain, better: 'higher', note },
    { scenario, metric: 'peak memory, PSS summed over its processes', unit: 'MiB', value: peakPssMiB, better: 'lower' },
    { scenario, metric: 'peak RSS of its largest process (VmHWM)', unit: 'MiB', value: peakHwmMiB, better: 'lower' },
  );
  return figures;
}
