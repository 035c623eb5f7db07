// SMTP replies and connection failures in plain words: one table maps a reply
// (basic code, enhanced code, well-known text) or a network/TLS/DNS error to a
// category and a one-line remedy. `doctor`, `explain` and delivery events use it.
import type { SmtpReply } from '../delivery/smtp-reply.ts';

export type Category =
  | 'auth' | 'tls' | 'dns' | 'policy' | 'dmarc' | 'blocklist' | 'mailbox' | 'rate' | 'greylist' | 'network'
  /** RFC 3463 X.5.x: the two sides disagree about the protocol (a client bug, not a setting). */
  | 'protocol'
  | 'other';

export interface Explanation {
  category: Category;
  /** What the reply or error means, in a few words. */
  meaning: string;
  /** What to do about it, one line. */
  remedy: string;
}

interface Rule extends Explanation {
  /** Basic code (550) or its first digit (5). */
  code?: number;
  /** Enhanced codes: '5.7.26' exactly; 'x.7.1' in either class; 'x.7' any detail of subject 7. */
  enhanced?: string | string[];
  text?: RegExp;
}

const r = (match: Pick<Rule, 'code' | 'enhanced' | 'text'>, category: Category, meaning: string, remedy: string): Rule =>
  ({ ...match, category, meaning, remedy });

