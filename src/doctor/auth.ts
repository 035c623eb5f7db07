// SMTP AUTH (RFC 4954) as a diagnosis: pick the mechanism an application would
// pick, run the SASL exchange, and explain a refusal. Secrets never reach the report.
import { createHmac } from 'node:crypto';
import { formatReply } from '../delivery/smtp-reply.ts';
import { explainReply } from './explain.ts';
import { check, type Check } from './report.ts';
import type { ServerReply, SmtpProbe } from './smtp-client.ts';

export const AUTH_METHODS = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

export interface Credentials {
  user: string;
  password?: string;
  /** OAuth 2.0 access token for XOAUTH2 (Gmail, Microsoft 365). */
  oauthToken?: string;
  /** Use this mechanism even if the server does not advertise it. */
  method?: AuthMethod;
}

/** The mechanisms in an EHLO reply's AUTH line(s), upper-case. */
export function advertisedMechanisms(ehloLines: readonly string[]): string[] {
  const found = new Set<string>();
  for (const line of ehloLines) {
    // `AUTH=PLAIN LOGIN` is the pre-RFC 4954 spelling some servers still send.
    const m = /^AUTH[ =](.*)$/i.exec(line.trim());
    if (m) for (const mech of m[1]!.trim().split(/\s+/)) if (mech) found.add(mech.toUpperCase());
  }
  return [...found];
}

/**
 * The mechanism to try: the one asked for, XOAUTH2 with a token, otherwise the
 * first advertised of PLAIN, LOGIN, CRAM-MD5 (on TLS, PLAIN sends nothing more
 * than the others do, and every server that offers AUTH has one of them).
 */
export function chooseMechanism(advertised: readonly string[], creds: Credentials): AuthMethod | undefined {
  if (creds.method) return creds.method;
  if (creds.oauthToken) return 'XOAUTH2';
  return (['PLAIN', 'LOGIN', 'CRAM-MD5'] as const).find((m) => advertised.includes(m));
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Runs the SASL exchange; the final reply is 235 on success. */
async function exchange(conn: SmtpProbe, method: AuthMethod, creds: Credentials): Promise<ServerReply> {
  const password = creds.password ?? '';
  switch (method) {
    case 'PLAIN': // RFC 4616 §2: authzid NUL authcid NUL passwd
      return conn.command(`AUTH PLAIN ${b64(`\0${creds.user}\0${password}`)}`);
    case 'LOGIN': {
      let r = await conn.command('AUTH LOGIN');
      if (r.code !== 334) return r;
      r = await conn.command(b64(creds.user));
      return r.code === 334 ? conn.command(b64(password)) : r;
    }
    case 'CRAM-MD5': { // RFC 2195 §2: user SP hex(HMAC-MD5(password, challenge))
      const r = await conn.command('AUTH CRAM-MD5');
      if (r.code !== 334) return r;
      const challenge = Buffer.from(r.lines[0] ?? '', 'base64').toString('utf8');
      return conn.command(b64(`${creds.user} ${createHmac('md5', password).update(challenge).digest('hex')}`));
    }
    case 'XOAUTH2': {
      const r = await conn.command(`AUTH XOAUTH2 ${b64(`user=${creds.user}\x01auth=Bearer ${creds.oauthToken ?? ''}\x01\x01`)}`);
      // Google's XOAUTH2 protocol: a failure comes as 334 with a JSON error; an empty line gets the final reply.
      return r.code === 334 ? conn.command('') : r;
    }
  }
}

export interface AuthResult {
  checks: Check[];
  ok: boolean;
  method?: AuthMethod;
  /** The server refused the credentials (535 and kin): trying them on more ports only risks a lock-out. */
  rejected: boolean;
}

export async function tryAuth(conn: SmtpProbe, advertised: readonly string[], creds: Credentials, secure: boolean): Promise<AuthResult> {
  if (!secure) {
    return {
      ok: false, rejected: false,
      checks: [check('auth', 'fail', 'AUTH not tried: the connection is not encrypted and the password would cross the network in clear', {
        category: 'tls', hint: 'use a port with STARTTLS or implicit TLS (465)',
      })],
    };
  }
  const method = chooseMechanism(advertised, creds);
  if (!method) {
    return {
      ok: false, rejected: false,
      checks: [check('auth', 'fail', advertised.length ? `no supported AUTH mechanism offered (${advertised.join(' ')})` : 'the server offers no AUTH after TLS', {
        category: 'auth', hint: advertised.length ? 'pass --auth-method to force one' : 'this server does not take logins here (an MX, or AUTH is disabled); use the submission port of your provider',
      })],
    };
  }
  const r = await exchange(conn, method, creds);
  if (r.code === 235) return { ok: true, rejected: false, method, checks: [check('auth', 'ok', `AUTH ${method} accepted for ${creds.user}`)] };

  const why = explainReply(r.reply);
  const notOffered = advertised.includes(method) ? '' : ` (${method} is not advertised: ${advertised.join(' ') || 'none'})`;
  const hint = r.code === 535 || r.reply.enhanced.endsWith('.7.8')
    ? `${why.meaning}: check the username (${creds.user}) and password or key for typos, that the key is neither expired nor revoked, ` +
      `and whether the provider wants an app password or API key${advertised.length > 1 ? `; or try another mechanism (${advertised.join(' ')})` : ''}`
    : `${why.meaning}: ${why.remedy}`;
  return {
    ok: false, method,
    rejected: Math.floor(r.code / 100) === 5,
    checks: [check('auth', 'fail', `AUTH ${method} refused: ${formatReply(r.reply)}${notOffered}`, { category: why.category, hint, data: { reply: r.reply } })],
  };
}
