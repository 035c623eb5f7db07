// Which failover list a recipient gets: the first rule whose recipient domain
// and sender domain (each when given) match, else the default list.

export interface RouteRule {
  /** Lower-case domains; absent: any. */
  recipientDomain?: string[];
  senderDomain?: string[];
  routes: string[];
}

export interface RoutingRules {
  default: string[];
  rules: RouteRule[];
}

const domainOf = (address: string) => {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
};

/** Route names for one recipient of a message from `sender` ('' for the null sender, which no sender rule matches). */
export function routesFor(table: RoutingRules, sender: string, recipient: string): string[] {
  const senderDomain = domainOf(sender);
  const recipientDomain = domainOf(recipient);
  const rule = table.rules.find((r) =>
    (!r.recipientDomain || r.recipientDomain.includes(recipientDomain)) && (!r.senderDomain || (!!senderDomain && r.senderDomain.includes(senderDomain))));
  return rule ? rule.routes : table.default;
}
