// Overview: accepted, delivered, deferred and bounced over the last hour, day
// or week as a chart; queue depth; delivery latency; the top failure reasons
// with their explained category. Every number is one indexed store query over
// the window.
import type { FastifyInstance } from 'fastify';
import { explainReply } from '../../doctor/explain.ts';
import type { EventType } from '../../store/store.ts';
import type { DashboardDeps } from '../dashboard.ts';
import { duration, status, STATUSES } from '../format.ts';
import { html } from '../html.ts';
import { page } from '../layout.ts';
import { eventChart, SERIES } from '../views/chart.ts';

const WINDOWS = {
  hour: { label: 'last hour', ms: 3_600_000, bucketMs: 5 * 60_000 },
  day: { label: 'last day', ms: 86_400_000, bucketMs: 3_600_000 },
  week: { label: 'last week', ms: 7 * 86_400_000, bucketMs: 6 * 3_600_000 },
} as const;
type WindowName = keyof typeof WINDOWS;

export function overviewRoutes(app: FastifyInstance, { store }: DashboardDeps): void {
  app.get<{ Querystring: { window?: string } }>('/', { config: { access: 'page' } }, async (req, reply) => {
    const name: WindowName = (req.query.window ?? '') in WINDOWS ? (req.query.window as WindowName) : 'day';
    const w = WINDOWS[name];
    const now = Date.now();
    // Whole buckets, so the first bar is not a sliver.
    const since = Math.floor((now - w.ms) / w.bucketMs) * w.bucketMs + w.bucketMs;
    const types = SERIES.map((s) => s.type) as EventType[];
    const [buckets, depth, latency, reasons] = await Promise.all([
      store.countEvents({ since, bucketMs: w.bucketMs, types }), store.countByStatus(), store.deliveryLatency(since), store.topFailureReasons(since, 8),
    ]);
    const totals = Object.fromEntries(SERIES.map((s) => [s.type, buckets.filter((b) => b.type === s.type).reduce((n, b) => n + b.count, 0)]));
    const body = html`<h1>Overview</h1>
<nav class="tabs" aria-label="Time window">${(Object.keys(WINDOWS) as WindowName[]).map((k) =>
  html`<a href="/ui/?window=${k}" ${k === name ? html`aria-current="page"` : ''}>${WINDOWS[k].label}</a>`)}</nav>
<section aria-labelledby="totals-h"><h2 id="totals-h">Recipients, ${w.label}</h2>
<ul class="totals">${SERIES.map((s) => html`<li class="total series-${s.type}"><span class="n">${totals[s.type]}</span> ${s.label}</li>`)}</ul>
${eventChart(buckets, since, now, w.bucketMs)}
</section>
<div class="grid">
<section class="card" aria-labelledby="depth-h"><h2 id="depth-h">Queue by status</h2>
<table><tbody>${STATUSES.map((s) => html`<tr><th scope="row">${status(s)}</th><td class="num">${depth[s] ?? 0}</td></tr>`)}</tbody></table></section>
<section class="card" aria-labelledby="lat-h"><h2 id="lat-h">Delivery latency, ${w.label}</h2>
<dl class="facts"><dt>Median (p50)</dt><dd>${duration(latency.p50)}</dd><dt>95th percentile</dt><dd>${duration(latency.p95)}</dd>
<dt>Deliveries</dt><dd>${latency.count}</dd></dl></section>
</div>
<section aria-labelledby="why-h"><h2 id="why-h">Top reasons for deferrals and bounces, ${w.label}</h2>
${reasons.length === 0 ? html`<p class="empty">No deferrals or bounces in this window.</p>` : html`<div class="table-wrap"><table>
<thead><tr><th scope="col">Count</th><th scope="col">Outcome</th><th scope="col">Category</th><th scope="col">Reply</th><th scope="col">What it means · what to do</th></tr></thead><tbody>
${reasons.map((r) => {
  const e = r.reply && explainReply(r.reply);
  return html`<tr><td class="num">${r.count}</td><td>${status(r.type)}</td><td><span class="category">${r.category ?? e?.category ?? 'other'}</span></td>
<td class="mono small">${r.reply ? `${r.reply.code} ${r.reply.enhanced} ${r.reply.text}` : 'no reply (connection or DNS failure)'}</td>
<td>${e ? html`${e.meaning}. <em>${e.remedy}.</em>` : 'See the message timeline for the error.'}</td></tr>`;
})}</tbody></table></div>`}
</section>`;
    return reply.type('text/html; charset=utf-8').send(page({ title: 'Overview', section: 'overview', session: req.adminSession, body }));
  });
}
