// What a TLS session tells a client: version, cipher, and the certificate
// (subject, SANs, issuer, expiry, name match, chain trust), judged the way an
// application that verifies certificates would judge it.
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from 'node:tls';
import { check, type Check } from './report.ts';

export interface TlsInfo {
  protocol: string;
  cipher: string;
  subject: string;
  altNames: string[];
  issuer: string;
  validFrom: string;
  validTo: string;
  daysLeft: number;
  /** Chain verification error as OpenSSL names it (CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT, …). */
  chainError?: string;
  /** Why the certificate does not name the host, if it does not. */
  nameError?: string;
}

const DAY_MS = 24 * 3600 * 1000;
/** Let's Encrypt renews 30 days ahead; two weeks left means renewal has been failing. */
const EXPIRY_WARNING_DAYS = 14;

const dn = (name: PeerCertificate['subject'] | undefined): string =>
  name ? Object.entries(name).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`).join(', ') : '';

export function describeTls(socket: TLSSocket, host: string, now = Date.now()): TlsInfo {
  const cert = socket.getPeerCertificate();
  const altNames = (cert.subjectaltname ?? '').split(/,\s*/).filter(Boolean);
  // RFC 6125 §6: match the name the client was told to use, as a client does.
  const mismatch = cert.subject ? checkServerIdentity(host, cert) : new Error('the server sent no certificate');
  const authError = socket.authorizationError as unknown as Error | string | null;
  return {
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher()?.name ?? 'unknown',
    subject: dn(cert.subject),
    altNames,
    issuer: dn(cert.issuer),
    validFrom: cert.valid_from ? new Date(cert.valid_from).toISOString() : '',
    validTo: cert.valid_to ? new Date(cert.valid_to).toISOString() : '',
    daysLeft: cert.valid_to ? Math.floor((Date.parse(cert.valid_to) - now) / DAY_MS) : 0,
    ...(socket.authorized || !authError ? {} : { chainError: typeof authError === 'string' ? authError : ((authError as NodeJS.ErrnoException).code ?? authError.message) }),
    ...(mismatch ? { nameError: mismatch.message } : {}),
  };
}

/** Errors reported by their own checks (expiry, name), not as a trust failure. */
const OWN_CHECK_ERRORS = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID']);
const SELF_SIGNED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT']);

export function tlsChecks(info: TlsInfo, host: string): Check[] {
  const checks: Check[] = [];
  const data = { ...info } as unknown as Record<string, unknown>;
  // RFC 8996 deprecates TLS 1.0 and 1.1; RFC 8314 §4.1 asks for 1.2 or later.
  const old = /^(SSLv3|TLSv1(\.1)?)$/.test(info.protocol);
  checks.push(check('tls.version', old ? 'warn' : 'ok', `${info.protocol}, ${info.cipher}`, {
    data, ...(old ? { category: 'tls', hint: 'TLS before 1.2 is deprecated (RFC 8996); many clients refuse it' } : {}),
  }));
  const names = info.altNames.length ? info.altNames.join(', ') : '(no subjectAltName)';
  checks.push(check('tls.certificate', 'info', `certificate ${info.subject}; names ${names}; issued by ${info.issuer}`));

  if (info.daysLeft < 0 || info.chainError === 'CERT_HAS_EXPIRED') {
    checks.push(check('tls.expiry', 'fail', `certificate expired on ${info.validTo.slice(0, 10)}`, {
      category: 'tls', hint: 'renew it; clients that verify certificates refuse this server until then',
    }));
  } else if (info.chainError === 'CERT_NOT_YET_VALID') {
    checks.push(check('tls.expiry', 'fail', `certificate not valid before ${info.validFrom.slice(0, 10)}`, { category: 'tls', hint: 'check the clocks on both sides' }));
  } else if (info.daysLeft < EXPIRY_WARNING_DAYS) {
    checks.push(check('tls.expiry', 'warn', `certificate expires in ${info.daysLeft} day(s), on ${info.validTo.slice(0, 10)}`, { category: 'tls', hint: 'renewal seems to be failing; renew it now' }));
  } else {
    checks.push(check('tls.expiry', 'ok', `certificate valid until ${info.validTo.slice(0, 10)} (${info.daysLeft} days)`));
  }

  if (info.nameError) {
    checks.push(check('tls.name', 'fail', `certificate does not name ${host} (it names ${names})`, {
      category: 'tls', hint: `connect to a name on the certificate, or install one for ${host}; verifying clients refuse this`,
    }));
  } else {
    checks.push(check('tls.name', 'ok', `certificate names ${host}`));
  }

  // Node checks the name only once the chain verified, so a name error means a trusted chain;
  // after a date error the rest of the chain is unknown, and not reported.
  if (!info.chainError || info.chainError === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    checks.push(check('tls.trust', 'ok', 'certificate chain trusted'));
  } else if (!OWN_CHECK_ERRORS.has(info.chainError)) {
    const selfSigned = SELF_SIGNED.has(info.chainError);
    checks.push(check('tls.trust', selfSigned ? 'warn' : 'fail', `certificate not trusted (${info.chainError})`, {
      category: 'tls',
      hint: selfSigned
        ? 'self-signed: applications that verify certificates refuse it; use a CA-issued certificate, or trust this one in the app'
        : 'the chain does not lead to a trusted CA: send the intermediate certificates, or pass --ca for a private CA',
    }));
  }
  return checks;
}