// First match wins: provider texts, then enhanced codes (RFC 3463, RFC 7372 and
// the IANA registry), then basic codes (RFC 5321 §4.2.3), then the class digit.
const RULES: Rule[] = [
  // Well-known texts, which say more than their codes.
  r({ text: /5\.7\.26|unauthenticated|does not pass DMARC|DMARC (policy|verification)|5\.7\.509|5\.7\.515/i }, 'dmarc',
    'rejected for failing sender authentication (SPF, DKIM, DMARC)',
    'publish SPF for the sending IP and sign with DKIM aligned to the From: domain; check with: smarthost doctor dns <domain>'),
  r({ text: /spamhaus|barracuda|spamcop|block ?list|black ?list|\bRBL\b|DNSBL|banned sending IP|5\.7\.606|\bS3150\b|listed (at|by|on)/i }, 'blocklist',
    'the sending IP is on a blocklist', 'look the IP up at the list named in the reply and request delisting, or send through a relay with a clean IP'),
  r({ text: /reputation|unsolicited mail|likely (unsolicited|spam)|5\.7\.511|5\.7\.708|traffic not accepted from this IP/i }, 'blocklist',
    'refused because of the sending IP or domain reputation', "follow the link in the reply (Gmail's bulk sender guidelines, Microsoft's delist portal), or send through a relay with a good reputation"),
  r({ text: /gr[ae]y-?list/i, code: 4 }, 'greylist',
    'greylisted: the receiver defers unknown senders once', 'nothing to do: smarthost retries, and the next attempt is normally accepted'),
  r({ text: /rate limit|rate-limit|too many (messages|connections|emails)|throttl|exceeded .*(limit|quota)|sending (limit|quota)|4\.7\.28|5\.4\.5|4\.7\.650|4\.7\.500/i }, 'rate',
    'rate limited or over a sending quota', 'send fewer messages per minute (lower SMARTHOST_PER_DESTINATION_CONCURRENCY) or raise the quota with the provider'),
  r({ text: /relay(ing)? (access )?(denied|not permitted|prohibited)|not (permitted|allowed) to relay|unable to relay|relay not permitted/i }, 'policy',
    'relaying denied: the server will not pass this mail on for you', 'authenticate (AUTH) before MAIL FROM, or use a credential allowed to send to any domain'),
  r({ text: /sender (address|domain|identity) (is )?(not verified|rejected|not allowed|unverified)|address is not verified|not a verified|SendAsDenied|not (owned|authorized) .*sender|from address does not match/i }, 'policy',
    'the sender address or domain is not verified for this account', 'verify the sending domain (or address) with the provider, or send from one it allows'),
  r({ text: /\bblocked\b/i, code: 5 }, 'blocklist', 'the receiver blocks your IP or domain',
    'read the reply for the list or portal that blocks you; send through a relay with a clean IP meanwhile'),
  r({ text: /mailbox (is )?full|over ?quota|quota exceeded|insufficient storage|storage (full|allocation)/i }, 'mailbox',
    "the recipient's mailbox is full", 'nothing to fix on your side: retried for a temporary reply; otherwise ask the recipient to make room'),
  r({ text: /must issue a STARTTLS|STARTTLS (is )?required|TLS (is )?required|encryption required/i }, 'tls',
    'the server requires TLS first', 'turn on STARTTLS (or use port 465 with implicit TLS) in the client'),

  // Enhanced codes (RFC 3463 §3, RFC 4954 §6, RFC 7372 §3, RFC 7505 §4, IANA registry).
  r({ enhanced: '4.7.0' }, 'rate', 'temporarily refused (throttling or a security check)', 'wait and retry (smarthost does); if it persists, slow down and check the sending IP'),
  r({ enhanced: '5.7.0', code: 530 }, 'auth', 'authentication required', 'log in (AUTH) with a credential before MAIL FROM, after STARTTLS'),
  r({ enhanced: 'x.7.1' }, 'policy', 'refused by policy (relaying denied, sender not allowed, or blocked)', 'read the reply text: authenticate, send from an allowed address, or check the sending IP'),
  r({ enhanced: 'x.7.4' }, 'auth', 'the authentication mechanism is not supported', 'choose a mechanism the server advertises in EHLO (--auth-method)'),
  r({ enhanced: 'x.7.5' }, 'tls', 'the TLS handshake or a cryptographic check failed', 'check the certificate and the TLS versions both sides allow: smarthost doctor smtp <host>'),
  r({ enhanced: 'x.7.8' }, 'auth', 'wrong username or password (or API key)',
    'check both for typos, that the key is not expired or revoked, and whether the provider wants an app password or API key instead of the account password'),
  r({ enhanced: 'x.7.9' }, 'auth', 'the authentication mechanism is too weak, or an app password is required', 'use an app password (Gmail) or an API key, over TLS'),
  r({ enhanced: 'x.7.10' }, 'tls', 'encryption is needed', 'turn on STARTTLS or use port 465'),
  r({ enhanced: 'x.7.11' }, 'tls', 'this authentication mechanism needs TLS first', 'issue STARTTLS before AUTH (or use port 465)'),
  r({ enhanced: 'x.7.12' }, 'auth', 'a password transition is needed', 'log in once interactively or set a new password, then retry'),
  r({ enhanced: 'x.7.13' }, 'auth', 'the account is disabled', 'enable the account (or credential) with the provider or: smarthost credentials enable <name>'),
  r({ enhanced: 'x.7.139' }, 'auth', 'SMTP AUTH is disabled for this mailbox or tenant (Microsoft 365)', 'enable Authenticated SMTP for the mailbox in the Microsoft 365 admin centre'),
  r({ enhanced: ['x.7.20', 'x.7.21', 'x.7.22', 'x.7.23', 'x.7.26', 'x.7.29'] }, 'dmarc', 'the message failed DKIM, SPF or DMARC checks', 'sign with DKIM aligned to the From: domain and authorise the sending IP in SPF'),
  r({ enhanced: 'x.7.24' }, 'dns', 'SPF could not be evaluated (a DNS error or a broken record)', 'fix the SPF record: smarthost doctor dns <domain>'),
  r({ enhanced: 'x.7.25' }, 'dns', 'the sending IP has no matching reverse DNS (PTR)', 'set a PTR record for the sending IP that names a host resolving back to it'),
  r({ enhanced: 'x.7.27' }, 'dns', 'the sender domain publishes a null MX, so it cannot receive bounces', 'send from a domain that receives mail (publish a real MX)'),
  r({ enhanced: 'x.7.28' }, 'rate', 'mail flood detected', 'send fewer messages to this destination per minute'),
  r({ enhanced: 'x.7.30' }, 'tls', 'REQUIRETLS support required', 'deliver over a route that supports REQUIRETLS, or drop that requirement'),
  r({ enhanced: 'x.7' }, 'policy', 'refused for a security or policy reason', 'read the reply text; it usually names the policy'),
  r({ enhanced: 'x.1.1' }, 'mailbox', 'the recipient address does not exist', 'check the spelling; smarthost stops sending to it (suppression list)'),
  r({ enhanced: 'x.1.2' }, 'dns', 'the recipient domain does not exist or has no mail server', 'check the domain part of the address'),
  r({ enhanced: 'x.1.3' }, 'mailbox', 'the address is not valid SMTP syntax', 'fix the address'),
  r({ enhanced: 'x.1.6' }, 'mailbox', 'the mailbox has moved', 'use the new address given in the reply'),
  r({ enhanced: 'x.1.7' }, 'policy', 'the sender address is not valid', 'use a valid envelope sender'),
  r({ enhanced: 'x.1.8' }, 'dns', 'the sender domain does not resolve', 'send from a domain with MX or A records'),
  r({ enhanced: 'x.1.10' }, 'dns', 'the recipient domain accepts no mail (null MX)', 'nothing to retry: the address cannot receive mail'),
  r({ enhanced: 'x.1' }, 'mailbox', 'a problem with an address', 'check the address in the reply'),
  r({ enhanced: 'x.2.2' }, 'mailbox', "the recipient's mailbox is full", 'retried for a temporary reply; otherwise ask the recipient to make room'),
  r({ enhanced: 'x.2.3' }, 'mailbox', 'the message is too large for this mailbox', 'send a smaller message (link large attachments)'),
  r({ enhanced: 'x.2' }, 'mailbox', 'the mailbox is disabled or unavailable', 'check the address with the recipient'),
  r({ enhanced: 'x.3.4' }, 'policy', 'the message is larger than the server accepts', 'send a smaller message; EHLO shows the SIZE limit'),
  r({ enhanced: 'x.4.1' }, 'network', 'no answer from the host', 'smarthost retries; check that outbound connections to this port are not filtered'),
  r({ enhanced: 'x.4.2' }, 'network', 'the connection broke or timed out', 'smarthost retries; if it persists, the peer or a firewall cuts the session'),
  r({ enhanced: 'x.4.3' }, 'dns', 'a DNS lookup failed', 'check SMARTHOST_DNS_SERVERS and that the resolver answers: smarthost doctor'),
  r({ enhanced: 'x.4.4' }, 'dns', 'no route: the domain has no usable mail server', 'check the MX records of the recipient domain'),
  r({ enhanced: 'x.4.5' }, 'rate', 'the receiving system is congested', 'smarthost retries later'),
  r({ enhanced: 'x.4.7' }, 'network', 'delivery time expired', 'the destination was unreachable for the whole queue lifetime; check it with smarthost doctor smtp <mx>'),
  r({ enhanced: 'x.5.3' }, 'rate', 'too many recipients in one message', 'send the rest in another message'),
  r({ enhanced: 'x.5' }, 'protocol', 'the server did not accept a command or its syntax', 'a client bug or an unsupported extension; the reply text names the command'),
  r({ enhanced: 'x.6' }, 'policy', 'the message content was refused', 'check encoding, headers and size; read the reply text'),

  // Basic codes (RFC 5321 §4.2.3), for replies without a specific enhanced code.
  r({ code: 421 }, 'rate', 'the server is temporarily unavailable or limiting connections', 'smarthost retries; if it persists, slow down or check the sending IP reputation'),
  r({ code: 454 }, 'tls', 'TLS or authentication is temporarily unavailable', 'retry later'),
  r({ code: 530 }, 'auth', 'authentication required', 'log in (AUTH) before MAIL FROM'),
  r({ code: 534 }, 'auth', 'the authentication mechanism is too weak', 'use an app password or API key, over TLS'),
  r({ code: 535 }, 'auth', 'wrong username or password (or API key)', 'check both, and that the key is neither expired nor revoked'),
  r({ code: 538 }, 'tls', 'encryption required for this authentication mechanism', 'issue STARTTLS before AUTH'),
  r({ code: 504 }, 'protocol', 'a command parameter is not implemented', 'use what the server advertises in EHLO'),
  r({ code: 450 }, 'mailbox', 'the mailbox is temporarily unavailable', 'smarthost retries'),
  r({ code: 451 }, 'other', 'a temporary error at the server', 'smarthost retries'),
  r({ code: 452 }, 'mailbox', 'insufficient storage at the server (or too many recipients)', 'smarthost retries; send fewer recipients per message if it persists'),
  r({ code: 550 }, 'mailbox', 'the mailbox is unavailable, or the message was refused by policy', 'read the reply text'),
  r({ code: 551 }, 'mailbox', 'the user is not local here', 'use the address the reply suggests'),
  r({ code: 552 }, 'mailbox', 'storage exceeded (mailbox full or message too big)', 'send a smaller message or ask the recipient to make room'),
  r({ code: 553 }, 'policy', 'the mailbox name is not allowed', 'check the address (and that the sender is allowed)'),
  r({ code: 554 }, 'policy', 'the transaction failed (often refused as spam or by policy)', 'read the reply text'),
  r({ code: 556 }, 'dns', 'the domain does not accept mail (null MX)', 'nothing to retry'),
  r({ code: 5 }, 'other', 'permanent failure', 'read the reply text'),
  r({ code: 4 }, 'other', 'temporary failure', 'smarthost retries'),
];

