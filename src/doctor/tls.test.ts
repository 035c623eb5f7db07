import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tlsChecks, type TlsInfo } from './tls.ts';

const info = (more: Partial<TlsInfo>): TlsInfo => ({
  protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', subject: 'CN=mx.example.test', altNames: ['DNS:mx.example.test'],
  issuer: 'CN=CA', validFrom: '2026-01-01T00:00:00.000Z', validTo: '2026-12-31T00:00:00.000Z', daysLeft: 200, ...more,
});
const brief = (i: TlsInfo) => tlsChecks(i, 'mx.example.test').map((c) => `${c.id}:${c.status}`);

test('tlsChecks: how a verifying client would judge the session', () => {
  assert.deepEqual(brief(info({})), ['tls.version:ok', 'tls.certificate:info', 'tls.expiry:ok', 'tls.name:ok', 'tls.trust:ok']);
  assert.deepEqual(brief(info({ protocol: 'TLSv1.1', daysLeft: 5 })), ['tls.version:warn', 'tls.certificate:info', 'tls.expiry:warn', 'tls.name:ok', 'tls.trust:ok']);
  // Self-signed is smarthost's own default: a warning. An unknown issuer is a failure.
  assert.equal(brief(info({ chainError: 'DEPTH_ZERO_SELF_SIGNED_CERT' }))[4], 'tls.trust:warn');
  assert.equal(brief(info({ chainError: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' }))[4], 'tls.trust:fail');
  // Expired: the expiry check says so; the chain is not judged again.
  assert.deepEqual(brief(info({ daysLeft: -3, chainError: 'CERT_HAS_EXPIRED' })), ['tls.version:ok', 'tls.certificate:info', 'tls.expiry:fail', 'tls.name:ok']);
  assert.deepEqual(brief(info({ nameError: 'no match', chainError: 'ERR_TLS_CERT_ALTNAME_INVALID' })).slice(3), ['tls.name:fail', 'tls.trust:ok']);
});
