// One SMTP client session: deliver one message to one host (by IP) and turn
// every reply, refusal or network failure into one outcome per recipient. A
// session whose transaction ended cleanly may wait in a SessionCache for the
// next message to the same host.
// Shared by the mx and relay transports; choosing hosts is their business.
import { isAscii } from 'node:buffer';
import { Readable } from 'node:stream';
import { rootCertificates, TLSSocket } from 'node:tls';
import SMTPConnection, { type SMTPError } from 'nodemailer/lib/smtp-connection';
import { allRecipients, type RecipientOutcome, type OutboundMessage } from '../outcome.ts';
import { classifyReply, formatReply, reply, type SmtpReply } from '../smtp-reply.ts';
import {
  answered, certificateProblem, describe, handshakeProblem, isTlsError, rejectedReplies, remoteReply, sessionLost, timedOut,
} from './smtp-errors.ts';
import { installDotStuffing } from './dot-stuffing.ts';
import type { CachedSession, SessionCache } from './session-cache.ts';

// Before any session sends DATA: every SMTPConnection shares nodemailer's DataStream class.
await installDotStuffing();

export interface SessionOptions {
  /** IP address to connect to. */
  address: string;
  port: number;
  /** The host's DNS name: SNI, certificate name and the `relay=` label. Omit for an IP literal. */
  hostName?: string;
  /** Our EHLO name. */
  ehloName: string;
  /** Implicit TLS from the first byte (RFC 8314 §3.3). */
  secure?: boolean;
  /** STARTTLS is mandatory: no plaintext fallback (RFC 3207 §4.1 leaves that to policy). */
  requireTLS?: boolean;
  /** Verify the certificate chain and name. MX delivery without MTA-STS/DANE leaves this off. */
  verifyCertificate: boolean;
  /** CAs trusted besides Node's (which include NODE_EXTRA_CA_CERTS): a test's private CA. */
  extraCa?: readonly (string | Buffer)[];
  /** What requires TLS here ("MTA-STS", "TLS policy verify"): starts the reply when TLS cannot be had. */
  tlsRequiredBy?: string;
  /** Credentials for AUTH (RFC 4954); only used together with secure or requireTLS. */
  auth?: { user: string; pass: string };
  /** ms for TCP connect, greeting and TLS handshake together (nodemailer caps the greeting by it). */
  connectTimeout: number;
  /** ms of silence allowed while waiting for any later reply. */
  replyTimeout: number;
  /** Where sessions wait for the next message to the same host; absent: one session per delivery. */
  cache?: SessionCache;
  signal: AbortSignal;
}

export interface SessionResult {
  outcomes: RecipientOutcome[];
  /**
   * True when the host never took part in the mail transaction (no connection, a silent
   * or refusing greeting, TLS failure, a timeout or hang-up before MAIL FROM): another
   * host may be tried now. Once MAIL FROM is sent the host's answer stands.
   */
  hostFailed: boolean;
  /** What TLS the session had, once the server greeted us. */
  tls?: TlsFacts;
}

export interface TlsFacts {
  /** Negotiated protocol (TLSv1.3); undefined when the session stayed in plaintext. */
  protocol?: string;
  /** The chain reaches a trusted CA and the certificate names the host (always false in plaintext). */
  verified: boolean;
  /** Why not verified, or why there was no TLS, in plain words. */
  problem?: string;
}

interface Attempt extends SessionResult {
  /** The TLS handshake failed, in plain words. */
  tlsFailed?: string;
}

// nodemailer keeps the EHLO keywords and the envelope bookkeeping in private
// fields; pinned to nodemailer 10.6.x by test/integration/mx-transport.test.ts.
interface ConnectionInternals {
  _supportedExtensions?: string[];
  _envelope?: { rejectedErrors?: SMTPError[] } | false;
}

/**
 * Delivers `msg` to `rcpts` over one connection. Opportunistic STARTTLS that fails
 * in the handshake is retried once in plaintext on the same host, as Postfix's
 * `smtp_tls_security_level = may` does: RFC 3207 §4.1 lets a publicly-referenced
 * server be reached without TLS, and an unreadable certificate must not stop mail.
 */
export async function deliverToHost(
  msg: OutboundMessage,
  rcpts: readonly string[],
  opts: SessionOptions,
): Promise<SessionResult> {
  const first = await attempt(msg, rcpts, opts, false);
  if (first.tlsFailed && !opts.requireTLS && !opts.secure && !opts.signal.aborted) {
    const plain = await attempt(msg, rcpts, opts, true);
    const tls = plain.tls && { ...plain.tls, problem: `TLS handshake failed (${first.tlsFailed}), sent in plaintext` };
    return { outcomes: plain.outcomes, hostFailed: plain.hostFailed, tls };
  }
  return { outcomes: first.outcomes, hostFailed: first.hostFailed, tls: first.tls };
}

