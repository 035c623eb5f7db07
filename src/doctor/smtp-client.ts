// A small line-level SMTP client for diagnosis. Unlike a mail client it keeps
// every step visible: TCP connect, TLS handshake, greeting and each reply are
// separate, bounded waits, so a failure says exactly where it happened.
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { StringDecoder } from 'node:string_decoder';
import { parseReply, type SmtpReply } from '../delivery/smtp-reply.ts';

export type ProbeStage = 'connect' | 'tls' | 'greeting' | 'reply';

/** A failure with the step it happened in; `code` is Node's (ECONNREFUSED, …) or ETIMEDOUT/ENOGREETING for our own timers. */
export class ProbeError extends Error {
  constructor(readonly stage: ProbeStage, readonly code: string, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

export interface ServerReply {
  code: number;
  /** Text of each line, without the code. */
  lines: string[];
  reply: SmtpReply;
}

export interface TlsOptions {
  /** Host name for SNI and for the certificate check; omitted for IP literals (RFC 6066 §3). */
  servername?: string;
  ca?: (string | Buffer)[];
}

// Bounds on what a peer may make us hold: RFC 5321 §4.5.3.1.5 allows 512-octet
// reply lines; far more than that is not an SMTP server talking.
const MAX_LINE = 64 * 1024;
const MAX_LINES = 1000;

export class SmtpProbe {
  private buffer = '';
  private lines: string[] = [];
  private failure?: Error;
  private wake?: () => void;

  private constructor(
    private socket: Socket | TLSSocket,
    private readonly timeoutMs: number,
  ) {
    this.attach(socket);
  }

  /** TCP connect (and TLS at once, for implicit TLS on 465: RFC 8314 §3.3), bounded by `timeoutMs` each. */
  static async open(address: string, port: number, timeoutMs: number, implicitTls?: TlsOptions): Promise<SmtpProbe> {
    const socket = await withTimeout<Socket>('connect', timeoutMs, `no TCP connection to ${address}:${port} within ${timeoutMs} ms`, (ok, fail) => {
      const s = tcpConnect({ host: address, port });
      s.once('connect', () => ok(s));
      s.on('error', (err) => fail(new ProbeError('connect', (err as NodeJS.ErrnoException).code ?? 'ECONNECTION', err.message, { cause: err })));
      return () => s.destroy();
    });
    const probe = new SmtpProbe(socket, timeoutMs);
    if (implicitTls) await probe.upgrade(implicitTls);
    return probe;
  }

  get tlsSocket(): TLSSocket | undefined {
    return 'encrypted' in this.socket ? (this.socket as TLSSocket) : undefined;
  }

  /** The greeting, with its own error stage so a silent server reads as "no greeting". */
  async greeting(): Promise<ServerReply> {
    try {
      return await this.read();
    } catch (err) {
      if (err instanceof ProbeError && err.code === 'ETIMEDOUT') throw new ProbeError('greeting', 'ENOGREETING', err.message);
      throw err;
    }
  }

  async command(line: string): Promise<ServerReply> {
    // One command per line: a CR or LF inside would smuggle a second command.
    if (/[\r\n]/.test(line)) throw new ProbeError('reply', 'EINVAL', 'an SMTP command must not contain CR or LF');
    this.socket.write(line + '\r\n');
    return this.read();
  }

  /** The message after a 354: `body` is CRLF text, already dot-stuffed (RFC 5321 §4.5.2); ends it with <CRLF>.<CRLF>. */
  async data(body: string): Promise<ServerReply> {
    this.socket.write(body + '\r\n.\r\n');
    return this.read();
  }

  /** Sends STARTTLS and negotiates TLS on the same socket (RFC 3207 §4). */
  async startTls(opts: TlsOptions): Promise<ServerReply> {
    const answer = await this.command('STARTTLS');
    if (answer.code === 220) await this.upgrade(opts);
    return answer;
  }

  close(): void {
    if (!this.socket.destroyed) {
      // QUIT is a courtesy; the reply does not matter and is not awaited.
      this.socket.end('QUIT\r\n');
      setTimeout(() => this.socket.destroy(), 200).unref();
    }
  }

  /** One complete (possibly multi-line, RFC 5321 §4.2.1) reply, or a ProbeError after timeoutMs of silence. */
  async read(): Promise<ServerReply> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const reply = this.takeReply();
      if (reply) return reply;
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new ProbeError('reply', 'ETIMEDOUT', `no reply within ${this.timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private takeReply(): ServerReply | undefined {
    const end = this.lines.findIndex((l) => !/^\d{3}-/.test(l));
    if (end < 0) return undefined;
    const raw = this.lines.splice(0, end + 1);
    const last = raw[raw.length - 1]!;
    const code = /^\d{3}/.test(last) ? Number(last.slice(0, 3)) : 0;
    const lines = raw.map((l) => l.slice(4));
    // Continuation lines repeat the enhanced code (RFC 2034 §4); parse the first line's.
    const text = [raw[0]!, ...lines.slice(1).map((l) => l.replace(/^[245]\.\d{1,3}\.\d{1,3}\s+/, ''))].join(' ');
    return { code, lines, reply: parseReply(code, text) };
  }

  private attach(socket: Socket | TLSSocket): void {
    const decoder = new StringDecoder('utf8');
    socket.on('data', (chunk: Buffer) => {
      const parts = (this.buffer + decoder.write(chunk)).split(/\r?\n/);
      this.buffer = parts.pop() ?? '';
      this.lines.push(...parts);
      if (this.buffer.length > MAX_LINE || this.lines.length > MAX_LINES) {
        this.fail(new ProbeError('reply', 'EPROTO', 'the server sent more than an SMTP reply can hold'));
        socket.destroy();
      }
      this.wake?.();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(new ProbeError('reply', err.code ?? 'ECONNRESET', err.message, { cause: err })));
    socket.on('close', () => this.fail(new ProbeError('reply', 'ECONNRESET', 'the server closed the connection')));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake?.();
  }

  private async upgrade(opts: TlsOptions): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('error');
    plain.removeAllListeners('close');
    // From here the TLS socket reports failures; an unheard 'error' on the plain one would crash the process.
    plain.on('error', () => {});
    const handshake = withTimeout<TLSSocket>('tls', this.timeoutMs, `no TLS handshake within ${this.timeoutMs} ms`, (ok, fail) => {
      // Verification is judged afterwards from authorized/authorizationError, so
      // that an expired or mismatched certificate is reported, not just refused.
      const s = tlsConnect({ socket: plain, servername: opts.servername && !isIP(opts.servername) ? opts.servername : undefined, ca: opts.ca, rejectUnauthorized: false });
      s.once('secureConnect', () => ok(s));
      s.on('error', (err: NodeJS.ErrnoException) => fail(new ProbeError('tls', err.code ?? 'ETLS', err.message, { cause: err })));
      return () => s.destroy();
    });
    // A failed handshake leaves nothing to say QUIT on: drop the connection.
    const secure = await handshake.catch((err: unknown) => {
      plain.destroy();
      throw err;
    });
    // RFC 3207 §4.2: nothing learnt before TLS may be trusted after it.
    this.buffer = '';
    this.lines = [];
    this.socket = secure;
    this.attach(secure);
  }
}

/** Runs `start` until it settles or `ms` pass; `start` returns how to abandon the attempt. */
function withTimeout<T>(
  stage: ProbeStage, ms: number, message: string,
  start: (ok: (value: T) => void, fail: (err: Error) => void) => () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let abandon = () => {};
    const settle = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => settle(() => {
      abandon();
      reject(new ProbeError(stage, 'ETIMEDOUT', message));
    }), ms);
    abandon = start((v) => settle(() => resolve(v)), (err) => settle(() => {
      abandon();
      reject(err);
    }));
  });
}
