import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuTimes, stealPercent } from './machine.ts';

// Two readings of /proc/stat (Linux proc(5): user nice system idle iowait irq softirq steal guest guest_nice).
const BEFORE = 'cpu  562174 1155 211837 531820 21649 0 29732 31181 0 0\ncpu0 281000 500 105000 266000 10800 0 14800 15600 0 0\nintr 1 2 3\n';
const AFTER = 'cpu  568166 1155 213223 538136 22043 0 30178 31236 0 0\ncpu0 284000 500 106000 269000 11000 0 15000 15620 0 0\n';

test('cpuTimes reads the machine-wide cpu line: the eight counters summed, steal the eighth', () => {
  assert.deepEqual(cpuTimes(BEFORE), { total: 562174 + 1155 + 211837 + 531820 + 21649 + 0 + 29732 + 31181, steal: 31181 });
  assert.throws(() => cpuTimes('intr 1 2 3\n'), /no cpu line/);
});

test('stealPercent is the stolen share of the CPU time between two readings, to a tenth of a per cent', () => {
  const from = cpuTimes(BEFORE);
  const to = cpuTimes(AFTER);
  const expected = Math.round(((31236 - 31181) / (to.total - from.total)) * 1000) / 10;
  assert.equal(stealPercent(from, to), expected);
  assert.equal(expected, 0.4);
  assert.equal(stealPercent(to, to), 0);
  assert.equal(stealPercent(from, cpuTimes(AFTER.replace('31236', '31181'))), 0);
});
