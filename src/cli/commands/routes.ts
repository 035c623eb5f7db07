// `smarthost routes`: the routing table as `serve` would build it, then each
// route's harmless check (mx: port 25 to a well-known MX; relay: connect, EHLO,
// TLS, AUTH; providers: their API check), one line each; exit 1 when one fails.
import type { Command } from 'commander';
import { ConfigError } from '../../config/load.ts';
import { checkRoute } from '../../delivery/routing/check-route.ts';
import { buildRouteTable, describeTable, type RouteTable } from '../../delivery/routing/route-table.ts';
import { loadConfigOrExit } from '../with-store.ts';

export function registerRoutes(program: Command): void {
  program
    .command('routes')
    .description('print the routing table and check each route (port 25, relay login, provider API key) without sending mail; exit 1 when one fails')
    .action(async () => {
      const config = loadConfigOrExit();
      let table: RouteTable;
      try {
        table = buildRouteTable(config);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        console.error(err.message);
        process.exit(2);
      }
      console.log('routing table');
      for (const line of describeTable(table)) console.log(`  ${line}`);
      console.log('checks');
      const results = await Promise.all([...table.transports].map(async ([name, transport]) => ({ name, check: await checkRoute(transport, config.routeProbeTimeout) })));
      const width = Math.max(...results.map((r) => r.name.length));
      for (const { name, check } of results)
        console.log(`  ${check.ok ? 'OK  ' : 'FAIL'}  ${name.padEnd(width)}  ${check.detail}${check.ok ? ` — delivering ${table.describe(name)}` : ''}`);
      if (results.some((r) => !r.check.ok)) process.exitCode = 1;
    });
}
