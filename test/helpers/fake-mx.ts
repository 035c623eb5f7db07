// A scriptable receiving SMTP server (smtp-server) on a loopback address, for
// delivery tests: it answers each RCPT as told, records every message and counts
// connections. MX delivery uses one configured port for every host, so start
// the first with no port and pass its port to the others on other 127.0.0.x.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface FakeReply {
  code: number;
  /** Defaults to `<class>.0.0 fake reply`; start it with an enhanced code to set one. */
  text?: string;
}

export interface FakeMessage {
  from: string;
  to: string[];
  raw: Buffer;
  /** Whether the message came over TLS. */
  secure: boolean;
}

export interface FakeMxOptions {
  host: string;
  port?: number;
  /** true: offer STARTTLS with a self-signed cert; 'broken': offer it, but no client can finish the handshake. */
  tls?: boolean | 'broken';
  /** Implicit TLS on connect (an smtps:// relay). */
  secure?: boolean;
  /** The certificate for STARTTLS/implicit TLS instead of the self-signed CN=localhost one (e.g. from test/helpers/pki.ts). */
  certificate?: { cert: Buffer; key: Buffer };
  /** Require AUTH with exactly these credentials (a relay); otherwise anyone may send (an MX). */
  auth?: { user: string; pass: string };
  /** Reply to MAIL FROM; default 250. */
  mailReply?: FakeReply;
  /** Reply to each RCPT TO; default 250. */
  behaviour?: (rcpt: string) => FakeReply;
  /** Greet with this (failure) reply and hang up instead of 220. */
  greeting?: FakeReply;
  /** Reply to the end of DATA; default 250. */
  dataReply?: FakeReply;
  /** Wait this long before answering the end of DATA (a slow receiver). */
  dataDelayMs?: number;
  hideSMTPUTF8?: boolean;
  hide8BITMIME?: boolean;
  /** Advertise this SIZE limit (RFC 1870). */
  size?: number;
  onMessage?: (message: FakeMessage) => void;
}

export interface FakeMx {
  port: number;
  messages: FakeMessage[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** MAIL FROM commands so far: delivery attempts, however many share a connection. */
  readonly transactions: number;
  close(): Promise<void>;
}

let cert: { key: Buffer; cert: Buffer } | undefined;

/** A throwaway self-signed certificate for CN=localhost, made once per process. */
export function testCertificate(): { key: Buffer; cert: Buffer } {
  if (cert) return cert;
  const dir = mkdtempSync(join(tmpdir(), 'smarthost-cert-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    cert = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return cert;
}

function smtpError(r: FakeReply): Error {
  const text = r.text ?? `${String(r.code)[0]}.0.0 fake reply`;
  return Object.assign(new Error(text), { responseCode: r.code });
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

export async function startFakeMx(opts: FakeMxOptions, t?: TestContext): Promise<FakeMx> {
  const messages: FakeMessage[] = [];
  let connections = 0;
  let transactions = 0;
  const options: SMTPServerOptions = {
    name: `fake-mx.${opts.host}`,
    secure: opts.secure ?? false,
    // hideSTARTTLS only drops the EHLO keyword; smtp-server still runs the command
    // (with its built-in certificate), so a peer without TLS must disable it.
    disabledCommands: opts.tls || opts.secure ? [] : ['STARTTLS'],
    hideSMTPUTF8: opts.hideSMTPUTF8 ?? false,
    hide8BITMIME: opts.hide8BITMIME ?? false,
    size: opts.size,
    authOptional: !opts.auth, // a test peer, not an open relay: loopback only
    disableReverseLookup: true,
    closeTimeout: 200,
    logger: false,
    ...(opts.tls || opts.secure ? (opts.certificate ?? testCertificate()) : {}),
    // Client defaults to TLS ≥ 1.2, so a server capped at 1.1 can never complete a handshake.
    ...(opts.tls === 'broken' ? { minVersion: 'TLSv1' as const, maxVersion: 'TLSv1.1' as const } : {}),
    onConnect(_session, callback) {
      connections++;
      callback(opts.greeting ? smtpError(opts.greeting) : null);
    },
    onAuth(auth, _session, callback) {
      const ok = opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass;
      if (ok) return callback(null, { user: auth.username });
      callback(smtpError({ code: 535, text: '5.7.8 Authentication credentials invalid' }));
    },
    onMailFrom(_address, _session, callback) {
      transactions++;
      callback(opts.mailReply && opts.mailReply.code >= 400 ? smtpError(opts.mailReply) : null);
    },
    onRcptTo(address, _session, callback) {
      const r = opts.behaviour?.(address.address) ?? { code: 250 };
      callback(r.code < 400 ? null : smtpError(r));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (opts.dataReply && opts.dataReply.code >= 400) return callback(smtpError(opts.dataReply));
        const message: FakeMessage = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          secure: session.secure,
        };
        messages.push(message);
        opts.onMessage?.(message);
        setTimeout(() => callback(null), opts.dataDelayMs ?? 0);
      });
    },
  };
  const server = new SMTPServer(options);
  server.on('error', () => {}); // TLS failures and resets are expected in these tests
  const port = await listen(server.server, opts.host, opts.port ?? 0);
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= new Promise<void>((resolve) => server.close(() => resolve())));
  t?.after(close);
  return {
    port,
    messages,
    get connections() {
      return connections;
    },
    get transactions() {
      return transactions;
    },
    close,
  };
}

/** A TCP server that accepts connections and never says a word (greeting timeouts). */
export async function startSilentServer(
  host: string,
  port: number,
  t?: TestContext,
): Promise<{ port: number; readonly connections: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  });
  const bound = await listen(server, host, port);
  let closed: Promise<void> | undefined;
  const close = () => {
    for (const socket of sockets) socket.destroy();
    return (closed ??= new Promise<void>((resolve) => server.close(() => resolve())));
  };
  t?.after(close);
  return {
    port: bound,
    get connections() {
      return connections;
    },
    close,
  };
}
