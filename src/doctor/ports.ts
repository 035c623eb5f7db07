// One port of one SMTP server, probed the way a mail client meets it: TCP
// connect, greeting, EHLO, STARTTLS or implicit TLS, AUTH, a test transaction.
// Each step becomes a check; the first failure ends the probe and says why.
import { rootCertificates } from 'node:tls';
import { formatReply } from '../delivery/smtp-reply.ts';
import { advertisedMechanisms, tryAuth, type AuthMethod, type Credentials } from './auth.ts';
import { tryEnvelope, type Envelope } from './envelope.ts';
import { explainError, explainReply } from './explain.ts';
import { check, type Check, type Progress, type Section } from './report.ts';
import { ProbeError, SmtpProbe, type ServerReply, type TlsOptions } from './smtp-client.ts';
import { describeTls, tlsChecks } from './tls.ts';

export type TlsMode = 'starttls' | 'implicit';

export interface PortSpec {
  port: number;
  mode: TlsMode;
  /** The user named the mode (`1465:tls`); otherwise a wrong guess is corrected by trying the other mode. */
  explicitMode: boolean;
}

export const DEFAULT_PORTS = '25,465,587,2525';

/** `25,465,587,2525`, with an optional `:tls` or `:starttls` per port; 465 defaults to implicit TLS (RFC 8314 §3.3). */
export function parsePorts(text: string): PortSpec[] {
  return text.split(/[\s,]+/).filter(Boolean).map((item) => {
    const m = /^(\d{1,5})(?::(tls|ssl|implicit|starttls))?$/i.exec(item);
    const port = Number(m?.[1]);
    if (!m || port < 1 || port > 65535) throw new Error(`not a port: ${item} (use e.g. 587, 465 or 1465:tls)`);
    const named = m[2]?.toLowerCase();
    return { port, mode: named ? (named === 'starttls' ? 'starttls' : 'implicit') : port === 465 ? 'implicit' : 'starttls', explicitMode: !!named };
  });
}

export interface ProbeOptions {
  /** The name the application is configured with: SNI and the certificate check. */
  host: string;
  address: string;
  timeoutMs: number;
  ehloName: string;
  /** Extra trusted CA certificates (PEM), for private relays. */
  ca?: Buffer[];
  credentials?: Credentials;
  /** Credentials were already refused on another port: do not risk a lock-out. */
  skipAuthReason?: string;
  envelope?: Envelope;
  progress: Progress;
}

export type PortFailure = 'refused' | 'timeout' | 'no-greeting' | 'tls' | 'rejected' | 'error';

export interface PortProbe {
  spec: PortSpec;
  section: Section;
  failure?: PortFailure;
  /** TLS in use: via STARTTLS, implicit, or none. */
  tls: TlsMode | 'none';
  /** AUTH mechanisms offered once TLS is up (or on the plain session without TLS). */
  mechanisms: string[];
  authMethod?: AuthMethod;
  /** The server refused the credentials. */
  authRejected: boolean;
  /** Nothing failed on this port. */
  usable: boolean;
}

const MODE_NAME: Record<TlsMode, string> = { starttls: 'STARTTLS', implicit: 'implicit TLS' };
const WRONG_MODE = /wrong version number|packet length too long|unknown protocol|http request/i;

function failureOf(err: unknown): PortFailure {
  if (!(err instanceof ProbeError)) return 'error';
  if (err.stage === 'connect') return err.code === 'ECONNREFUSED' ? 'refused' : err.code === 'ETIMEDOUT' ? 'timeout' : 'error';
  return err.stage === 'tls' ? 'tls' : err.code === 'ENOGREETING' ? 'no-greeting' : 'error';
}

function errorCheck(err: unknown, spec: PortSpec, timeoutMs: number): Check {
  const why = explainError(err);
  const stage = err instanceof ProbeError ? err.stage : 'connect';
  const failure = failureOf(err);
  const summary =
    failure === 'refused' ? `port ${spec.port}: connection refused`
    : failure === 'timeout' ? `port ${spec.port}: no TCP connection within ${timeoutMs / 1000} s (filtered)`
    : failure === 'no-greeting' ? `port ${spec.port}: connected, but no greeting within ${timeoutMs / 1000} s`
    : failure === 'tls' ? `TLS handshake failed: ${(err as Error).message}`
    : stage === 'reply' ? `the session broke off: ${(err as Error).message}`
    : `${stage} failed: ${(err as Error).message}`;
  // Clouds block outbound 25 by dropping packets, which a client sees as a time-out.
  const hint = failure === 'timeout' && spec.port === 25
    ? `${why.meaning}; on most clouds (AWS, GCP, Azure, DigitalOcean…) outbound port 25 is blocked: use 587 or 465 to a relay`
    : `${why.meaning}; ${why.remedy}`;
  return check(stage === 'reply' ? 'session' : stage, 'fail', summary, { category: why.category, hint });
}