function matches(rule: Rule, reply: Pick<SmtpReply, 'code' | 'enhanced' | 'text'>): boolean {
  if (rule.text && !rule.text.test(`${reply.enhanced} ${reply.text}`)) return false;
  if (rule.enhanced !== undefined) {
    const [cls, subject, detail] = reply.enhanced.split('.');
    const hit = (pattern: string) => {
      const [pc, ps, pd] = pattern.split('.');
      return (pc === 'x' || pc === cls) && ps === subject && (pd === undefined || pd === detail);
    };
    if (!(typeof rule.enhanced === 'string' ? hit(rule.enhanced) : rule.enhanced.some(hit))) return false;
  }
  if (rule.code !== undefined) {
    const own = rule.code < 10 ? Math.floor(reply.code / 100) : reply.code;
    if (own !== rule.code) return false;
  }
  return true;
}

/** The category and remedy for a reply; success replies are 'other' with no remedy needed. */
export function explainReply(reply: Pick<SmtpReply, 'code' | 'enhanced' | 'text'>): Explanation {
  if (reply.code >= 200 && reply.code < 400) return { category: 'other', meaning: 'success', remedy: 'nothing to do' };
  return RULES.find((rule) => matches(rule, reply)) ?? { category: 'other', meaning: 'an unrecognised reply', remedy: 'read the reply text' };
}

