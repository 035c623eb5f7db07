// An SMTP server on loopback presenting a chosen certificate (STARTTLS or
// implicit TLS), for tests of what clients see: expired or wrong-name
// certificates, AUTH offered before TLS, refused logins and recipients.
import type { TestContext } from 'node:test';
import { SMTPServer } from 'smtp-server';

export interface TlsSmtpPeerOptions {
  cert: Buffer;
  key: Buffer;
  /** Implicit TLS from the first byte; otherwise STARTTLS. */
  secure?: boolean;
  /**
   * Accept AUTH (PLAIN, LOGIN, CRAM-MD5, XOAUTH2) with exactly these; smtp-server
   * then advertises AUTH before STARTTLS too.
   */
  auth?: { user: string; pass: string; token?: string };
  /** Reply to RCPT TO as `code text`, e.g. '550 5.7.1 Relaying denied'; default 250. */
  rcptReply?: string;
}

export async function startTlsSmtpPeer(opts: TlsSmtpPeerOptions, t?: TestContext): Promise<{ port: number; close(): Promise<void> }> {
  const fail = (line: string) => Object.assign(new Error(line.slice(4)), { responseCode: Number(line.slice(0, 3)) });
  const server = new SMTPServer({
    secure: opts.secure ?? false,
    key: opts.key,
    cert: opts.cert,
    authOptional: !opts.auth, // a test peer on loopback, never an open relay elsewhere
    disableReverseLookup: true,
    closeTimeout: 200,
    logger: false,
    authMethods: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'],
    onAuth(auth, _session, cb) {
      const a = opts.auth;
      const secretOk = !a ? false
        : auth.method === 'CRAM-MD5' ? auth.validatePassword(a.pass)
        : auth.method === 'XOAUTH2' ? !!a.token && auth.accessToken === a.token
        : auth.password === a.pass;
      if (a && auth.username === a.user && secretOk) return cb(null, { user: auth.username });
      // XOAUTH2 refusals are a 334 with a JSON status, as Gmail sends them; then 535.
      if (auth.method === 'XOAUTH2') return cb(null, { data: { status: '401', schemes: 'bearer' } });
      cb(fail('535 5.7.8 Authentication credentials invalid'));
    },
    onRcptTo(_address, _session, cb) {
      cb(opts.rcptReply ? fail(opts.rcptReply) : null);
    },
    onData(stream, _session, cb) {
      stream.resume();
      stream.on('end', () => cb(null));
    },
  });
  server.on('error', () => {}); // handshakes that the client abandons are expected here
  const port = await new Promise<number>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.server.address() as { port: number }).port));
  });
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= new Promise<void>((resolve) => server.close(() => resolve())));
  t?.after(close);
  return { port, close };
}
