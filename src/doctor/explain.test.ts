import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseReply } from '../delivery/smtp-reply.ts';
import { explainError, explainReply, type Category } from './explain.ts';

// Real replies as servers send them (Gmail, Microsoft, Yahoo, Postfix, SES, smarthost).
const REPLIES: [string, Category, RegExp?][] = [
  ['550 5.7.26 This mail has been blocked because the sender is unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM.', 'dmarc', /SPF, DKIM, DMARC/],
  ['550 5.7.509 Access denied, sending domain example.com does not pass DMARC verification and has a DMARC policy of reject.', 'dmarc'],
  ['550 5.7.1 Unfortunately, messages from [192.0.2.7] weren\'t sent. Please contact your Internet service provider since part of their network is on our block list (S3150).', 'blocklist'],
  ['554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using zen.spamhaus.org', 'blocklist'],
  ['550 5.7.1 Message rejected: blocked', 'blocklist'],
  ['421 4.7.0 [TSS04] Messages from 192.0.2.7 temporarily deferred due to unexpected volume or user complaints', 'rate'],
  ['421 4.7.28 Gmail has detected an unusual rate of mail originating from your IP', 'rate'],
  ['550 5.4.5 Daily user sending limit exceeded.', 'rate'],
  ['450 4.2.0 <a@example.org>: Recipient address rejected: Greylisted, see https://postgrey.schweikert.ch/', 'greylist'],
  ['550 5.7.1 <x@example.net>: Relay access denied', 'policy', /relaying denied/],
  ['554 Message rejected: Email address is not verified. The following identities failed the check', 'policy', /not verified/],
  ['550 5.1.1 The email account that you tried to reach does not exist.', 'mailbox', /does not exist/],
  ['552 5.2.2 The email account that you tried to reach is over quota.', 'mailbox', /full/],
  ['452 4.2.2 The email account that you tried to reach is over quota.', 'mailbox'],
  ['535 5.7.8 Username and Password not accepted.', 'auth', /wrong username or password/],
  ['534 5.7.9 Application-specific password required.', 'auth', /app password/],
  ['535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.', 'auth', /Microsoft 365/],
  ['530 5.7.0 Authentication required; use AUTH after STARTTLS, or connect from a trusted network', 'auth'],
  ['530 5.7.0 Must issue a STARTTLS command first', 'tls'],
  ['504 5.7.4 Unrecognized authentication type', 'auth'],
  ['421 Service not available, closing transmission channel', 'rate'],
  ['452 4.5.3 Too many recipients', 'rate'],
  ['552 5.3.4 Message size exceeds fixed maximum message size', 'policy'],
  ['556 5.1.10 Recipient domain does not accept mail (null MX)', 'dns'],
  ['451 4.4.3 DNS lookup for example.org failed (ETIMEOUT), will retry', 'dns'],
  ['451 4.4.1 Connection to mx.example.org[192.0.2.1]:25 timed out', 'network'],
  ['451 4.7.5 TLS with mx.example.org[192.0.2.1]:25 failed: certificate has expired', 'tls'],
  ['500 5.5.1 Command unrecognized', 'protocol'],
  ['550 Requested action not taken: mailbox unavailable', 'mailbox'],
  ['451 Requested action aborted: local error in processing', 'other'],
];

test('explainReply: well-known replies get their category and a one-line remedy', () => {
  for (const [line, category, meaning] of REPLIES) {
    const e = explainReply(parseReply(Number(line.slice(0, 3)), line));
    assert.equal(e.category, category, line);
    if (meaning) assert.match(e.meaning, meaning, line);
    assert.ok(e.remedy && !e.remedy.includes('\n'), line);
  }
});

test('explainReply: success needs nothing', () => {
  assert.equal(explainReply({ code: 250, enhanced: '2.0.0', text: 'Ok' }).remedy, 'nothing to do');
});

test('explainError: connection, DNS and TLS failures, and nodemailer errors carrying a reply', () => {
  const cases: [unknown, Category, RegExp][] = [
    [Object.assign(new Error('connect ECONNREFUSED 192.0.2.1:25'), { code: 'ECONNREFUSED' }), 'network', /refused/],
    [Object.assign(new Error('connect ETIMEDOUT 192.0.2.1:25'), { code: 'ETIMEDOUT' }), 'network', /firewall silently drops/],
    [Object.assign(new Error('Greeting never received'), { code: 'ETIMEDOUT' }), 'network', /no greeting/],
    [Object.assign(new Error('no TLS handshake within 1000 ms'), { code: 'ETIMEDOUT', stage: 'tls' }), 'tls', /handshake did not finish/],
    [Object.assign(new Error('no reply within 1000 ms'), { code: 'ETIMEDOUT', stage: 'reply' }), 'network', /stopped answering/],
    [Object.assign(new Error('getaddrinfo ENOTFOUND smtp.example.test'), { code: 'ENOTFOUND' }), 'dns', /does not resolve/],
    [Object.assign(new Error('queryA ETIMEOUT example.org'), { code: 'ETIMEOUT' }), 'dns', /resolver did not answer/],
    [Object.assign(new Error('queryMx ECONNREFUSED example.org'), { code: 'ECONNREFUSED' }), 'dns', /resolver refused/],
    [Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }), 'tls', /expired/],
    [Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }), 'tls', /does not name this host/],
    [new Error('140F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'), 'tls', /wrong TLS mode/],
    [Object.assign(new Error('Invalid login: 535 5.7.8 Authentication credentials invalid'), { code: 'EAUTH', responseCode: 535, response: '535 5.7.8 Authentication credentials invalid' }), 'auth', /wrong username/],
    [new Error('Client network socket disconnected before secure TLS connection was established'), 'tls', /handshake/],
    [new Error('something odd'), 'other', /unexpected/],
  ];
  for (const [err, category, meaning] of cases) {
    const e = explainError(err);
    assert.equal(e.category, category, String(err));
    assert.match(e.meaning, meaning, String(err));
  }
});
