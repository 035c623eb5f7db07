// Trusted networks: IPv4/IPv6 CIDR matching on top of node:net's BlockList.
import { BlockList, isIP } from 'node:net';

export interface Cidr { address: string; prefix: number; family: 'ipv4' | 'ipv6' }

export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefixText] = text.split('/');
  const version = isIP(address);
  if (!version) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText)))
    return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export function networkMatcher(cidrs: readonly string[]): (ip: string) => boolean {
  // One list per family: BlockList matches an IPv4 address against IPv6 rules that
  // cover ::ffff:0:0/96, so a mistyped `::1/64` would otherwise trust all of IPv4.
  const lists = { ipv4: new BlockList(), ipv6: new BlockList() };
  for (const text of cidrs) {
    const c = parseCidr(text);
    if (c) lists[c.family].addSubnet(c.address, c.prefix, c.family);
  }
  return (ip: string) => {
    // smtp-server reports IPv4 clients on dual-stack sockets as ::ffff:a.b.c.d
    const plain = ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    const version = isIP(plain);
    if (version === 0) return false;
    const family = version === 4 ? 'ipv4' : 'ipv6';
    return lists[family].check(plain, family);
  };
}
