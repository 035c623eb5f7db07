import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDnsServer } from '../../test/helpers/dns-server.ts';
import { createResolver } from '../delivery/transports/mx/resolve.ts';
import { analyseSpf, checkHost, SpfLookup } from './spf.ts';

test('checkHost evaluates SPF like a receiver (RFC 7208 §4–§6)', async (t) => {
  const dns = await startDnsServer({
    'example.test': { txt: ['v=spf1 a mx/30 include:provider.test exists:%{i}.allow.example.test ip6:2001:db8::/32 ~all'], a: ['192.0.2.1'], mx: [{ exchange: 'mx.example.test', priority: 10 }] },
    'mx.example.test': { a: ['198.51.100.9'] },
    'provider.test': { txt: ['v=spf1 ip4:203.0.113.0/24 -all'] },
    '192.0.2.77.allow.example.test': { a: ['127.0.0.2'] },
    'redirected.test': { txt: ['v=spf1 redirect=example.test'] },
    'dangling.test': { txt: ['v=spf1 include:missing.test -all'] },
    'voids.test': { txt: ['v=spf1 a:n1.voids.test a:n2.voids.test a:n3.voids.test -all'] },
    'after-all.test': { txt: ['v=spf1 -all include:a.test include:b.test redirect=c.test'] },
    'servfail.test': { servfail: true },
  }, t);
  const lookup = new SpfLookup(createResolver([dns.server], 1000));
  const cases: [string, string, string][] = [
    ['192.0.2.1', 'example.test', 'pass'], // a
    ['198.51.100.10', 'example.test', 'pass'], // mx with /30
    ['203.0.113.50', 'example.test', 'pass'], // include
    ['192.0.2.77', 'example.test', 'pass'], // exists with a macro
    ['2001:db8::1', 'example.test', 'pass'], // ip6
    ['192.0.2.99', 'example.test', 'softfail'], // ~all
    ['203.0.113.50', 'redirected.test', 'pass'],
    ['192.0.2.99', 'dangling.test', 'permerror'], // include without a record (§5.2)
    ['192.0.2.99', 'voids.test', 'permerror'], // three void lookups (§4.6.4)
    ['192.0.2.99', 'nothing.test', 'none'],
    ['192.0.2.99', 'servfail.test', 'temperror'],
  ];
  for (const [ip, domain, want] of cases) assert.equal(await checkHost(ip, domain, lookup), want, `${ip} ${domain}`);

  const a = await analyseSpf('example.test', lookup);
  assert.deepEqual({ lookups: a.lookups, includes: a.includes, errors: a.errors }, { lookups: 4, includes: ['provider.test'], errors: [] });
  // Nothing after "all" is evaluated, and redirect= is ignored beside it (§6.1).
  assert.equal((await analyseSpf('after-all.test', lookup)).lookups, 0);
  assert.deepEqual((await analyseSpf('dangling.test', lookup)).errors, ['missing.test (included from dangling.test) has no SPF record']);
});