/** A private CA is trusted in addition to the public ones, not instead of them. */
const tlsOptions = (opts: ProbeOptions): TlsOptions => ({ servername: opts.host, ...(opts.ca ? { ca: [...rootCertificates, ...opts.ca] } : {}) });

interface Opened {
  conn: SmtpProbe;
  greeting: ServerReply;
  mode: TlsMode;
  /** From TCP connect to the greeting, in the mode that worked. */
  ms: number;
}

async function open(spec: PortSpec, mode: TlsMode, opts: ProbeOptions): Promise<Opened> {
  const started = Date.now();
  const conn = await SmtpProbe.open(opts.address, spec.port, opts.timeoutMs, mode === 'implicit' ? tlsOptions(opts) : undefined);
  try {
    const greeting = await conn.greeting();
    return { conn, greeting, mode, ms: Date.now() - started };
  } catch (err) {
    conn.close();
    throw err;
  }
}

/** Connects in the expected mode; a guessed mode that fails the way the other mode would is retried once in that mode. */
async function openDetecting(spec: PortSpec, opts: ProbeOptions, checks: Check[]): Promise<Opened> {
  try {
    return await open(spec, spec.mode, opts);
  } catch (err) {
    if (spec.explicitMode || !(err instanceof ProbeError)) throw err;
    const plainOnTls = spec.mode === 'implicit' && err.stage === 'tls' && WRONG_MODE.test(`${err.code} ${err.message}`);
    const tlsOnPlain = spec.mode === 'starttls' && err.code === 'ENOGREETING';
    if (!plainOnTls && !tlsOnPlain) throw err;
    const other: TlsMode = plainOnTls ? 'starttls' : 'implicit';
    opts.progress(`  port ${spec.port} did not answer as ${MODE_NAME[spec.mode]}; trying ${MODE_NAME[other]}`);
    let opened: Opened;
    try {
      opened = await open(spec, other, opts);
    } catch {
      throw err; // the first failure is the one to explain
    }
    checks.push(check('tls.mode', 'warn', `port ${spec.port} speaks ${MODE_NAME[other]}, not ${MODE_NAME[spec.mode]}`, {
      category: 'tls',
      hint: other === 'implicit'
        ? 'set the application to SSL/TLS (implicit TLS, "secure: true"), not STARTTLS, for this port'
        : 'set the application to STARTTLS ("secure: false") for this port; implicit TLS gets no answer here',
    }));
    return opened;
  }
}

async function ehlo(conn: SmtpProbe, name: string, checks: Check[]): Promise<string[] | undefined> {
  const r = await conn.command(`EHLO ${name}`);
  if (r.code === 250) return r.lines.slice(1);
  const helo = await conn.command(`HELO ${name}`);
  if (helo.code !== 250) {
    const why = explainReply(helo.reply);
    checks.push(check('ehlo', 'fail', `EHLO and HELO refused: ${formatReply(r.reply)}`, { category: why.category, hint: `${why.meaning}; ${why.remedy}` }));
    return undefined;
  }
  checks.push(check('ehlo', 'warn', 'no ESMTP (EHLO refused, HELO accepted): no STARTTLS, AUTH or SIZE', { category: 'protocol' }));
  return [];
}