/** `mx1.example.org[192.0.2.7]:25`, the way Postfix logs `relay=`. */
function relayLabel(opts: Pick<SessionOptions, 'address' | 'port' | 'hostName'>): string {
  return `${opts.hostName ?? opts.address}[${opts.address}]:${opts.port}`;
}

const KIND = { success: 'delivered', transient: 'deferred', permanent: 'bounced' } as const;

/** What a session says about every recipient's outcome: the relay, and the TLS protocol when there was TLS. */
type SessionDetail = { relay: string; tls?: string };

/** Built as a literal, not spread from `detail`: spread objects on the delivery path were much of what V8 promoted (README, Performance). */
function outcomeFor(rcpt: string, r: SmtpReply, detail: SessionDetail): RecipientOutcome {
  const outcome: RecipientOutcome = { rcpt, kind: KIND[classifyReply(r)], reply: r, relay: detail.relay };
  if (detail.tls) outcome.tls = detail.tls;
  return outcome;
}

function attempt(
  msg: OutboundMessage,
  rcpts: readonly string[],
  opts: SessionOptions,
  ignoreTLS: boolean,
): Promise<Attempt> {
  const label = relayLabel(opts);
  const aborted = reply(451, '4.3.0', `Delivery attempt to ${label} aborted`);
  if (opts.signal.aborted) {
    return Promise.resolve({ outcomes: allRecipients(rcpts, 'deferred', aborted, { relay: label }), hostFailed: false });
  }
  const cache = opts.cache?.enabled ? opts.cache : undefined;
  const key = cache && cacheKey(opts, ignoreTLS);
  const parked = key ? cache!.take(key) : undefined;

  return new Promise<Attempt>((resolve) => {
    const session = parked ?? openSession(opts, ignoreTLS);
    const { conn } = session;
    const internals = conn as unknown as ConnectionInternals;
    let stage: 'reuse' | 'connect' | 'auth' | 'send' = parked ? 'reuse' : 'connect';
    let settled = false;
    let greeted = !!parked;

    const detail = (): SessionDetail => {
      const tls = tlsVersion(conn);
      return tls ? { relay: label, tls } : { relay: label };
    };
    const tlsFacts = (): TlsFacts | undefined => {
      if (!greeted) return undefined;
      const socket = conn._socket;
      if (conn.secure && socket instanceof TLSSocket) {
        const protocol = socket.getProtocol() ?? undefined;
        if (socket.authorized) return { protocol, verified: true };
        return { protocol, verified: false, problem: certificateProblem(socket.authorizationError) };
      }
      const offered = (internals._supportedExtensions ?? []).includes('STARTTLS');
      return { verified: false, problem: offered ? 'the server refused STARTTLS' : 'the server does not offer STARTTLS' };
    };
    const all = (kind: RecipientOutcome['kind'], r: SmtpReply, hostFailed = false, tlsFailed?: string): Attempt =>
      ({ outcomes: allRecipients(rcpts, kind, r, detail()), hostFailed, tlsFailed, tls: tlsFacts() });
    const each = (replies: ReadonlyMap<string, SmtpReply>, fallback: SmtpReply): Attempt => {
      const d = detail();
      const outcomes = rcpts.map((rcpt) => outcomeFor(rcpt, replies.get(rcpt.trim()) ?? fallback, d));
      return { outcomes, hostFailed: false, tls: tlsFacts() };
    };

    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      opts.signal.removeEventListener('abort', onAbort);
      session.onTrouble = () => {};
      return true;
    };
    const finish = (result: Attempt, end?: 'quit' | 'close' | 'park') => {
      if (!settle()) return;
      if (end === 'park' && key) cache!.park(key, session);
      else if ((end === 'quit' || end === 'park') && !conn.destroyed) conn.quit();
      else if (end === 'close') conn.close();
      resolve(result);
    };
    // The parked session failed its RSET or its first command: the server dropped it meanwhile.
    // Not a byte of this message went out on it, so a new connection takes the message instead.
    const reconnect = () => {
      if (!settle()) return;
      conn.close();
      resolve(attempt(msg, rcpts, opts, ignoreTLS));
    };
    const onAbort = () => finish(all('deferred', aborted), 'close');
    opts.signal.addEventListener('abort', onAbort, { once: true });

    // A hostile or broken peer surfaces here; the connection's listener stays for its whole
    // life (openSession) so a late 'error' can never go unhandled and crash us.
    session.onTrouble = (err) => {
      if (!err) return; // 'end': the pending command's callback reports it
      if (stage === 'reuse') return reconnect();
      finish(stage === 'send' ? sendFailure(err as SMTPError) : sessionFailure(err as SMTPError));
    };

    const sessionFailure = (err: SMTPError): Attempt => {
      if (err.code === 'EAUTH') {
        // Our upstream refusing our credentials is our configuration problem, not the
        // recipient's: defer (RFC 4954 §6 4.7.8 wording) so mail waits for the operator
        // to fix the password instead of bouncing. Another address of the same relay
        // would refuse the same credentials, so the host is not "failed".
        const why = err.response ? formatReply(remoteReply(err.response)) : describe(err);
        return all('deferred', reply(454, '4.7.8', `${label} rejected our AUTH credentials (${why})`));
      }
      if (opts.tlsRequiredBy && err.code === 'ETLS' && err.command === 'STARTTLS' && err.response) {
        // requireTLS sends STARTTLS even when EHLO did not offer it; the refusal is the answer.
        return all('deferred', reply(451, '4.7.5', `${opts.tlsRequiredBy}: ${label} does not offer STARTTLS (${formatReply(remoteReply(err.response))}); TLS is required`), true);
      }
      // STARTTLS handshake errors arrive as socket errors while `upgrading` is set.
      if (err.code === 'ETLS' || conn.upgrading || (opts.secure && stage === 'connect' && isTlsError(err))) {
        // Where a policy demands TLS, the reply says in plain words what is wrong with the certificate.
        const why = opts.tlsRequiredBy ? handshakeProblem(err) : describe(err);
        const text = `${opts.tlsRequiredBy ? `${opts.tlsRequiredBy}: ` : ''}TLS with ${label} failed: ${why}`;
        return all('deferred', reply(451, '4.7.5', text), true, why);
      }
      if (err.code === 'ETIMEDOUT') {
        const r = err.timeoutType === 'CONNECT_TIMEOUT' ? reply(451, '4.4.1', `Connection to ${label} timed out`) : timedOut(label);
        return all('deferred', r, true);
      }
      if (err.responseCode) {
        // RFC 5321 §3.1: a refusing greeting (or EHLO/HELO) ends this host's session.
        // Like Postfix's smtp_skip_5xx_greeting, even a 5xx only skips the host: mail
        // is deferred, not bounced, when no other host takes it.
        const r = remoteReply(err.response ?? '', err.responseCode);
        return all('deferred', r.code < 500 ? r : reply(451, '4.3.0', `${label} refused the session: ${formatReply(r)}`), true);
      }
      if (err.originalCode === 'ECONNREFUSED') {
        return all('deferred', reply(451, '4.4.1', `Connection refused by ${opts.address}:${opts.port}`), true);
      }
      return all('deferred', reply(451, conn.stage === 'connected' ? '4.4.2' : '4.4.1', `${label}: ${describe(err)}`), true);
    };

    const sendFailure = (err: SMTPError): Attempt => {
      if (err.command === 'API') {
        // nodemailer refused the envelope before sending it (e.g. CR/LF or <> in an address).
        return all('bounced', reply(553, '5.1.3', `Address not usable in SMTP: ${describe(err)}`));
      }
      if (err.code === 'EMESSAGE' && err.command === 'MAIL FROM' && !err.responseCode) {
        // RFC 1870 §6: the host advertised a SIZE below ours; retrying will not help.
        return all('bounced', reply(552, '5.3.4', `Message size ${msg.raw.length} exceeds the size limit of ${label}`));
      }
      const session = err.responseCode
        ? remoteReply(err.response ?? '', err.responseCode)
        : err.code === 'ETIMEDOUT'
          ? timedOut(label)
          : reply(451, '4.4.2', `Lost connection with ${label} during the transaction: ${describe(err)}`);
      // A refused MAIL FROM decides for everyone (pipelined RCPT replies are then 503s).
      // Otherwise recipients refused at RCPT keep their own reply; the rest share the session's.
      const rejected = err.command === 'MAIL FROM' ? [] : (err.rejectedErrors ?? envelopeRejections(internals));
      return each(rejectedReplies(rejected), session);
    };

    /**
     * Sends the message. `checked`: the session is known to be alive (new, or its RSET answered). A parked
     * session whose last transaction ended with a 250 is used without RSET, as nodemailer's pool does:
     * until the server's 354 makes nodemailer read the body, not a byte of this message has gone out, so a
     * session the server dropped meanwhile (sessionLost) costs a new connection, never a message.
     */
    const send = (checked: boolean) => {
      stage = checked ? 'send' : 'reuse';
      const envelope = { from: msg.sender, to: [...new Set(rcpts)], size: msg.raw.length, use8BitMime: !isAscii(msg.raw) };
      const body = checked ? msg.raw : bodyStream(msg.raw, () => (stage = 'send'));
      conn.send(envelope, body, (err, info) => {
        if (err && stage === 'reuse' && sessionLost(err)) return reconnect();
        // The server answered and the session is in a known state: it may carry the next message,
        // with an RSET first after a refusal. A 421 or a lost connection ends it.
        if (err) {
          session.resetBeforeUse = true;
          return finish(sendFailure(err), answered(err) ? 'park' : 'quit');
        }
        session.resetBeforeUse = false;
        const accepted = info.accepted.map((a): [string, SmtpReply] => [a, remoteReply(info.response)]);
        const replies = new Map([...rejectedReplies(info.rejectedErrors ?? []), ...accepted]);
        finish(each(replies, reply(451, '4.3.0', `${label} gave no reply for this recipient`)), 'park');
      });
    };

    // Every message is checked against the extensions the server offered, on a reused session too.
    const unsupported = () => missingExtension(msg, rcpts, internals._supportedExtensions ?? [], label);
    if (parked) {
      const missing = unsupported();
      if (missing) return finish(all('bounced', missing), 'park');
      if (!parked.resetBeforeUse) return send(false);
      conn.reset((err) => (err ? reconnect() : send(true)));
      return;
    }
    conn.connect((connectErr) => {
      if (connectErr) return finish(sessionFailure(connectErr));
      greeted = true;
      const missing = unsupported();
      if (missing) return finish(all('bounced', missing), 'quit');
      if (!opts.auth) return send(true);
      stage = 'auth';
      conn.login({ user: opts.auth.user, pass: opts.auth.pass }, (err) => {
        if (err) return finish(sessionFailure(err), 'quit');
        send(true);
      });
    });
  });
}