// Connection failures: Node's socket/DNS codes, TLS verification codes, and
// nodemailer's wrappers (ECONNECTION, ETIMEDOUT, ETLS, EDNS, EAUTH).
const e = (category: Category, meaning: string, remedy: string): Explanation => ({ category, meaning, remedy });

const BY_CODE: Record<string, Explanation> = {
  ECONNREFUSED: e('network', 'connection refused: nothing listens on that port, or a firewall actively rejects it',
    'check the host and port, and that the server is running there'),
  ETIMEDOUT: e('network', 'connection timed out: a firewall silently drops it (typical of outbound port 25 on clouds)',
    'use port 587 (STARTTLS) or 465 (TLS) to a relay, or ask the provider to unblock the port'),
  ENOGREETING: e('network', 'connected, but the server sent no greeting',
    'a port expecting implicit TLS (465) while the client waits for a banner, a proxy holding the connection, or an overloaded server'),
  ECONNRESET: e('network', 'the connection was cut by the peer or a firewall', 'retry; if it persists, the peer may be refusing your IP'),
  EPIPE: e('network', 'the connection was cut by the peer or a firewall', 'retry; if it persists, the peer may be refusing your IP'),
  EHOSTUNREACH: e('network', 'no route to the host', 'check the address, the network and any outbound firewall'),
  ENETUNREACH: e('network', 'the network is unreachable (often IPv6 without a route)', 'check the network, or connect over IPv4'),
  ENOTFOUND: e('dns', 'the name does not resolve (no such domain or no address)', 'check the spelling and that the record exists'),
  ENODATA: e('dns', 'the name exists but has no record of the asked type', 'publish the record, or use another name'),
  EAI_AGAIN: e('dns', 'the DNS resolver did not answer', 'check the resolver (SMARTHOST_DNS_SERVERS or /etc/resolv.conf) and retry'),
  ESERVFAIL: e('dns', 'the DNS server failed to answer (SERVFAIL)', 'often broken DNSSEC or a dead authoritative server; check the zone'),
  CERT_HAS_EXPIRED: e('tls', 'the server certificate has expired', 'renew the certificate (or fix the client clock if it is wrong)'),
  CERT_NOT_YET_VALID: e('tls', 'the server certificate is not valid yet', 'check the clocks on both sides'),
  ERR_TLS_CERT_ALTNAME_INVALID: e('tls', 'the certificate does not name this host', 'connect by a name the certificate lists, or fix the certificate'),
  DEPTH_ZERO_SELF_SIGNED_CERT: e('tls', 'the certificate is self-signed', 'install a certificate from a public CA, or trust this one explicitly in the client'),
  SELF_SIGNED_CERT_IN_CHAIN: e('tls', 'the chain ends in an untrusted (private) CA', 'trust the CA in the client (--ca), or use a public CA'),
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: e('tls', 'the chain is incomplete', 'the server must send its intermediate certificates too'),
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: e('tls', 'the issuer is unknown (missing intermediate or a private CA)', 'send the full chain from the server, or trust the CA (--ca)'),
  ERR_SSL_WRONG_VERSION_NUMBER: e('tls', 'wrong TLS mode: this port speaks plain SMTP, not implicit TLS',
    'use STARTTLS on this port (587/25/2525), implicit TLS only on 465'),
  ERR_SSL_UNSUPPORTED_PROTOCOL: e('tls', 'no TLS version in common (the server offers only old ones)', 'upgrade the server to TLS 1.2 or later'),
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: e('tls', 'no TLS version in common', 'allow TLS 1.2 or later on both sides'),
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: e('tls', 'the TLS handshake failed (no cipher or version in common)', 'allow TLS 1.2+ with modern ciphers on both sides'),
};

