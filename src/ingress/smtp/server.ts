// SMTP submission ingress on smtp-server: 587 and 2525 (STARTTLS) and 465
// (implicit TLS). smtp-server stops requiring AUTH in several configurations
// (PITFALLS.md), so every MAIL, RCPT and DATA checks authentication here.
import type { Server } from 'node:net';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { Accept, Principal } from '../../accept/accept.ts';
import { diskFull, principalLabel, storageError } from '../../accept/accept.ts';
import { checkSendLimits, maxMessageSizeFor } from '../../accept/limits.ts';
import { senderAllowed, senderNotAllowed } from '../../accept/sender-policy.ts';
import { reply, SmtpError, type SmtpReply } from '../../delivery/smtp-reply.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import type { Store } from '../../store/store.ts';
import { addAcceptWatchers } from '../accept-watchers.ts';
import { authenticate } from './auth.ts';
import { storeAuthThrottle } from './auth-throttle.ts';
import { DataScanner } from './data-scanner.ts';
import { installImmediateGreeting } from './greeting.ts';
import { installReplyCodes, SMARTHOST_SERVER } from './reply-codes.ts';

export const authRequired = reply(530, '5.7.0', 'Authentication required; use AUTH after STARTTLS, or connect from a trusted network');
export const tooManyRecipients = (max: number) => reply(452, '4.5.3', `Too many recipients (at most ${max} per message); send the rest in another message`);
export const messageTooBig = (max: number) => reply(552, '5.3.4', `Message too big (at most ${max} bytes)`);
export const tooManyConnections = reply(421, '4.7.0', 'Too many connections from your address; try again later');
export const sessionExpired = reply(421, '4.4.2', 'Session time limit exceeded; closing connection');

export interface SmtpIngressOptions {
  hostname: string;
  listen: string;
  ports: { port: number; secure: boolean; name: string }[];
  tls: { key: string; cert: string };
  allowInsecureAuth: boolean;
  isTrusted: (ip: string) => boolean;
  maxMessageSize: number;
  maxRecipients: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  sessionTimeout: number;
  idleTimeout: number;
  /** On close: how long open sessions may go on before they are cut. */
  shutdownGrace: number;
  authFailuresPerConnection: number;
  authFailuresPerIp: number;
  authFailureWindow: number;
  enoughSpace: () => Promise<boolean>;
}

interface SessionState {
  /** Who logged in: a credential, or an API key used as the password. */
  principal?: Principal;
  authFailures: number;
  ip: string;
  /** The client's address is in SMARTHOST_TRUSTED_NETWORKS: looked up once, not for every command. */
  trusted: boolean;
  timer: NodeJS.Timeout;
  startedAt: number;
  messages: number;
}

export interface SmtpIngress {
  /** Bound port per listener name, after listen(). */
  readonly ports: Record<string, number>;
  listen(): Promise<void>;
  /** True while every configured listener is bound. */
  listening(): boolean;
  close(): Promise<void>;
}

