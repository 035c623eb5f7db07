// The overview's route health panel: the routing table, auto's choice, each
// route's last delivery and last failure explained, and the results of
// "Check now" when it was pressed.
import type { RoutingHealth } from '../../admin/route-health.ts';
import type { RouteCheck } from '../../delivery/outcome.ts';
import type { AdminSession } from '../../store/store.ts';
import { status, time } from '../format.ts';
import { html, type Html } from '../html.ts';
import { csrfField } from '../layout.ts';

/** `window`: the overview's time window, kept when a plain form post re-renders the whole page. */
export function routeHealthPanel(h: RoutingHealth, session: AdminSession | undefined, window: string, checks?: { name: string; check: RouteCheck }[]): Html {
  const checkOf = (name: string) => checks?.find((c) => c.name === name)?.check;
  return html`<section id="route-health" aria-labelledby="routes-h"><h2 id="routes-h">Route health</h2>
<ul class="facts small">${h.table.map((line) => html`<li class="mono">${line}</li>`)}</ul>
${h.auto && html`<p class="auto-route" role="status"><strong>Auto route:</strong> ${h.auto}</p>`}
<div class="table-wrap"><table class="routes">
<thead><tr><th scope="col">Route</th><th scope="col">Last delivered</th><th scope="col">Last failure</th>${checks && html`<th scope="col">Check now</th>`}</tr></thead>
<tbody>${h.routes.map((r) => {
  const f = r.lastFailure;
  const c = checkOf(r.name);
  return html`<tr data-route="${r.name}"><th scope="row">${r.name}<div class="small">${r.describe}</div></th>
<td class="last-delivered">${r.lastDelivered ? time(r.lastDelivered.at) : html`<span class="empty">never</span>`}</td>
<td class="last-failure">${f ? html`${time(f.at)} ${f.type === 'attempt' ? html`<span class="status status-deferred">failed over</span>` : status(f.type)}
<span class="category">${f.category}</span><div class="mono small">${f.reply ?? 'no reply (connection or DNS failure)'}</div>
<div>${f.meaning}. <em>${f.remedy}.</em></div>` : html`<span class="empty">none</span>`}</td>
${checks && html`<td class="check">${c ? html`<span class="status status-${c.ok ? 'delivered' : 'bounced'}">${c.ok ? 'works' : 'fails'}</span> ${c.detail}` : ''}</td>`}</tr>`;
})}</tbody></table></div>
<form method="post" action="/ui/routes/check" hx-post="/ui/routes/check" hx-target="#route-health" hx-swap="outerHTML" class="row">
${csrfField(session)}<input type="hidden" name="window" value="${window}"><div class="actions"><button type="submit">Check now</button></div>
<p class="hint">Connects to each route without sending mail (port 25 to a well-known MX, the relay's login, each provider's API key) — the check <code>smarthost routes</code> and <code>doctor</code> run.</p>
</form></section>`;
}
