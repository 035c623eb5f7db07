// SMARTHOST_ROUTE=auto: check each candidate route's egress (port 25 to a
// well-known MX, the relay's session, each provider's harmless API call) at
// start and then periodically, deliver through the first that works, and say
// why in plain words for the log and /readyz.
import type { Logger } from 'pino';
import type { RouteCheck, Transport } from '../outcome.ts';
import { checkRoute } from './check-route.ts';

export interface AutoRouteOptions {
  /** Candidates in order of preference. */
  candidates: { name: string; transport: Transport; describe: string }[];
  intervalMs: number;
  /** Limit of each step of a route check (see check-route.ts). */
  timeoutMs: number;
  logger: Logger;
}

export interface AutoRoute {
  /** The failover list to use now: the working routes in order; before the first probe, or when none works, every candidate. */
  routes(): string[];
  /** Plain words: which route is used and why the ones before it are not. */
  status(): string;
  /** Checks every candidate now; resolves when done. */
  probe(): Promise<void>;
  /** Probes now and then every intervalMs. */
  start(): void;
  stop(): void;
}

export function createAutoRoute(opts: AutoRouteOptions): AutoRoute {
  const all = opts.candidates.map((c) => c.name);
  let results: { name: string; check: RouteCheck }[] | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let said = '';

  const status = (): string => {
    if (!results) return `probing egress: ${all.join(', ')}`;
    const first = results.findIndex((r) => r.check.ok);
    const failures = results.slice(0, first < 0 ? undefined : first).map((r) => `${r.name}: ${r.check.detail}`);
    const pick = first < 0 ? 'no route works; trying them all in order on each attempt' : `delivering ${opts.candidates[first]!.describe}`;
    return [...failures, pick].join('; ');
  };

  const probe = () =>
    (running ??= (async () => {
      const checks = await Promise.all(opts.candidates.map((c) => checkRoute(c.transport, opts.timeoutMs)));
      results = opts.candidates.map((c, i) => ({ name: c.name, check: checks[i]! }));
      const now = status();
      const working = results.filter((r) => r.check.ok).map((r) => r.name);
      opts.logger.debug({ event: 'route-probe', checks: results.map((r) => ({ route: r.name, ok: r.check.ok, detail: r.check.detail })) }, 'route probe');
      if (now !== said) {
        // Only a change is worth a line at info level: the periodic probe is otherwise silent.
        const fields = { event: 'route', route: working[0] ?? null, working };
        if (working.length) opts.logger.info(fields, now);
        else opts.logger.warn(fields, now);
        said = now;
      }
    })().finally(() => (running = undefined)));

  return {
    routes() {
      const working = results?.filter((r) => r.check.ok).map((r) => r.name);
      return working?.length ? working : all;
    },
    status,
    probe,
    start() {
      void probe();
      timer ??= setInterval(() => void probe(), opts.intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
