// The benchmark's outputs: one row per figure (smarthost, Postfix where it was
// measured, and their ratio), printed as a Markdown table, and drawn as an SVG
// chart of throughput and p99 latency per scenario (plain SVG text, no browser).
import { markdownTable, round } from './stats.ts';

export interface Row {
  scenario: string;
  metric: string;
  unit: string;
  smarthost: number;
  postfix?: number;
  /** Which way is better, so a reader knows whether a ratio above 1 is a win. */
  better: 'higher' | 'lower';
  note?: string;
}

export const ratio = (r: Row): number | undefined =>
  r.postfix === undefined || !Number.isFinite(r.postfix) || r.postfix === 0 ? undefined : round(r.smarthost / r.postfix, 2);

export function rowsTable(rows: Row[]): string {
  const notes = rows.some((r) => r.note);
  return markdownTable(
    ['scenario', 'figure', 'smarthost', 'Postfix', 'smarthost/Postfix', ...(notes ? ['note'] : [])],
    rows.map((r) => [r.scenario, `${r.metric} (${r.unit}, ${r.better} is better)`, r.smarthost, r.postfix ?? NaN, ratio(r) ?? NaN,
      ...(notes ? [r.note ?? ''] : [])]),
  );
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Two panels of grouped horizontal bars: throughput rows (…/s) and p99 rows (ms). */
export function chartSvg(rows: Row[], title: string): string {
  const panels = [
    { name: 'Throughput (higher is better)', rows: rows.filter((r) => r.unit.endsWith('/s')) },
    { name: 'p99 latency, ms (lower is better)', rows: rows.filter((r) => /p99/.test(r.metric) && r.unit === 'ms') },
  ];
  const width = 980;
  const labelW = 430;
  const barW = width - labelW - 90;
  const rowH = 34;
  const colors = { smarthost: '#2563eb', postfix: '#ea580c' };
  const out: string[] = [];
  let y = 50;
  for (const panel of panels) {
    out.push(`<text x="10" y="${y}" font-size="16" font-weight="bold">${escape(panel.name)}</text>`);
    y += 14;
    const max = Math.max(1e-9, ...panel.rows.flatMap((r) => [r.smarthost, r.postfix ?? 0].filter(Number.isFinite)));
    for (const r of panel.rows) {
      out.push(`<text x="${labelW - 8}" y="${y + 19}" font-size="12" text-anchor="end">${escape(`${r.scenario}: ${r.metric}`)}</text>`);
      const bars: [keyof typeof colors, number | undefined][] = [['smarthost', r.smarthost], ['postfix', r.postfix]];
      bars.forEach(([who, v], i) => {
        if (v === undefined || !Number.isFinite(v)) return;
        const w = Math.max(1, (v / max) * barW);
        const by = y + 4 + i * 13;
        out.push(`<rect x="${labelW}" y="${by}" width="${w.toFixed(1)}" height="12" fill="${colors[who]}"/>`);
        out.push(`<text x="${(labelW + w + 4).toFixed(1)}" y="${by + 10}" font-size="10">${v}</text>`);
      });
      y += rowH;
    }
    y += 24;
  }
  const legend = `<rect x="${width - 220}" y="12" width="12" height="12" fill="${colors.smarthost}"/><text x="${width - 204}" y="22" font-size="12">smarthost</text>` +
    `<rect x="${width - 120}" y="12" width="12" height="12" fill="${colors.postfix}"/><text x="${width - 104}" y="22" font-size="12">Postfix</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">\n` +
    `<rect width="100%" height="100%" fill="white"/>\n<text x="10" y="22" font-size="14">${escape(title)}</text>\n${legend}\n${out.join('\n')}\n</svg>\n`;
}
