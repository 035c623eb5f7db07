import assert from 'node:assert/strict';
import { test } from 'node:test';
import { check, makeReport, renderText } from './report.ts';

test('a report fails when any check fails, and renders ✔ ✖ ! with hints', () => {
  const ok = makeReport('doctor smtp', 'mx.example.test', [{ title: 'port 587 (STARTTLS)', checks: [check('greeting', 'ok', '220 hi')], verdict: 'works' }]);
  assert.equal(ok.ok, true);
  const bad = makeReport('doctor smtp', 'mx.example.test', [
    { title: 'port 25 (STARTTLS)', checks: [check('connect', 'fail', 'timed out', { hint: 'blocked' }), check('x', 'warn', 'careful'), check('y', 'info', 'fyi')] },
  ], 'use 587');
  assert.equal(bad.ok, false);
  assert.equal(renderText(bad), [
    'smarthost doctor smtp mx.example.test', '', 'port 25 (STARTTLS)', '  ✖ timed out', '    → blocked', '  ! careful', '  · fyi',
    '', 'recommended: use 587', '', '✖ 1 failed, 1 warning(s), 0 passed', '',
  ].join('\n'));
});