export function createSmtpIngress(opts: SmtpIngressOptions, deps: { store: Store; accept: Accept; logger: Logger; metrics: Metrics }): SmtpIngress {
  installReplyCodes();
  installImmediateGreeting();
  const { logger } = deps;
  const sessions = new Map<string, SessionState>();
  const perIp = new Map<string, number>();
  const throttle = storeAuthThrottle(deps.store, opts.authFailuresPerIp, opts.authFailureWindow);
  const servers: { name: string; server: SMTPServer; port: number }[] = [];
  /** More accept watchers on the listeners' sockets (accept-watchers.ts). */
  let watchers: Server[] = [];
  const boundPorts: Record<string, number> = {};

  const fail = (cb: (err?: Error | null) => void, r: SmtpReply) => cb(new SmtpError(r));
  const state = (session: SMTPServerSession) => sessions.get(session.id);
  const authorised = (session: SMTPServerSession) => {
    const s = state(session);
    return !!s && (!!s.principal || s.trusted);
  };

  const handlers = (server: () => SMTPServer, listener: string): Partial<SMTPServerOptions> => ({
    onConnect(session, cb) {
      deps.metrics.smtpSessions.inc({ listener });
      const ip = session.remoteAddress;
      const count = (perIp.get(ip) ?? 0) + 1;
      if (count > opts.maxConnectionsPerIp) {
        logger.warn({ event: 'connect', client: ip, result: 'refused', reason: 'per-address connection limit' }, 'connection refused');
        return fail(cb, tooManyConnections);
      }
      perIp.set(ip, count);
      // smtp-server only has an idle timeout; a client dripping a byte at a time would never hit it.
      const timer = setTimeout(() => expire(server(), session.id), opts.sessionTimeout);
      timer.unref();
      sessions.set(session.id, { authFailures: 0, ip, trusted: opts.isTrusted(ip), timer, startedAt: Date.now(), messages: 0 });
      cb();
    },
    onClose(session) {
      const s = sessions.get(session.id);
      if (!s) return;
      clearTimeout(s.timer);
      sessions.delete(session.id);
      const left = (perIp.get(s.ip) ?? 1) - 1;
      if (left > 0) perIp.set(s.ip, left);
      else perIp.delete(s.ip);
      logger.info({
        event: 'session', session: session.id, client: s.ip, helo: session.hostNameAppearsAs, user: s.principal && principalLabel(s.principal),
        tls: session.tlsOptions ? session.tlsOptions.version : undefined, messages: s.messages,
        auth_failures: s.authFailures, duration_ms: Date.now() - s.startedAt,
      }, 'session closed');
    },
    onAuth(auth, session, cb) {
      const s = state(session);
      if (!s) return fail(cb, authRequired);
      authenticate(
        { method: auth.method, username: auth.username ?? '', password: auth.password ?? null, clientAddress: s.ip, connectionFailures: s.authFailures },
        { store: deps.store, throttle, failuresPerConnection: opts.authFailuresPerConnection, logger },
      ).then(
        (principal) => {
          s.principal = principal;
          cb(null, { user: principal.name });
        },
        (err: unknown) => {
          s.authFailures++;
          deps.metrics.authFailures.inc();
          if (!(err instanceof SmtpError)) logger.error({ err, session: session.id }, 'auth failed on an internal error (store?)');
          cb(err instanceof SmtpError ? err : new SmtpError(reply(454, '4.7.0', 'Temporary authentication failure')));
        },
      );
    },
    onMailFrom(address, session, cb) {
      if (!authorised(session)) return fail(cb, authRequired);
      const principal = state(session)?.principal;
      if (principal && address.address && !senderAllowed(principal.allowedSenders, address.address))
        return cb(senderNotAllowed(principal, address.address, 'envelope'));
      // RFC 1870 §6.2: a declared SIZE over this sender's own cap is refused before any data is sent.
      const max = maxMessageSizeFor(principal, opts.maxMessageSize);
      const declared = address.args ? Number(address.args.SIZE ?? 0) : 0;
      if (declared > max) return fail(cb, messageTooBig(max));
      // Already over its limit: say so now rather than after DATA (nothing is counted until the commit).
      const ready = async () => {
        if (principal)
          await checkSendLimits(deps.store, principal, Date.now()).catch((err: unknown) => {
            if (err instanceof SmtpError) throw err;
            logger.error({ err, session: session.id }, 'store failed to read rate limit counts');
            throw new SmtpError(storageError, { cause: err });
          });
        if (!(await opts.enoughSpace().catch(() => false))) throw new SmtpError(diskFull);
      };
      ready().then(() => cb(), (err: SmtpError) => cb(err));
    },
    onRcptTo(_address, session, cb) {
      if (!authorised(session)) return fail(cb, authRequired);
      if (session.envelope.rcptTo.length >= opts.maxRecipients) return fail(cb, tooManyRecipients(opts.maxRecipients));
      cb();
    },
    onData(stream, session, cb) {
      receive(stream, session).then(
        (text) => cb(null, text),
        (err: unknown) => {
          if (!(err instanceof SmtpError)) logger.error({ err, session: session.id }, 'unexpected error in DATA');
          cb(err instanceof SmtpError ? err : new SmtpError(reply(451, '4.3.0', 'Local error; try again later')));
        },
      );
    },
  });

  async function receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const s = state(session);
    const max = maxMessageSizeFor(s?.principal, opts.maxMessageSize);
    const scanner = new DataScanner();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      scanner.push(chunk);
      size += chunk.length;
      // Past the limit or a bad byte: keep reading to the end of DATA, but stop keeping the bytes.
      if (!scanner.problem && size <= max) chunks.push(chunk);
    }
    if (!authorised(session)) throw new SmtpError(authRequired);
    if (stream.sizeExceeded || size > max) throw new SmtpError(messageTooBig(max));
    const problem = scanner.end();
    if (problem) throw new SmtpError(problem);
    const envelope = session.envelope;
    const mailFrom = envelope.mailFrom;
    const accepted = await deps.accept({
      source: 'smtp', principal: s?.principal, clientAddress: session.remoteAddress, helo: session.hostNameAppearsAs,
      protocol: session.transmissionType, tls: session.tlsOptions ? `${session.tlsOptions.version} ${session.tlsOptions.name}` : undefined,
      sender: mailFrom ? mailFrom.address : '', recipients: envelope.rcptTo.map((r) => r.address), raw: chunks,
    });
    if (s) s.messages++;
    // The store's commit has returned: only now may the client hear 250.
    return `2.0.0 Ok: queued as ${accepted.id}${accepted.sandboxed ? ' (sandbox: recorded, not delivered)' : ''}`;
  }

  function expire(server: SMTPServer, sessionId: string): void {
    const connections = (server as unknown as { connections: Set<{ id: string; send(code: number, text: string): void }> }).connections;
    for (const conn of connections) if (conn.id === sessionId) conn.send(sessionExpired.code, `${sessionExpired.enhanced} ${sessionExpired.text}`);
  }

  for (const p of opts.ports) {
    if (p.port === 0) continue; // 0 turns a listener off
    const server: SMTPServer = new SMTPServer({
      name: opts.hostname,
      banner: 'smarthost ESMTP ready',
      secure: p.secure,
      key: opts.tls.key,
      cert: opts.tls.cert,
      size: opts.maxMessageSize,
      rejectOversized: true,
      hideENHANCEDSTATUSCODES: false,
      // We neither honour DSN parameters nor REQUIRETLS yet: do not advertise them.
      hideDSN: true,
      hideREQUIRETLS: true,
      authMethods: ['PLAIN', 'LOGIN'],
      // The library's own check would refuse trusted networks and word its 530
      // differently; onMailFrom/onRcptTo/onData enforce authentication instead.
      authOptional: true,
      allowInsecureAuth: opts.allowInsecureAuth,
      disableReverseLookup: true,
      maxClients: opts.maxConnections,
      socketTimeout: opts.idleTimeout,
      closeTimeout: opts.shutdownGrace,
      useXClient: false,
      useXForward: false,
      useProxy: false,
      logger: false,
      ...handlers(() => server, p.name),
      [SMARTHOST_SERVER]: true,
    } as SMTPServerOptions);
    server.on('error', (err) => logger.warn({ err, listener: p.name }, 'smtp listener error'));
    servers.push({ name: p.name, server, port: p.port });
  }

  return {
    ports: boundPorts,
    async listen() {
      for (const s of servers) {
        await new Promise<void>((resolve, reject) => {
          const onError = (err: Error) => reject(err);
          s.server.server.once('error', onError);
          s.server.listen(s.port, opts.listen, () => {
            s.server.server.off('error', onError);
            boundPorts[s.name] = (s.server.server.address() as { port: number }).port;
            resolve();
          });
        });
        logger.info({ listener: s.name, address: opts.listen, port: boundPorts[s.name] }, 'smtp listening');
      }
      watchers = await addAcceptWatchers(servers.map((s) => s.server.server), (err) =>
        logger.warn({ err }, 'smtp listeners accept one connection per event-loop turn (no extra accept watchers)'));
    },
    listening: () => servers.every((s) => s.server.server.listening),
    async close() {
      // The extra descriptors first: the socket listens until its last one is closed. Their sessions count
      // as the listener's own, so smtp-server's close() below waits for them.
      for (const w of watchers.splice(0)) w.close();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.server.close(() => resolve()))));
      for (const s of sessions.values()) clearTimeout(s.timer);
    },
  };
}
