// The scenarios of issue 7, each run against one relay (or smarthost alone) and
// turned into rows of figures. Every wait is bounded by the step's time limit.
import { runHttpSend, runTlsSubmission } from './api-clients.ts';
import { runLoadApart } from './load-process.ts';
import { cpuSeconds } from './machine.ts';
import { sleep } from './processes.ts';
import type { Row } from './report.ts';
import { runSmtpSource } from './smtp-source.ts';
import type { Sink } from './smtp-sink.ts';
import { percentile, round } from './stats.ts';
import type { RelayUnderTest } from './systems.ts';

export const FROM = 'app@example.com';
/**
 * The SMTP scenarios' recipient: a domain literal, so smarthost's MX delivery skips DNS as Postfix's
 * relayhost does (`--to rcpt@example.org` measures the MX path through the local DNS server instead).
 */
export const DEFAULT_TO = 'rcpt@[127.0.0.2]';
/** The HTTP API validates addresses as its providers do (no domain literals): its mail goes through DNS. */
export const HTTP_TO = 'rcpt@example.org';

export interface Context {
  sink: Sink;
  /** The envelope recipient of the SMTP scenarios. */
  to: string;
  logDir: string;
  timeoutMs: number;
  /** Progress lines. */
  say(line: string): void;
}

/** A figure for one relay; merged into smarthost/Postfix rows by the caller. */
export interface Figure {
  scenario: string;
  metric: string;
  unit: string;
  value: number;
  better: Row['better'];
  note?: string;
}

/**
 * Untimed messages a latency run sends first (load-client.ts `warmup`), whatever the concurrency: the
 * client is a new process, and with 10 per connection (200 at c=20) the first quarter of the timed
 * messages still had a p50 of 8.5–10.7 ms against 7.2–8.2 ms in the other three (smarthost, c=20).
 */
export const LATENCY_WARMUP = 1000;

export const kib = (size: number) => `${Math.round(size / 1024)} KiB`;

/** Bounded wait until the relay has nothing left to deliver (results committed), so the next step starts clean. */
export async function settle(relay: RelayUnderTest, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (relay.pending() === 0) return true;
    await sleep(200);
  }
  return false;
}

/**
 * Scenarios 1 and 2: smtp-source sends `messages` into the trusted listener (accept rate), the sink
 * receives them all (end-to-end rate); then our load client, in a process of its own, sends `latencyMessages`
 * more on reused connections (MAIL FROM→250) and, when `fresh`, as many again on a new connection each
 * (connect→250), each run after LATENCY_WARMUP untimed messages.
 */
export async function acceptAndDeliver(
  relay: RelayUnderTest, ctx: Context, o: { messages: number; concurrency: number; size: number; latencyMessages: number; fresh: boolean },
): Promise<Figure[]> {
  const scenario = `${kib(o.size)} c=${o.concurrency}`;
  const { sink } = ctx;
  sink.reset();
  const cpuBefore = cpuSeconds(relay.pids());
  const start = performance.now();
  const source = await runSmtpSource({ port: relay.port, messages: o.messages, sessions: o.concurrency, size: o.size, from: FROM, to: ctx.to, timeoutMs: ctx.timeoutMs, logDir: ctx.logDir });
  const remaining = Math.max(0, ctx.timeoutMs - (performance.now() - start));
  const complete = await sink.waitFor(o.messages, remaining);
  const e2eSeconds = (sink.lastAt - start) / 1000;
  const note = complete && source.exitCode === 0 ? undefined : `INCOMPLETE: smtp-source exit ${source.exitCode}, sink got ${sink.received}/${o.messages}`;
  ctx.say(`  ${relay.name} ${scenario}: accepted ${o.messages} in ${round(source.seconds, 2)} s, all delivered after ${round(e2eSeconds, 2)} s${note ? ` ${note}` : ''}`);
  await settle(relay, ctx.timeoutMs);
  const cpuMs = ((cpuSeconds(relay.pids()) - cpuBefore) * 1000) / o.messages;
  ctx.say(`  ${relay.name} ${scenario}: ${round(cpuMs, 2)} ms of CPU per message, accept to delivery`);
  const figures: Figure[] = [
    { scenario: `1. accept ${scenario}`, metric: `smtp-source, ${o.messages} msgs`, unit: 'msg/s', value: round(o.messages / source.seconds), better: 'higher', note },
    { scenario: `2. end to end ${scenario}`, metric: `until the sink has all ${o.messages}`, unit: 'msg/s', value: round(sink.received / e2eSeconds), better: 'higher', note },
    { scenario: `2. end to end ${scenario}`, metric: 'CPU per message, all its processes', unit: 'ms', value: round(cpuMs, 2), better: 'lower', note },
  ];
  const latency = async (fresh: boolean) => {
    sink.reset();
    const warmup = LATENCY_WARMUP;
    const load = await runLoadApart({ targets: [{ host: '127.0.0.1', port: relay.port }], messages: o.latencyMessages, warmup, concurrency: o.concurrency,
      size: o.size, from: FROM, to: ctx.to, deadlineMs: ctx.timeoutMs, fresh }, ctx.logDir);
    await sink.waitFor(load.accepted, ctx.timeoutMs);
    await settle(relay, ctx.timeoutMs);
    const what = fresh ? 'connect→250, new connection per message' : 'MAIL→250, reused connection';
    const lnote = load.accepted === warmup + o.latencyMessages ? undefined : `INCOMPLETE: ${load.accepted}/${warmup + o.latencyMessages} accepted, ${load.errors} errors, ${load.refused} refused`;
    ctx.say(`  ${relay.name} ${scenario} ${what}: p50 ${round(percentile(load.latencies, 50), 2)} ms, p99 ${round(percentile(load.latencies, 99), 2)} ms`);
    figures.push(
      { scenario: `1. accept ${scenario}`, metric: `p50 ${what}`, unit: 'ms', value: round(percentile(load.latencies, 50), 2), better: 'lower', note: lnote },
      { scenario: `1. accept ${scenario}`, metric: `p99 ${what}`, unit: 'ms', value: round(percentile(load.latencies, 99), 2), better: 'lower', note: lnote },
    );
  };
  await latency(false);
  if (o.fresh) await latency(true);
  return figures;
}

