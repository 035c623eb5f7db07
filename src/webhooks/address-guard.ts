// Webhook URLs are chosen by API users, so they must not reach the relay's own
// network: loopback, private, link-local, metadata and other special ranges are
// refused unless the operator allows them. The check runs on the addresses the
// connection actually uses (a custom DNS lookup), so DNS rebinding between
// "URL saved" and "request sent" does not get around it.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { networkMatcher } from '../config/cidr.ts';

const FORBIDDEN = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) FORBIDDEN.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96]] as const)
  FORBIDDEN.addSubnet(net, prefix, 'ipv6');

export class ForbiddenAddressError extends Error {
  readonly code = 'EFORBIDDENADDRESS';
}

export function createAddressGuard(allowedNetworks: readonly string[]) {
  const allowed = networkMatcher(allowedNetworks);
  const permitted = (ip: string): boolean => {
    const plain = ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    const v = isIP(plain);
    if (v === 0) return false;
    return allowed(plain) || !FORBIDDEN.check(plain, v === 4 ? 'ipv4' : 'ipv6');
  };
  /** A `lookup` for http.request: resolves, then refuses any forbidden answer. */
  const lookup = (hostname: string, options: object, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '');
      const bad = addresses.find((a) => !permitted(a.address));
      if (bad) return callback(new ForbiddenAddressError(`${hostname} resolves to ${bad.address}, a private or special address; allow it with SMARTHOST_WEBHOOK_ALLOWED_NETWORKS`), '');
      if ((options as { all?: boolean }).all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
  return { permitted, lookup };
}