/** A new connection (not yet connected) whose 'error' and 'end' always have a listener. */
function openSession(opts: SessionOptions, ignoreTLS: boolean): CachedSession {
  const conn = new SMTPConnection({
    host: opts.address,
    port: opts.port,
    // RFC 6066 §3: SNI carries a host name, never an IP address.
    servername: opts.hostName,
    name: opts.ehloName,
    secure: opts.secure ?? false,
    requireTLS: opts.requireTLS ?? false,
    ignoreTLS,
    // A non-2xx answer to STARTTLS: carry on in plaintext unless TLS is required.
    opportunisticTLS: !opts.requireTLS,
    // `ca` replaces Node's CAs, so a test's CA is added to them, never used instead.
    tls: { rejectUnauthorized: opts.verifyCertificate, ...(opts.extraCa?.length ? { ca: [...rootCertificates, ...opts.extraCa] } : {}) },
    connectionTimeout: opts.connectTimeout,
    greetingTimeout: opts.connectTimeout,
    socketTimeout: opts.replyTimeout,
    logger: false,
  });
  const session: CachedSession = { conn, openedAt: Date.now(), resetBeforeUse: false, onTrouble: () => {} };
  conn.on('error', (err: Error) => session.onTrouble(err));
  conn.on('end', () => session.onTrouble());
  return session;
}

