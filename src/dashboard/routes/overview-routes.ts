// Overview: accepted, delivered, deferred and bounced over the last hour, day
// or week as a chart; queue depth; delivery latency; the top failure reasons
// with their explained category. Every number comes from the stats service
// behind GET /stats (admin/stats.ts), so the dashboard and the API agree.
// Then each route's health (admin/route-health.ts), with a "Check now" that
// runs the routes' own checks.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkAllRoutes, routingHealth } from '../../admin/route-health.ts';
import { overview, STATS_WINDOWS, type StatsWindow } from '../../admin/stats.ts';
import type { RouteCheck } from '../../delivery/outcome.ts';
import type { DashboardDeps } from '../dashboard.ts';
import { duration, status, STATUSES } from '../format.ts';
import { html } from '../html.ts';
import { page } from '../layout.ts';
import { eventChart, SERIES } from '../views/chart.ts';
import { routeHealthPanel } from '../views/route-health.ts';

const LABELS: Record<StatsWindow, string> = { hour: 'last hour', day: 'last day', week: 'last week' };

const windowName = (w: unknown): StatsWindow => (typeof w === 'string' && w in STATS_WINDOWS ? (w as StatsWindow) : 'day');

export function overviewRoutes(app: FastifyInstance, deps: DashboardDeps): void {
  app.get<{ Querystring: { window?: string } }>('/', { config: { access: 'page' } }, async (req, reply) =>
    reply.type('text/html; charset=utf-8').send(await overviewPage(deps, req, windowName(req.query.window))));

  // Runs every route's check (seconds at most: each is bounded by SMARTHOST_ROUTE_PROBE_TIMEOUT) and shows the
  // results in the panel; htmx swaps in the panel alone, a plain form post gets the whole page.
  const { routing } = deps;
  if (!routing) return;
  app.post<{ Body: { window?: string } }>('/routes/check', { config: { access: 'data' } }, async (req, reply) => {
    const checks = await checkAllRoutes(routing);
    const window = windowName(req.body?.window);
    const body = req.headers['hx-request']
      ? routeHealthPanel(await routingHealth(deps.store, routing), req.adminSession, window, checks).value
      : await overviewPage(deps, req, window, checks);
    return reply.type('text/html; charset=utf-8').send(body);
  });
}

async function overviewPage({ store, routing }: DashboardDeps, req: FastifyRequest, name: StatsWindow, checks?: { name: string; check: RouteCheck }[]): Promise<string> {
  const label = LABELS[name];
  const [o, health] = await Promise.all([overview(store, name), routing && routingHealth(store, routing)]);
  const totals = Object.fromEntries(SERIES.map((s) => [s.key, o.buckets.reduce((n, b) => n + b[s.key], 0)]));
  const body = html`<h1>Overview</h1>
<nav class="tabs" aria-label="Time window">${(Object.keys(STATS_WINDOWS) as StatsWindow[]).map((k) =>
  html`<a href="/ui/?window=${k}" ${k === name ? html`aria-current="page"` : ''}>${LABELS[k]}</a>`)}</nav>
<section aria-labelledby="totals-h"><h2 id="totals-h">Messages accepted and recipients' outcomes, ${label}</h2>
<ul class="totals">${SERIES.map((s) => html`<li class="total series-${s.key}"><span class="n">${totals[s.key]}</span> ${s.label}</li>`)}</ul>
${eventChart(o.buckets, o.bucketMs)}
</section>
<div class="grid">
<section class="card" aria-labelledby="depth-h"><h2 id="depth-h">Queue by status</h2>
<table><tbody>${STATUSES.map((s) => html`<tr><th scope="row">${status(s)}</th><td class="num">${o.queue[s] ?? 0}</td></tr>`)}</tbody></table></section>
<section class="card" aria-labelledby="lat-h"><h2 id="lat-h">Delivery latency, ${label}</h2>
<dl class="facts"><dt>Median (p50)</dt><dd>${duration(o.latency.p50Ms)}</dd><dt>95th percentile</dt><dd>${duration(o.latency.p95Ms)}</dd>
<dt>Deliveries</dt><dd>${o.latency.sample}</dd></dl></section>
</div>
<section aria-labelledby="why-h"><h2 id="why-h">Top reasons for deferrals and bounces, ${label}</h2>
${o.reasons.length === 0 ? html`<p class="empty">No deferrals or bounces in this window.</p>` : html`<div class="table-wrap"><table>
<thead><tr><th scope="col">Count</th><th scope="col">Outcome</th><th scope="col">Category</th><th scope="col">Reply</th><th scope="col">What it means · what to do</th></tr></thead><tbody>
${o.reasons.map((r) => html`<tr><td class="num">${r.count}</td><td>${status(r.type)}</td><td><span class="category">${r.category}</span></td>
<td class="mono small">${r.reply ?? 'no reply (connection or DNS failure)'}</td>
<td>${r.meaning}. <em>${r.remedy}.</em></td></tr>`)}</tbody></table></div>`}
</section>
${health && routeHealthPanel(health, req.adminSession, name, checks)}`;
  return page({ title: 'Overview', section: 'overview', session: req.adminSession, body });
}