/** The sink alone, fed by smtp-source: the ceiling no relay figure can pass. */
export async function sinkCeiling(ctx: Context, messages: number, concurrency: number, size: number): Promise<Figure> {
  ctx.sink.reset();
  const start = performance.now();
  await runSmtpSource({ host: ctx.sink.host, port: ctx.sink.port, messages, sessions: concurrency, size, from: FROM, to: ctx.to, timeoutMs: ctx.timeoutMs, logDir: ctx.logDir });
  await ctx.sink.waitFor(messages, ctx.timeoutMs);
  const rate = round(ctx.sink.received / ((ctx.sink.lastAt - start) / 1000));
  ctx.say(`  smtp-sink alone: ${rate} msg/s`);
  return { scenario: `0. sink alone ${kib(size)} c=${concurrency}`, metric: 'smtp-source → smtp-sink', unit: 'msg/s', value: rate, better: 'higher' };
}

/** Scenario 3: STARTTLS + AUTH PLAIN on the submission port (smarthost's 587, Postfix's submission service with Cyrus SASL). */
export async function tlsSubmission(relay: RelayUnderTest, ctx: Context, o: { messages: number; concurrency: number; size: number }): Promise<Figure[]> {
  ctx.sink.reset();
  const { port, user, pass } = relay.submission;
  const r = await runTlsSubmission({ port, user, pass, messages: o.messages, concurrency: o.concurrency,
    size: o.size, from: FROM, to: ctx.to, deadlineMs: ctx.timeoutMs });
  await ctx.sink.waitFor(r.ok, ctx.timeoutMs);
  await settle(relay, ctx.timeoutMs);
  const note = r.failed ? `INCOMPLETE: ${r.failed} failed (${r.firstError})` : undefined;
  const scenario = `3. STARTTLS+AUTH ${kib(o.size)} c=${o.concurrency}`;
  ctx.say(`  ${relay.name} ${scenario}: ${round(r.ok / r.seconds)} msg/s, p99 ${round(percentile(r.latencies, 99), 2)} ms${note ? ` ${note}` : ''}`);
  return [
    { scenario, metric: `${o.messages} msgs, nodemailer client`, unit: 'msg/s', value: round(r.ok / r.seconds), better: 'higher', note },
    { scenario, metric: 'p50 MAIL→250, reused connection', unit: 'ms', value: round(percentile(r.latencies, 50), 2), better: 'lower', note },
    { scenario, metric: 'p99 MAIL→250, reused connection', unit: 'ms', value: round(percentile(r.latencies, 99), 2), better: 'lower', note },
  ];
}

/** Scenario 5: POST /emails (smarthost only). */
export async function httpSend(relay: RelayUnderTest, ctx: Context, o: { messages: number; concurrency: number }): Promise<Figure[]> {
  ctx.sink.reset();
  const node = relay.smarthost!;
  const r = await runHttpSend({ port: node.httpPort, apiKey: node.apiKey, messages: o.messages, concurrency: o.concurrency, from: FROM, to: HTTP_TO, deadlineMs: ctx.timeoutMs });
  await ctx.sink.waitFor(r.ok, ctx.timeoutMs);
  await settle(relay, ctx.timeoutMs);
  const note = r.failed ? `INCOMPLETE: ${r.failed} failed (${r.firstError})` : undefined;
  const scenario = `5. HTTP POST /emails c=${o.concurrency}`;
  ctx.say(`  ${scenario}: ${round(r.ok / r.seconds)} req/s, p99 ${round(percentile(r.latencies, 99), 2)} ms${note ? ` ${note}` : ''}`);
  return [
    { scenario, metric: `${o.messages} requests`, unit: 'req/s', value: round(r.ok / r.seconds), better: 'higher', note },
    { scenario, metric: 'p50 request→200', unit: 'ms', value: round(percentile(r.latencies, 50), 2), better: 'lower', note },
    { scenario, metric: 'p99 request→200', unit: 'ms', value: round(percentile(r.latencies, 99), 2), better: 'lower', note },
  ];
}
