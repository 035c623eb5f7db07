import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDnsServer } from '../../../../test/helpers/dns-server.ts';
import { createResolver, resolveMx } from './resolve.ts';

const zone = {
  'example.org': {
    mx: [
      { exchange: 'mx-backup.example.org', priority: 20 },
      { exchange: 'mx-a.example.org', priority: 10 },
      { exchange: 'mx-b.example.org', priority: 10 },
    ],
  },
  'mx-a.example.org': { a: ['127.0.0.2'], aaaa: ['::1'] },
  'mx-b.example.org': { a: ['127.0.0.3'] },
  'mx-backup.example.org': { a: ['127.0.0.4'] },
  'implicit.test': { a: ['127.0.0.5'] },
  'nullmx.test': { mx: [{ exchange: '', priority: 0 }] },
  'empty.test': { txt: ['v=spf1 -all'] },
  'dangling.test': { mx: [{ exchange: 'gone.dangling.test', priority: 10 }] },
  'fail.test': { servfail: true },
  'mxfail.test': { mx: [{ exchange: 'fail.test', priority: 10 }] },
};

test('resolveMx', async (t) => {
  const dns = await startDnsServer(zone, t);
  const resolver = createResolver([dns.server], 1000);

  await t.test('orders by preference, shuffles equal ones, A before AAAA', async () => {
    const seenFirst = new Set<string>();
    for (let i = 0; i < 30 && seenFirst.size < 2; i++) {
      const r = await resolveMx('example.org', resolver);
      assert.equal(r.kind, 'hosts');
      if (r.kind !== 'hosts') return;
      const names = r.hosts.map((h) => h.name);
      assert.deepEqual([...names.slice(0, 2)].sort(), ['mx-a.example.org', 'mx-b.example.org']);
      assert.equal(names[2], 'mx-backup.example.org');
      assert.deepEqual(r.hosts.find((h) => h.name === 'mx-a.example.org')?.addresses, ['127.0.0.2', '::1']);
      seenFirst.add(names[0]!);
    }
    assert.equal(seenFirst.size, 2, 'equal-preference MX hosts are randomized (RFC 5321 §5.1)');
  });

  await t.test('no MX records → the domain itself (implicit MX)', async () => {
    assert.deepEqual(await resolveMx('implicit.test', resolver), {
      kind: 'hosts',
      hosts: [{ name: 'implicit.test', addresses: ['127.0.0.5'] }],
    });
  });

  await t.test('null MX → permanent 556 5.1.10 (RFC 7505)', async () => {
    assert.deepEqual(await resolveMx('nullmx.test', resolver), {
      kind: 'permanent',
      reply: { code: 556, enhanced: '5.1.10', text: 'Recipient domain does not accept mail (null MX)' },
    });
  });

  await t.test('NXDOMAIN → permanent 550 5.1.2', async () => {
    const r = await resolveMx('nowhere.test', resolver);
    assert.ok(r.kind === 'permanent');
    assert.equal(r.reply.code, 550);
    assert.equal(r.reply.enhanced, '5.1.2');
  });

  await t.test('existing domain without MX or address → permanent 550 5.1.2', async () => {
    const r = await resolveMx('empty.test', resolver);
    assert.ok(r.kind === 'permanent');
    assert.equal(r.reply.enhanced, '5.1.2');
  });

  await t.test('every MX name dangling → permanent 5.4.4', async () => {
    const r = await resolveMx('dangling.test', resolver);
    assert.ok(r.kind === 'permanent');
    assert.equal(r.reply.enhanced, '5.4.4');
  });

  await t.test('SERVFAIL → temporary 451 4.4.3', async () => {
    for (const domain of ['fail.test', 'mxfail.test']) {
      const r = await resolveMx(domain, resolver);
      assert.ok(r.kind === 'temporary', domain);
      assert.equal(r.reply.code, 451);
      assert.equal(r.reply.enhanced, '4.4.3');
    }
  });

  await t.test('domain literal goes straight to the address', async () => {
    assert.deepEqual(await resolveMx('[127.0.0.9]', resolver), {
      kind: 'hosts',
      hosts: [{ name: '[127.0.0.9]', addresses: ['127.0.0.9'] }],
    });
    assert.deepEqual(await resolveMx('[IPv6:::1]', resolver), {
      kind: 'hosts',
      hosts: [{ name: '[IPv6:::1]', addresses: ['::1'] }],
    });
  });
});

test('resolveMx: an unreachable DNS server is temporary', async () => {
  // Nothing listens on this UDP port on loopback: ECONNREFUSED or a timeout.
  const dns = await startDnsServer({}, undefined);
  await dns.close();
  const r = await resolveMx('example.org', createResolver([dns.server], 200));
  assert.ok(r.kind === 'temporary');
  assert.equal(r.reply.enhanced, '4.4.3');
});
