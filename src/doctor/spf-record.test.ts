import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandMacros, parseSpf } from './spf-record.ts';

test('parseSpf: mechanisms with qualifiers, prefix lengths and modifiers', () => {
  const r = parseSpf('v=spf1 +a/24//64 -mx:mail.example.org ~ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.net ?exists:%{i}.x.test redirect=other.test exp=why.test unknown=ignored');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.mechanisms.map((m) => [m.qualifier, m.name, m.value, m.cidr4, m.cidr6]), [
    ['+', 'a', undefined, 24, 64],
    ['-', 'mx', 'mail.example.org', undefined, undefined],
    ['~', 'ip4', '192.0.2.0', 24, undefined],
    ['+', 'ip6', '2001:db8::', undefined, 32],
    ['+', 'include', '_spf.example.net', undefined, undefined],
    ['?', 'exists', '%{i}.x.test', undefined, undefined],
  ]);
  assert.equal(r.redirect, 'other.test');
});

test('parseSpf: errors that make a record a permerror', () => {
  assert.deepEqual(parseSpf('v=spf1 ip4:300.1.1.1 ip4:10.0.0.0/33 foo include: all:x redirect=a redirect=b').errors, [
    'bad ip4 network "ip4:300.1.1.1"',
    'bad ip4 network "ip4:10.0.0.0/33"',
    'unknown term "foo"',
    'include needs a value in "include:"',
    '"all" takes no value: "all:x"',
    'redirect= appears twice',
  ]);
});

test('expandMacros: the examples of RFC 7208 §7.4', () => {
  const ctx = { ip: '192.0.2.3', sender: 'strong-bad@email.example.com', domain: 'email.example.com' };
  const cases: [string, string][] = [
    ['%{s}', 'strong-bad@email.example.com'], ['%{o}', 'email.example.com'], ['%{d}', 'email.example.com'],
    ['%{d4}', 'email.example.com'], ['%{d3}', 'email.example.com'], ['%{d2}', 'example.com'], ['%{d1}', 'com'],
    ['%{dr}', 'com.example.email'], ['%{d2r}', 'example.email'], ['%{l}', 'strong-bad'], ['%{l-}', 'strong.bad'],
    ['%{lr}', 'strong-bad'], ['%{lr-}', 'bad.strong'], ['%{l1r-}', 'strong'],
    ['%{ir}.%{v}._spf.%{d2}', '3.2.0.192.in-addr._spf.example.com'], ['%{lr-}.lp._spf.%{d2}', 'bad.strong.lp._spf.example.com'],
    ['%%-%_-%-', '%- -%20'],
  ];
  for (const [spec, want] of cases) assert.equal(expandMacros(spec, ctx), want, spec);
  assert.equal(expandMacros('%{ir}.%{v}._spf.%{d2}', { ...ctx, ip: '2001:db8::cb01' }),
    '1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com');
});
