// Starts a test smarthost with a given routing configuration: the failover
// lists and rules (SMARTHOST_ROUTE / SMARTHOST_ROUTES) plus transports of the
// test's own under route names of its choosing, next to the built-in mx and
// relay. A provider's transport plugs in the same way.
import type { TestContext } from 'node:test';
import type { OutboundMessage, RecipientOutcome, Transport } from '../../src/delivery/outcome.ts';
import type { RouteRule } from '../../src/delivery/routing/rules.ts';
import { builtinRoutes, type TransportRegistry } from '../../src/delivery/routing/registry.ts';
import { parseReply } from '../../src/delivery/smtp-reply.ts';
import { startTestSmarthost, type TestSmarthost } from './smarthost.ts';

export interface RoutedOptions {
  /** SMARTHOST_ROUTE: the default failover list (`['relay', 'mx']`) or `['auto']`. */
  route?: string[];
  rules?: RouteRule[];
  /** Transports by route name, added to the built-in ones. */
  transports?: Record<string, Transport>;
  env?: Record<string, string>;
}

export function startRoutedSmarthost(t: TestContext, opts: RoutedOptions): Promise<TestSmarthost> {
  const routes: TransportRegistry = { ...builtinRoutes };
  for (const [name, transport] of Object.entries(opts.transports ?? {}))
    routes[name] = { missing: () => [], create: () => transport, describe: () => `through ${name}` };
  return startTestSmarthost(t, {
    ...(opts.route && { SMARTHOST_ROUTE: opts.route.join(',') }),
    ...(opts.rules && { SMARTHOST_ROUTES: JSON.stringify({ rules: opts.rules }) }),
    ...opts.env,
  }, { routes });
}

export interface ScriptedTransport extends Transport {
  /** Every send: the message id and its recipients. */
  readonly calls: { messageId: string; rcpts: string[] }[];
}

/**
 * A transport whose answer per recipient is a reply line: 2xx delivered, 4xx deferred,
 * 5xx bounced — where a provider's transport would be, so failover is proven without one.
 */
export function scriptedTransport(name: string, answer: (rcpt: string, call: number) => string): ScriptedTransport {
  const calls: { messageId: string; rcpts: string[] }[] = [];
  return {
    name,
    calls,
    async send(msg: OutboundMessage, rcpts: readonly string[]): Promise<RecipientOutcome[]> {
      calls.push({ messageId: msg.id, rcpts: [...rcpts] });
      return rcpts.map((rcpt) => {
        const line = answer(rcpt, calls.length);
        const code = Number(line.slice(0, 3));
        const kind = code < 300 ? 'delivered' : code < 500 ? 'deferred' : 'bounced';
        return { rcpt, kind, reply: parseReply(code, line), relay: name };
      });
    },
  };
}
