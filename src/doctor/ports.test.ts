import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PORTS, parsePorts } from './ports.ts';

test('parsePorts: 465 is implicit TLS, others STARTTLS, unless named', () => {
  assert.deepEqual(parsePorts(DEFAULT_PORTS).map((p) => `${p.port}:${p.mode}:${p.explicitMode}`),
    ['25:starttls:false', '465:implicit:false', '587:starttls:false', '2525:starttls:false']);
  assert.deepEqual(parsePorts('1465:tls, 2587:STARTTLS 465:starttls').map((p) => `${p.port}:${p.mode}:${p.explicitMode}`),
    ['1465:implicit:true', '2587:starttls:true', '465:starttls:true']);
  assert.throws(() => parsePorts('587,smtp'), /not a port: smtp/);
  assert.throws(() => parsePorts('70000'), /not a port: 70000/);
});
