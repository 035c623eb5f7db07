// A tiny authoritative DNS server on loopback for tests, so MX resolution runs
// through a real Node Resolver (c-ares) instead of a mock. UDP and TCP share one
// port because c-ares retries a truncated UDP answer over TCP on the same port.
import type { Server as TcpServer, Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { Packet, UDPServer, TCPServer, type DnsHandler, type Resource } from 'dns2';

export interface DnsZoneEntry {
  mx?: { exchange: string; priority: number }[];
  a?: string[];
  aaaa?: string[];
  /** One entry per record; an array is one record of several strings (at most 255 octets each, RFC 1035 §3.3.14). */
  txt?: (string | string[])[];
  /** Answer every query for this name with SERVFAIL (RCODE 2). */
  servfail?: boolean;
}
export type DnsRecords = Record<string, DnsZoneEntry>;

export interface TestDnsServer {
  /** `127.0.0.1:PORT`, ready for `Resolver.setServers`. */
  server: string;
  close(): Promise<void>;
}

const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const TTL = 60;

function answer(records: DnsRecords): DnsHandler {
  return (request, send) => {
    const response = Packet.createResponseFromRequest(request);
    const [question] = request.questions;
    const entry = question ? records[question.name.toLowerCase().replace(/\.$/, '')] : undefined;
    if (!question || !entry) {
      response.header.rcode = RCODE_NXDOMAIN;
    } else if (entry.servfail) {
      response.header.rcode = RCODE_SERVFAIL;
    } else {
      // A known name without the asked type: NOERROR and no answers, which Node
      // reports as ENODATA (the case RFC 5321 §5.1 implicit MX depends on).
      const add = (fields: Partial<Resource>) =>
        response.answers.push(Packet.createResourceFromQuestion(question, { ttl: TTL, ...fields }));
      if (question.type === Packet.TYPE.MX) entry.mx?.forEach((mx) => add(mx));
      if (question.type === Packet.TYPE.A) entry.a?.forEach((address) => add({ address }));
      if (question.type === Packet.TYPE.AAAA) entry.aaaa?.forEach((address) => add({ address }));
      if (question.type === Packet.TYPE.TXT) entry.txt?.forEach((data) => add({ data }));
    }
    send(response).catch(() => {}); // the client may be gone; a test peer must not crash
  };
}

function listenTcp(server: TcpServer, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Starts the server on a free port; `records` may be mutated later to change answers. */
export async function startDnsServer(records: DnsRecords, t?: TestContext): Promise<TestDnsServer> {
  const handle = answer(records);
  // Bounded: another process may take the UDP port's TCP twin between the two binds.
  for (let attempt = 0; attempt < 5; attempt++) {
    const udp = new UDPServer(handle);
    udp.on('error', () => {});
    await udp.listen(0, '127.0.0.1');
    const port = udp.address().port;
    const tcp = new TCPServer(handle);
    tcp.on('error', () => {});
    // dns2 keeps idle TCP connections for 10 s; track them so close() is prompt.
    const sockets = new Set<Socket>();
    tcp.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    try {
      await listenTcp(tcp, port);
    } catch {
      udp.close();
      continue;
    }
    let closed: Promise<void> | undefined;
    const close = () => {
      if (!closed) {
        for (const socket of sockets) socket.destroy();
        closed = Promise.all([
          new Promise<void>((resolve) => udp.close(() => resolve())),
          new Promise<void>((resolve) => tcp.close(() => resolve())),
        ]).then(() => {});
      }
      return closed;
    };
    t?.after(close);
    return { server: `127.0.0.1:${port}`, close };
  }
  throw new Error('startDnsServer: no port free for both UDP and TCP');
}
