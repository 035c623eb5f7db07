// Each route's health for the overview: what it did last (its newest delivery
// and newest failed try, from the events it wrote, the reply explained by
// doctor/explain.ts) and, on demand, the same harmless check `smarthost routes`,
// doctor and SMARTHOST_ROUTE=auto run. The check is not run on every page view:
// it opens connections and may take seconds.
import { formatReply } from '../delivery/smtp-reply.ts';
import type { RouteCheck } from '../delivery/outcome.ts';
import { checkRoute } from '../delivery/routing/check-route.ts';
import { describeTable, type RouteTable } from '../delivery/routing/route-table.ts';
import type { RouteRule } from '../delivery/routing/rules.ts';
import { explainReply, type Category } from '../doctor/explain.ts';
import type { StoredEvent, Store } from '../store/store.ts';

/** What the server hands the dashboard: the table `serve` built, SMARTHOST_ROUTE_PROBE_TIMEOUT, auto's status when a list says auto. */
export interface Routing {
  table: RouteTable;
  probeTimeoutMs: number;
  autoStatus?: () => string;
}

export interface RouteFailure {
  at: number;
  /** 'attempt': the route failed and the recipient was handed to the next route of its list. */
  type: StoredEvent['type'];
  reply: string | null;
  category: Category;
  meaning: string;
  remedy: string;
}

export interface RouteHealth {
  name: string;
  /** How mail leaves on it: "through the relay mail.example.net:587". */
  describe: string;
  /** `relay`: the host that took the message (the MX, the relay), as its delivery event recorded it. */
  lastDelivered?: { at: number; relay: string | null; reply: string | null };
  lastFailure?: RouteFailure;
}

export interface RoutingHealth {
  /** The table in a few lines, as `smarthost routes` and doctor print it. */
  table: string[];
  /** The same table as data, for the API: the default list, the rules, and what auto probes. */
  default: string[];
  rules: RouteRule[];
  autoCandidates?: string[];
  /** SMARTHOST_ROUTE=auto: which route is used now and why the ones before it are not. */
  auto?: string;
  routes: RouteHealth[];
}

export async function routingHealth(store: Store, routing: Routing): Promise<RoutingHealth> {
  const names = [...routing.table.transports.keys()];
  const last = await Promise.all(names.map((name) => store.lastRouteEvents(name)));
  return {
    table: describeTable(routing.table),
    default: routing.table.default,
    rules: routing.table.rules,
    ...(routing.table.autoCandidates && { autoCandidates: routing.table.autoCandidates }),
    ...(routing.autoStatus && { auto: routing.autoStatus() }),
    routes: names.map((name, i) => {
      const { delivered, failed } = last[i]!;
      return {
        name, describe: routing.table.describe(name),
        ...(delivered && { lastDelivered: { at: delivered.at, relay: delivered.relay ?? null, reply: delivered.reply ? formatReply(delivered.reply) : null } }),
        ...(failed && { lastFailure: failure(failed) }),
      };
    }),
  };
}

function failure(e: StoredEvent): RouteFailure {
  const why = e.reply ? explainReply(e.reply) : { category: 'other' as const, meaning: e.detail ?? 'no reply recorded', remedy: 'see the message timeline' };
  return { at: e.at, type: e.type, reply: e.reply ? formatReply(e.reply) : null, category: e.category ?? why.category, meaning: why.meaning, remedy: why.remedy };
}

/** Every route's check, at once, each bounded in time: what `smarthost routes` prints. */
export async function checkAllRoutes(routing: Routing): Promise<{ name: string; check: RouteCheck }[]> {
  const entries = [...routing.table.transports];
  const checks = await Promise.all(entries.map(([, transport]) => checkRoute(transport, routing.probeTimeoutMs)));
  return entries.map(([name], i) => ({ name, check: checks[i]! }));
}
