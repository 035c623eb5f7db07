import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { judgeKeyRecord } from './dkim.ts';

const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const ed25519 = () => generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');

test('judgeKeyRecord: usable keys, weak or testing keys, and records verifiers ignore', () => {
  const judge = (record: string) => {
    const j = judgeKeyRecord('s', 'example.test', record);
    return [j.check.status, j.usable, j.check.summary.replace('s._domainkey.example.test: ', '')];
  };
  const key2048 = rsa(2048);
  assert.deepEqual(judge(`v=DKIM1; k=rsa; p=${key2048}`), ['ok', true, 'RSA 2048 bits']);
  // Folded whitespace inside p= is ignored (RFC 6376 §3.2).
  assert.deepEqual(judge(`v=DKIM1; p=${key2048.slice(0, 100)} ${key2048.slice(100)}`), ['ok', true, 'RSA 2048 bits']);
  assert.deepEqual(judge(`v=DKIM1; k=ed25519; p=${ed25519()}`), ['ok', true, 'Ed25519']);
  assert.deepEqual(judge(`v=DKIM1; p=${rsa(1024)}`), ['warn', true, 'RSA 1024 bits']);
  assert.deepEqual(judge(`v=DKIM1; t=y; p=${key2048}`), ['warn', true, 'RSA 2048 bits, testing mode (t=y)']);
  for (const [record, problem] of [
    ['v=DKIM1; p=', /revoked/],
    [`k=rsa; v=DKIM1; p=${key2048}`, /must be the first tag/],
    [`v=DKIM1; k=dsa; p=${key2048}`, /unknown key type/],
    ['v=DKIM1; p=not*base64', /not base64/],
    [`v=DKIM1; p=${key2048.slice(0, 120)}`, /does not hold an RSA public key/],
    [`v=DKIM1; h=sha1; p=${key2048}`, /rsa-sha1/],
    ['v=DKIM1; k=ed25519; p=AAAA', /32 bytes/],
    ['v=DKIM1', /no p=/],
  ] as const) {
    const [status, usable, summary] = judge(record);
    assert.equal(status, 'fail', record);
    assert.equal(usable, false, record);
    assert.match(String(summary), problem, record);
  }
});