/** The body as a stream that calls `onRead` when nodemailer starts reading it, after the server's 354. */
function bodyStream(raw: Buffer, onRead: () => void): Readable {
  return new Readable({
    read() {
      onRead();
      this.push(raw);
      this.push(null);
    },
  });
}

/** Sessions are shared only between deliveries that would have opened the same one. */
function cacheKey(opts: SessionOptions, ignoreTLS: boolean): string {
  return JSON.stringify([opts.address, opts.port, opts.hostName, opts.ehloName, !!opts.secure, !!opts.requireTLS,
    opts.verifyCertificate, ignoreTLS, opts.auth?.user, opts.auth?.pass]);
}

function tlsVersion(conn: SMTPConnection): string | undefined {
  const socket = conn._socket;
  return conn.secure && socket instanceof TLSSocket ? (socket.getProtocol() ?? undefined) : undefined;
}

function envelopeRejections(internals: ConnectionInternals): SMTPError[] {
  return (internals._envelope && internals._envelope.rejectedErrors) || [];
}

/**
 * We neither downgrade addresses nor re-encode bodies, so a peer lacking the
 * extension gets a bounce instead of mail it may corrupt.
 */
function missingExtension(
  msg: OutboundMessage,
  rcpts: readonly string[],
  extensions: readonly string[],
  label: string,
): SmtpReply | undefined {
  const needsUtf8 = [msg.sender, ...rcpts].some((a) => /[^\x00-\x7f]/.test(a));
  if (needsUtf8 && !extensions.includes('SMTPUTF8')) {
    // RFC 6531 §3.2: without SMTPUTF8 the client must not send a UTF-8 address.
    return reply(550, '5.6.7', `Non-ASCII address needs SMTPUTF8, which ${label} does not offer (RFC 6531)`);
  }
  if (!isAscii(msg.raw) && !extensions.includes('8BITMIME')) {
    // RFC 6152 §3: 8-bit data only to a server that offers 8BITMIME; we do not convert to 7-bit.
    return reply(554, '5.6.3', `Message has 8-bit content but ${label} does not offer 8BITMIME (RFC 6152)`);
  }
  return undefined;
}
