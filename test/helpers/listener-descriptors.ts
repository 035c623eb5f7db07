// How many descriptors of this process refer to a listening socket: the extra accept
// watchers (src/ingress/accept-watchers.ts) hold one each.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** This process's descriptors of the listening socket bound to `port` on 127.0.0.1 (/proc/net/tcp: state 0A). */
export function listenerDescriptors(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const row = readFileSync('/proc/net/tcp', 'utf8').split('\n').map((l) => l.trim().split(/\s+/)).find((f) => f[1] === local && f[3] === '0A');
  if (!row) return 0;
  const link = `socket:[${row[9]}]`;
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === link;
    } catch {
      return false; // closed since the listing
    }
  }).length;
}
