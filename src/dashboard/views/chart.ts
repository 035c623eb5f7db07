// The overview's chart as inline SVG drawn on the server: one group of bars per
// time bucket of the stats service (admin/stats.ts), one bar per outcome.
// Colours come from app.css (light and dark).
import type { Overview } from '../../admin/stats.ts';
import { html, type Html } from '../html.ts';

export type Series = 'accepted' | 'delivered' | 'deferred' | 'bounced';

export const SERIES: { key: Series; label: string }[] = [
  { key: 'accepted', label: 'accepted' },
  { key: 'delivered', label: 'delivered' },
  { key: 'deferred', label: 'deferred' },
  { key: 'bounced', label: 'bounced' },
];

const W = 720;
const H = 200;
const PAD = 24;

export function eventChart(buckets: Overview['buckets'], bucketMs: number): Html {
  const max = Math.max(1, ...buckets.flatMap((b) => SERIES.map((s) => b[s.key])));
  const groupW = (W - PAD) / Math.max(1, buckets.length);
  const barW = Math.max(1, (groupW - 2) / SERIES.length);
  const bars = buckets.flatMap((b, i) => SERIES.map((s, j) => {
    const n = b[s.key];
    if (n === 0) return [];
    const h = Math.round((n / max) * (H - PAD));
    return html`<rect class="bar series-${s.key}" x="${(PAD + i * groupW + j * barW).toFixed(1)}" y="${H - PAD - h}" width="${barW.toFixed(1)}" height="${h}"><title>${n} ${s.label}, ${new Date(b.start).toISOString().slice(0, 16).replace('T', ' ')} UTC</title></rect>`;
  }));
  return html`<figure class="chart">
<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="Per ${bucketMs >= 3_600_000 ? `${bucketMs / 3_600_000} h` : `${bucketMs / 60_000} min`}: messages accepted; recipients delivered, deferred and bounced">
<line class="axis" x1="${PAD}" y1="${H - PAD}" x2="${W}" y2="${H - PAD}"/>
<text class="axis-label" x="0" y="12">${max}</text><text class="axis-label" x="0" y="${H - PAD}">0</text>
${bars}
</svg>
<figcaption>${SERIES.map((s) => html`<span class="legend series-${s.key}">${s.label}</span> `)}</figcaption>
</figure>`;
}
