import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chartSvg, ratio, rowsTable, type Row } from './report.ts';
import { lastMessageCount } from './smtp-sink.ts';

const rows: Row[] = [
  { scenario: '2. end to end 4 KiB c=20', metric: 'until the sink has all', unit: 'msg/s', smarthost: 300, postfix: 600, better: 'higher' },
  { scenario: '1. accept 4 KiB c=20', metric: 'p99 MAIL→250', unit: 'ms', smarthost: 12, postfix: 8, better: 'lower' },
  { scenario: '3. STARTTLS+AUTH', metric: 'msgs', unit: 'msg/s', smarthost: 200, better: 'higher', note: 'INCOMPLETE: 1 failed' },
];

test('ratio is smarthost over Postfix, undefined without a Postfix figure', () => {
  assert.equal(ratio(rows[0]!), 0.5);
  assert.equal(ratio(rows[1]!), 1.5);
  assert.equal(ratio(rows[2]!), undefined);
});

test('rowsTable: one line per figure, the ratio, a dash where Postfix was not measured, the note', () => {
  const lines = rowsTable(rows).split('\n');
  assert.equal(lines.length, 2 + rows.length);
  assert.match(lines[0]!, /\| +scenario \| +figure \| smarthost \| Postfix \| smarthost\/Postfix \| +note \|/);
  assert.match(lines[2]!, /\| +300 \| +600 \| +0\.5 \| +\|$/);
  assert.match(lines[4]!, /\| +200 \| +— \| +— \| INCOMPLETE: 1 failed \|$/);
});

test('chartSvg: throughput and p99 panels with one bar per measured value, text escaped', () => {
  const svg = chartSvg(rows, 'a < b');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(svg.includes('a &lt; b'));
  assert.equal((svg.match(/<rect x="430"/g) ?? []).length, 5, '2 + 2 + 1 bars');
  assert.ok(svg.includes('>600</text>') && svg.includes('>12</text>'));
});

test('lastMessageCount reads the last mesg= counter of smtp-sink -c output', () => {
  assert.equal(lastMessageCount('sess=0 quit=0 mesg=181\rsess=0 quit=0 mesg=182\r'), 182);
  assert.equal(lastMessageCount('sess=1 quit=1 mesg=0'), 0);
  assert.equal(lastMessageCount(''), undefined);
});
