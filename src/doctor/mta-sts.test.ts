import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mxMatches, parsePolicy } from './mta-sts.ts';

test('parsePolicy: RFC 8461 §3.2 fields and what makes a policy invalid', () => {
  assert.deepEqual(parsePolicy('version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmx: *.example.test\r\nmax_age: 604800\r\n'),
    { version: 'STSv1', mode: 'enforce', mx: ['mx1.example.test', '*.example.test'], maxAge: 604800, errors: [] });
  assert.deepEqual(parsePolicy('version: STSv2\nmode: strict\nmax_age: 99999999999\n').errors, [
    'version is STSv2, not STSv1', 'mode is strict, not enforce, testing or none', 'max_age is missing or not 0-31557600', 'no mx: line',
  ]);
  assert.deepEqual(parsePolicy('version: STSv1\nmode: none\nmax_age: 1\n').errors, []);
});

test('mxMatches: a wildcard covers exactly one leftmost label (RFC 8461 §4.1)', () => {
  assert.equal(mxMatches('mx1.example.test', 'mx1.example.test'), true);
  assert.equal(mxMatches('MX1.Example.Test.', 'mx1.example.test'), true);
  assert.equal(mxMatches('mx1.example.test', '*.example.test'), true);
  assert.equal(mxMatches('a.mx1.example.test', '*.example.test'), false);
  assert.equal(mxMatches('example.test', '*.example.test'), false);
});