const DNS_REFUSED = e('dns', 'the DNS resolver refused the query', 'check SMARTHOST_DNS_SERVERS');
const TLS_TIMEOUT = e('tls', 'the TLS handshake did not finish', 'the port may speak plain SMTP (use STARTTLS there), or something in between holds the connection');
const REPLY_TIMEOUT = e('network', 'the server stopped answering in the middle of the session', 'retry; an overloaded server or a proxy may be holding the connection');

/** The category and remedy for an error thrown while connecting, resolving or negotiating TLS. */
export function explainError(err: unknown): Explanation {
  const x = (err ?? {}) as { code?: unknown; stage?: unknown; responseCode?: unknown; response?: unknown; message?: unknown; cause?: unknown };
  const message = typeof x.message === 'string' ? x.message : String(err);
  // nodemailer's EAUTH/EENVELOPE/EMESSAGE carry the server's reply.
  if (typeof x.responseCode === 'number' && x.responseCode >= 400) {
    const text = typeof x.response === 'string' ? x.response : message;
    const m = /^\d{3}[ -]?([245]\.\d{1,3}\.\d{1,3})?\s*(.*)$/s.exec(text.trim());
    return explainReply({ code: x.responseCode, enhanced: (m?.[1] ?? `${String(x.responseCode)[0]}.0.0`) as SmtpReply['enhanced'], text: m?.[2] ?? text });
  }
  const code = typeof x.code === 'string' ? x.code : '';
  if (/Greeting never received/i.test(message)) return BY_CODE.ENOGREETING!;
  // doctor's ProbeError says which step timed out; only a connect time-out means a filter.
  if (code === 'ETIMEDOUT' && x.stage === 'tls') return TLS_TIMEOUT;
  if (code === 'ETIMEDOUT' && x.stage === 'reply') return REPLY_TIMEOUT;
  if (code === 'ECONNREFUSED' && /query|resolve|dns/i.test(message)) return DNS_REFUSED;
  if (code === 'ETIMEOUT' || (code === 'EDNS' && /timeout/i.test(message))) return BY_CODE.EAI_AGAIN!;
  const known = BY_CODE[code] ?? Object.entries(BY_CODE).find(([k]) => message.includes(k))?.[1];
  if (known) return known;
  if (/wrong version number|packet length too long|http request/i.test(message)) return BY_CODE.ERR_SSL_WRONG_VERSION_NUMBER!;
  if (/timed? ?out/i.test(message)) return BY_CODE.ETIMEDOUT!;
  if (/refused/i.test(message)) return BY_CODE.ECONNREFUSED!;
  if (/certificate|handshake|\bssl\b|\btls\b/i.test(message) || code === 'ETLS') {
    return e('tls', 'the TLS handshake failed', 'check the certificate and TLS settings: smarthost doctor smtp <host>');
  }
  if (x.cause && x.cause !== err) return explainError(x.cause);
  return e('other', 'an unexpected error', 'read the error message');
}
