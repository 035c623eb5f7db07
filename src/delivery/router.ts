// Picks the transport for each recipient and groups recipients into delivery
// sessions: per message and recipient domain for MX (one connection carries
// all recipients of a domain), per message for an upstream relay.
import type { ClaimedRecipient } from '../store/store.ts';
import type { Transport } from './outcome.ts';

export interface DeliveryGroup {
  messageId: string;
  transport: Transport;
  recipients: ClaimedRecipient[];
}

export interface Router {
  group(claimed: readonly ClaimedRecipient[]): DeliveryGroup[];
  close(): Promise<void>;
}

/** One route for everything: the upstream relay when configured, else MX delivery. */
export function createRouter(transport: Transport): Router {
  const byDomain = transport.name === 'mx';
  return {
    group(claimed) {
      const groups = new Map<string, DeliveryGroup>();
      for (const r of claimed) {
        const key = byDomain ? `${r.messageId} ${r.domain}` : r.messageId;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { messageId: r.messageId, transport, recipients: [] }));
        g.recipients.push(r);
      }
      return [...groups.values()];
    },
    async close() {
      await transport.close?.();
    },
  };
}
