import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgePolicy } from './dmarc.ts';

const brief = (checks: ReturnType<typeof judgePolicy>) => checks.map((c) => `${c.id}:${c.status}:${c.summary}`);

test('judgePolicy: the policy that applies, monitoring only, reports and strict alignment', () => {
  assert.deepEqual(brief(judgePolicy('example.test', 'example.test', 'v=DMARC1; p=reject; rua=mailto:d@example.test')), ['dmarc.policy:ok:_dmarc.example.test: p=reject']);
  const none = judgePolicy('example.test', 'example.test', 'v=DMARC1; p=none; pct=50; adkim=s');
  assert.deepEqual(none.map((c) => `${c.id}:${c.status}`), ['dmarc.policy:warn', 'dmarc.rua:info', 'dmarc.strict:info']);
  assert.match(none[0]!.summary, /p=none on 50% of mail/);
  // RFC 7489 §6.3: a subdomain found through the organisational record gets sp=.
  assert.match(judgePolicy('example.test', 'mail.example.test', 'v=DMARC1; p=none; sp=quarantine; rua=mailto:d@example.test')[0]!.summary,
    /_dmarc\.example\.test \(organisational domain of mail\.example\.test\): p=quarantine/);
});

test('judgePolicy: records receivers ignore', () => {
  for (const [record, problem] of [
    ['p=reject; v=DMARC1', /v=DMARC1 must come first/],
    ['v=DMARC1; rua=mailto:d@example.test', /p= is missing/],
    ['v=DMARC1; p=block', /p=block is not none/],
    ['v=DMARC1; p=reject; aspf=x', /aspf=x is not r or s/],
    ['v=DMARC1; p=reject; pct=150', /pct=150/],
    ['v=DMARC1; p=reject; rua=https://example.test/r', /non-mailto/],
  ] as const) {
    const [c] = judgePolicy('example.test', 'example.test', record);
    assert.equal(c!.status, 'fail', record);
    assert.match(c!.summary, problem, record);
  }
});
