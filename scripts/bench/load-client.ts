// The load client: `concurrency` SMTP workers, each sending one message at a
// time (MAIL, RCPT, DATA; no pipelining, as an application's mail library
// does), targets spread round-robin. Either each worker reuses its connection
// and a message's latency runs from MAIL FROM to the 250 after the end of DATA,
// or (`fresh`) each message opens its own connection and its latency runs from
// the connect to that 250 (greeting and EHLO included).
import { connect, type Socket } from 'node:net';

export interface LoadTarget {
  host: string;
  port: number;
}

export interface LoadOptions {
  targets: LoadTarget[];
  messages: number;
  concurrency: number;
  /** Message size in bytes (headers included, approximately). */
  size: number;
  from: string;
  to: string;
  /** Give up on new messages after this (ms since start). */
  deadlineMs: number;
  /** One connection per message, latency from connect; otherwise one connection per worker. */
  fresh?: boolean;
  /** Messages sent first, on the same workers, and not timed: the client's and the relay's code paths warm. */
  warmup?: number;
}

export interface LoadResult {
  refused: number;
  errors: number;
  /** Warm-up messages included. */
  accepted: number;
  /** Per accepted message after the warm-up, ms from MAIL FROM (or from connect, when fresh) to 250. */
  latencies: number[];
  /** performance.now() at the first connect and at the last 250. */
  startedAt: number;
  finishedAt: number;
  perTarget: number[];
}

/** One SMTP connection with a reply reader (multi-line replies joined). */
class Conn {
  private buf = '';
  private waiting: ((reply: string) => void)[] = [];
  private replies: string[] = [];
  private lines: string[] = [];
  private failure: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.on('data', (d: string) => this.onData(d));
    const fail = (err: Error) => {
      this.failure = err;
      for (const w of this.waiting.splice(0)) w(`000 ${err.message}`);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static open(target: LoadTarget): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const socket = connect(target);
      socket.once('connect', () => resolve(new Conn(socket)));
      socket.once('error', reject);
    });
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      this.lines.push(line);
      if (line[3] !== '-') {
        const reply = this.lines.join('\n');
        this.lines = [];
        const w = this.waiting.shift();
        if (w) w(reply);
        else this.replies.push(reply);
      }
    }
  }

  reply(): Promise<string> {
    const r = this.replies.shift();
    if (r !== undefined) return Promise.resolve(r);
    if (this.failure) return Promise.resolve(`000 ${this.failure.message}`);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async command(line: string | Buffer): Promise<string> {
    this.socket.write(line);
    return this.reply();
  }

  get broken(): boolean {
    return this.failure !== undefined;
  }

  close(): void {
    this.socket.end('QUIT\r\n');
    this.socket.destroySoon();
  }
}

/** A message of about `size` bytes: headers and base64-like body lines of 76 characters. */
export function makeMessage(size: number, from: string, to: string, token: string): Buffer {
  const head = `From: <${from}>\r\nTo: <${to}>\r\nSubject: bench ${token}\r\nMessage-ID: <${token}@bench.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n`;
  const line = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/ABCDEFGHIJKL\r\n';
  const lines = Math.max(1, Math.ceil((size - head.length) / line.length));
  return Buffer.from(head + line.repeat(lines) + '.\r\n', 'latin1');
}

const code = (reply: string) => Number(reply.slice(0, 3));

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const startedAt = performance.now();
  const warmup = o.warmup ?? 0;
  const total = warmup + o.messages;
  const latencies: number[] = [];
  const perTarget = o.targets.map(() => 0);
  let next = 0;
  let accepted = 0;
  let refused = 0;
  let errors = 0;
  let finishedAt = startedAt;

  const worker = async (w: number) => {
    // Each worker keeps one connection to one target: connections are spread round-robin, as a TCP balancer does.
    const t = w % o.targets.length;
    let conn: Conn | undefined;
    while (next < total && performance.now() - startedAt < o.deadlineMs) {
      const n = next++;
      const connectAt = performance.now();
      try {
        if (!conn || conn.broken) {
          conn = await Conn.open(o.targets[t]!);
          if (code(await conn.reply()) !== 220) throw new Error('no greeting');
          if (code(await conn.command('EHLO load.bench\r\n')) !== 250) throw new Error('EHLO refused');
        }
        const body = makeMessage(o.size, o.from, o.to, `m${n}`);
        const begin = o.fresh ? connectAt : performance.now();
        let r = await conn.command(`MAIL FROM:<${o.from}>\r\n`);
        if (code(r) === 250) r = await conn.command(`RCPT TO:<${o.to}>\r\n`);
        if (code(r) === 250) r = await conn.command('DATA\r\n');
        if (code(r) === 354) r = await conn.command(body);
        if (code(r) === 250) {
          if (n >= warmup) latencies.push(performance.now() - begin);
          accepted++;
          perTarget[t]!++;
          finishedAt = performance.now();
          if (o.fresh) {
            conn.close();
            conn = undefined;
          }
        } else {
          if (code(r) === 0) errors++;
          else refused++;
          if (!conn.broken) await conn.command('RSET\r\n');
        }
      } catch {
        errors++;
        conn?.close();
        conn = undefined;
      }
    }
    conn?.close();
  };
  await Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
  return { accepted, refused, errors, latencies, startedAt, finishedAt, perTarget };
}
