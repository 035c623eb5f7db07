// A minimal, fast receiving SMTP server: the final destination. It accepts every
// transaction (PIPELINING advertised, no TLS, no AUTH), keeps nothing but a
// count and the arrival time of each message, and is measured on its own by
// the benchmark so the sink is never the limit.
import { createServer, type Socket } from 'node:net';

export interface Sink {
  port: number;
  /** Messages received (end of DATA answered 250). */
  readonly received: number;
  /** performance.now() of the last message received. */
  readonly lastAt: number;
  reset(): void;
  close(): Promise<void>;
}

const END = Buffer.from('\r\n.\r\n');

export async function startSink(host: string, port = 0): Promise<Sink> {
  let received = 0;
  let lastAt = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setNoDelay(true);
    socket.write('220 sink.bench ESMTP\r\n');
    let inData = false;
    let buf: Buffer = Buffer.alloc(0);
    // In DATA, only the last 4 bytes matter across chunks (a terminator split in two).
    let tail: Buffer = Buffer.from('\r\n');
    socket.on('data', (chunk: Buffer) => {
      let out = '';
      let rest: Buffer = chunk;
      while (rest.length) {
        if (inData) {
          const joined = Buffer.concat([tail, rest]);
          const end = joined.indexOf(END);
          if (end < 0) {
            tail = joined.subarray(Math.max(0, joined.length - 4));
            rest = Buffer.alloc(0);
            break;
          }
          const consumed = end + END.length - tail.length;
          rest = rest.subarray(consumed);
          inData = false;
          received++;
          lastAt = performance.now();
          out += '250 2.0.0 Ok: received\r\n';
          continue;
        }
        buf = buf.length ? Buffer.concat([buf, rest]) : rest;
        rest = Buffer.alloc(0);
        let nl: number;
        while (!inData && (nl = buf.indexOf('\n')) >= 0) {
          const line = buf.subarray(0, nl).toString('latin1').replace(/\r$/, '');
          buf = buf.subarray(nl + 1);
          const verb = line.slice(0, 4).toUpperCase();
          if (verb === 'EHLO') out += '250-sink.bench\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 104857600\r\n';
          else if (verb === 'HELO') out += '250 sink.bench\r\n';
          else if (verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET' || verb === 'NOOP') out += '250 2.0.0 Ok\r\n';
          else if (verb === 'DATA') {
            out += '354 End data with <CR><LF>.<CR><LF>\r\n';
            inData = true;
            tail = Buffer.from('\r\n');
          } else if (verb === 'QUIT') {
            out += '221 2.0.0 Bye\r\n';
            socket.end(out);
            return;
          } else out += '502 5.5.2 Command not recognized\r\n';
        }
        if (inData && buf.length) {
          rest = buf;
          buf = Buffer.alloc(0);
        }
      }
      if (out) socket.write(out);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('sink: no address');
  return {
    port: address.port,
    get received() {
      return received;
    },
    get lastAt() {
      return lastAt;
    },
    reset() {
      received = 0;
      lastAt = 0;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
