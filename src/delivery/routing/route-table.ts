// Turns the route settings into the routing table: the default failover list,
// the rules, and one transport per route any list names. A route that is named
// but unknown or not configured stops the start with every such problem listed.
import { ConfigError } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import type { Transport } from '../outcome.ts';
import { builtinRoutes, type RouteContext, type TransportRegistry } from './registry.ts';
import type { RouteRule, RoutingRules } from './rules.ts';

export const AUTO = 'auto';

export interface RouteTable extends RoutingRules {
  /** Every route a list names (with auto's candidates), each transport created once. */
  transports: Map<string, Transport>;
  /** What SMARTHOST_ROUTE=auto probes, in order; undefined when no list says auto. */
  autoCandidates?: string[];
  /** How mail leaves on a route: "through the relay mail.example.net:587". */
  describe(name: string): string;
}

/** Today's behaviour when nothing is said: the relay when one is configured, else MX delivery. */
export function defaultRoutes(config: Config): string[] {
  return config.route ?? config.routes?.default ?? [config.relayUrl ? 'relay' : 'mx'];
}

/** The routes every list names (with auto's candidates), once each; throws ConfigError listing every route that cannot be used. */
export function checkRoutes(config: Config, registry: TransportRegistry = builtinRoutes): { used: string[]; autoCandidates?: string[] } {
  const problems: string[] = [];
  const lists: [where: string, names: string[]][] = [
    [config.route ? 'SMARTHOST_ROUTE' : 'routes.default', defaultRoutes(config)],
    ...(config.routes?.rules ?? []).map((r, i): [string, string[]] => [`routes.rules[${i}].routes`, r.routes]),
  ];
  const usesAuto = lists.some(([, names]) => names[0] === AUTO);
  let autoCandidates: string[] | undefined;
  if (usesAuto) {
    // Default: every configured route, in the registry's order (mx, relay, then the providers).
    autoCandidates = config.autoRoutes ?? Object.keys(registry).filter((name) => registry[name]!.missing(config).length === 0);
    if (config.autoRoutes) lists.push(['SMARTHOST_AUTO_ROUTES', config.autoRoutes]);
    if (config.autoRoutes?.includes(AUTO)) problems.push('SMARTHOST_AUTO_ROUTES: lists the routes auto may pick, so it cannot say "auto" itself');
  }
  const known = Object.keys(registry);
  const used = new Set<string>();
  for (const [where, names] of lists) {
    for (const name of names) {
      if (name === AUTO) continue;
      const kind = registry[name];
      if (!kind) {
        problems.push(`${where}: unknown route "${name}" (known: ${known.join(', ')}, auto)`);
        continue;
      }
      const missing = kind.missing(config);
      if (missing.length) problems.push(`${where}: route "${name}" is not configured: set ${missing.join(' and ')}`);
      else used.add(name);
    }
  }
  if (problems.length) throw new ConfigError([...new Set(problems)]);
  return { used: [...new Set([...used, ...(autoCandidates ?? [])])], autoCandidates };
}

export function buildRouteTable(config: Config, registry: TransportRegistry = builtinRoutes, ctx: RouteContext = {}): RouteTable {
  const { used, autoCandidates } = checkRoutes(config, registry);
  const transports = new Map<string, Transport>(used.map((name) => [name, registry[name]!.create(config, ctx)]));
  return {
    default: defaultRoutes(config),
    rules: config.routes?.rules ?? [],
    transports,
    autoCandidates,
    describe: (name) => registry[name]?.describe(config) ?? `through ${name}`,
  };
}

const ruleText = (r: RouteRule) =>
  [r.recipientDomain && `recipient ${r.recipientDomain.join(', ')}`, r.senderDomain && `sender ${r.senderDomain.join(', ')}`].filter(Boolean).join(' and ');

/** The table in a few lines (`smarthost routes`, doctor): default list, rules in order, what auto probes. */
export function describeTable(table: RouteTable): string[] {
  const lines = [`default: ${table.default.join(', ')}`];
  table.rules.forEach((r, i) => lines.push(`rule ${i + 1}: ${ruleText(r)} → ${r.routes.join(', ')}`));
  if (table.autoCandidates) lines.push(`${AUTO} probes, in order: ${table.autoCandidates.join(', ')}`);
  return lines;
}