export async function probePort(spec: PortSpec, opts: ProbeOptions): Promise<PortProbe> {
  const checks: Check[] = [];
  const result: PortProbe = { spec, section: { title: `port ${spec.port}`, checks }, tls: 'none', mechanisms: [], authRejected: false, usable: false };
  const finish = (failure?: PortFailure): PortProbe => {
    result.failure = failure;
    result.usable = !failure && checks.every((c) => c.status !== 'fail');
    result.section.title = `port ${spec.port} (${MODE_NAME[result.tls === 'none' ? spec.mode : result.tls]})`;
    result.section.verdict = verdict(result);
    return result;
  };

  opts.progress(`probing ${opts.host} [${opts.address}] port ${spec.port} (${MODE_NAME[spec.mode]}, timeout ${opts.timeoutMs / 1000} s)…`);
  let opened: Opened;
  try {
    opened = await openDetecting(spec, opts, checks);
  } catch (err) {
    checks.push(errorCheck(err, spec, opts.timeoutMs));
    return finish(failureOf(err));
  }
  const { conn, greeting, mode, ms } = opened;
  try {
    if (mode === 'implicit') {
      result.tls = 'implicit';
      checks.push(...tlsChecks(describeTls(conn.tlsSocket!, opts.host), opts.host));
    }
    if (greeting.code !== 220) {
      const why = explainReply(greeting.reply);
      checks.push(check('greeting', 'fail', `greeting refused: ${formatReply(greeting.reply)}`, { category: why.category, hint: `${why.meaning}; ${why.remedy}` }));
      return finish('rejected');
    }
    checks.push(check('greeting', 'ok', `connected in ${ms} ms: ${greeting.code} ${greeting.lines.join(' ')}`));

    let caps = await ehlo(conn, opts.ehloName, checks);
    if (!caps) return finish('rejected');
    checks.push(check('ehlo', 'info', `EHLO: ${caps.join(', ') || '(no extensions)'}`, { data: { capabilities: caps } }));

    if (mode === 'starttls') {
      const before = advertisedMechanisms(caps);
      const offersTls = caps.some((c) => /^STARTTLS\b/i.test(c));
      if (before.length) {
        // RFC 4954 §4 lets a server refuse AUTH until TLS; offering it earlier invites clients to send passwords in clear.
        checks.push(check('auth.before-tls', 'warn', `AUTH offered before TLS (${before.join(' ')})`, {
          category: 'tls',
          hint: offersTls
            ? 'a client not set to STARTTLS sends its password in clear; offer AUTH only after STARTTLS (Postfix: smtpd_tls_auth_only = yes)'
            : 'there is no STARTTLS at all: every password crosses the network in clear',
        }));
      } else if (offersTls) {
        checks.push(check('auth.before-tls', 'ok', 'AUTH is not offered before TLS'));
      }
      if (!offersTls) {
        checks.push(check('starttls', 'warn', 'no STARTTLS offered: mail and passwords cross the network in clear', {
          category: 'tls', hint: 'only acceptable on a private network; otherwise enable STARTTLS (RFC 3207) on the server',
        }));
        result.mechanisms = before;
      } else {
        const r = await conn.startTls(tlsOptions(opts));
        if (r.code !== 220) {
          const why = explainReply(r.reply);
          checks.push(check('starttls', 'fail', `STARTTLS refused: ${formatReply(r.reply)}`, { category: 'tls', hint: `${why.meaning}; ${why.remedy}` }));
          return finish('tls');
        }
        result.tls = 'starttls';
        checks.push(check('starttls', 'ok', 'STARTTLS accepted'));
        checks.push(...tlsChecks(describeTls(conn.tlsSocket!, opts.host), opts.host));
        caps = await ehlo(conn, opts.ehloName, checks);
        if (!caps) return finish('rejected');
      }
    }
    if (result.tls !== 'none') result.mechanisms = advertisedMechanisms(caps);
    checks.push(check('auth.mechanisms', 'info', result.mechanisms.length
      ? `AUTH${result.tls === 'none' ? '' : ' after TLS'}: ${result.mechanisms.join(' ')}`
      : 'no AUTH offered (an MX, or logins are off on this port)'));

    let authOk = true;
    if (opts.credentials && opts.skipAuthReason) {
      authOk = false;
      checks.push(check('auth', 'info', `AUTH not tried: ${opts.skipAuthReason}`));
    } else if (opts.credentials) {
      const auth = await tryAuth(conn, result.mechanisms, opts.credentials, result.tls !== 'none');
      checks.push(...auth.checks);
      authOk = auth.ok;
      result.authRejected = auth.rejected;
      if (auth.ok) result.authMethod = auth.method;
    }
    if (opts.envelope) {
      if (authOk) checks.push(...(await tryEnvelope(conn, opts.envelope, opts.ehloName)).checks);
      else checks.push(check('mail', 'info', 'MAIL FROM and RCPT TO not tried: AUTH did not succeed'));
    }
    return finish();
  } catch (err) {
    checks.push(errorCheck(err, spec, opts.timeoutMs));
    return finish(failureOf(err));
  } finally {
    conn.close();
  }
}

/** Certificate problems of a peer we do not verify are not delivery failures. */
export const relaxTls = (checks: Check[], why: string): Check[] =>
  checks.map((c) => (c.id.startsWith('tls.') && c.id !== 'tls.mode' && c.status === 'fail' ? { ...c, status: 'warn', hint: `${c.hint ?? ''} (${why})` } : c));

function verdict(p: PortProbe): string {
  switch (p.failure) {
    case 'refused': return 'closed: connection refused';
    case 'timeout': return 'filtered: the connection timed out';
    case 'no-greeting': return 'not usable: connected, but no SMTP greeting';
    case 'tls': return 'not usable: TLS fails';
    case 'rejected': return 'not usable: the server refused the session';
    case 'error': return 'not usable: the session broke off';
  }
  const failed = p.section.checks.find((c) => c.status === 'fail');
  const tls = p.tls === 'none' ? 'no TLS' : MODE_NAME[p.tls];
  const auth = p.authMethod ? `, AUTH ${p.authMethod} works` : p.mechanisms.length ? `, AUTH ${p.mechanisms.join('/')}` : '';
  return failed ? `problem: ${failed.summary}` : `works: ${tls}${auth}`;
}
