// Picks the failover list for each recipient (rules by recipient or sender
// domain, else the default; `auto` asks the egress probe) and groups recipients
// into delivery sessions: per message and recipient domain when the list starts
// with MX (one connection carries all recipients of a domain), per message for
// an upstream relay or a provider.
import type { ClaimedRecipient, StoredMessage } from '../store/store.ts';
import type { Transport } from './outcome.ts';
import type { AutoRoute } from './routing/auto-route.ts';
import { AUTO, type RouteTable } from './routing/route-table.ts';
import { routesFor } from './routing/rules.ts';

export interface DeliveryGroup {
  messageId: string;
  /** The failover list: each route is tried in turn for the recipients the one before could not take. */
  routes: Transport[];
  recipients: ClaimedRecipient[];
  /** The message, when the accepting node hands it over (Scheduler.queued); otherwise read from the store. */
  message?: StoredMessage;
}

export interface Router {
  group(claimed: readonly ClaimedRecipient[]): DeliveryGroup[];
  /** One line on how mail leaves now, for /readyz. */
  status(): string;
  close(): Promise<void>;
}

export function createRouter(table: RouteTable, auto?: AutoRoute): Router {
  const namesFor = (r: ClaimedRecipient) => {
    const listed = routesFor(table, r.sender, r.address);
    const names = listed[0] === AUTO ? auto!.routes() : listed;
    // The last call there may have been sent with its answer lost: only that route (same idempotency
    // key) can say, so it goes first; another route first could send a second copy.
    const resume = r.resumeRoute;
    return resume && table.transports.has(resume) ? [resume, ...names.filter((n) => n !== resume)] : names;
  };
  return {
    group(claimed) {
      const groups = new Map<string, DeliveryGroup>();
      for (const r of claimed) {
        const names = namesFor(r);
        const key = `${r.messageId} ${names.join(',')}${names[0] === 'mx' ? ` ${r.domain}` : ''}`;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { messageId: r.messageId, routes: names.map((n) => table.transports.get(n)!), recipients: [] }));
        g.recipients.push(r);
      }
      return [...groups.values()];
    },
    status() {
      if (table.default[0] === AUTO) return auto!.status();
      const rules = table.rules.length ? ` (${table.rules.length} rule${table.rules.length === 1 ? '' : 's'} for other domains)` : '';
      return `delivering ${table.default.map((n) => table.describe(n)).join(', failing over ')}${rules}`;
    },
    async close() {
      auto?.stop();
      await Promise.all([...table.transports.values()].map((t) => t.close?.()));
    },
  };
}
