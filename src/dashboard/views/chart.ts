// The overview's chart as inline SVG drawn on the server: one group of bars per
// time bucket, one bar per outcome. Colours come from app.css (light and dark).
import type { EventBucket, EventType } from '../../store/store.ts';
import { html, type Html } from '../html.ts';

export const SERIES: { type: EventType; label: string }[] = [
  { type: 'queued', label: 'accepted' },
  { type: 'delivered', label: 'delivered' },
  { type: 'deferred', label: 'deferred' },
  { type: 'bounced', label: 'bounced' },
];

const W = 720;
const H = 200;
const PAD = 24;

export function eventChart(buckets: EventBucket[], since: number, now: number, bucketMs: number): Html {
  const starts: number[] = [];
  for (let t = since; t <= now; t += bucketMs) starts.push(t);
  const count = (start: number, type: EventType) => buckets.find((b) => b.start === start && b.type === type)?.count ?? 0;
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const groupW = (W - PAD) / Math.max(1, starts.length);
  const barW = Math.max(1, (groupW - 2) / SERIES.length);
  const bars = starts.flatMap((start, i) => SERIES.map((s, j) => {
    const n = count(start, s.type);
    if (n === 0) return [];
    const h = Math.round((n / max) * (H - PAD));
    return html`<rect class="bar series-${s.type}" x="${(PAD + i * groupW + j * barW).toFixed(1)}" y="${H - PAD - h}" width="${barW.toFixed(1)}" height="${h}"><title>${n} ${s.label}, ${new Date(start).toISOString().slice(0, 16).replace('T', ' ')} UTC</title></rect>`;
  }));
  return html`<figure class="chart">
<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="Recipients per ${bucketMs >= 3_600_000 ? `${bucketMs / 3_600_000} h` : `${bucketMs / 60_000} min`}: accepted, delivered, deferred and bounced">
<line class="axis" x1="${PAD}" y1="${H - PAD}" x2="${W}" y2="${H - PAD}"/>
<text class="axis-label" x="0" y="12">${max}</text><text class="axis-label" x="0" y="${H - PAD}">0</text>
${bars}
</svg>
<figcaption>${SERIES.map((s) => html`<span class="legend series-${s.type}">${s.label}</span> `)}</figcaption>
</figure>`;
}
