// Suppressions: the list with search and pages, add, remove, CSV export — the
// same store calls as /suppressions in the API and `smarthost suppressions`.
import type { FastifyInstance } from 'fastify';
import { parseSingleAddress } from '../../ingress/http/email-input.ts';
import type { Suppression } from '../../store/store.ts';
import type { DashboardDeps } from '../dashboard.ts';
import { time } from '../format.ts';
import { html } from '../html.ts';
import { csrfField, notice, page } from '../layout.ts';

const PAGE_SIZE = 50;
/** Where to go after an action: one of our pages only. */
const safeBack = (back: unknown) => (typeof back === 'string' && /^\/ui\/(?![/\\])/.test(back) ? back : '/ui/suppressions');
const withNotice = (path: string, code: string) => `${path}${path.includes('?') ? '&' : '?'}notice=${code}`;

/** RFC 4180: quote every field, double the quotes; a leading =+-@ is prefixed so a spreadsheet does not run it as a formula. */
const csvField = (v: string) => `"${(/^[=+\-@\t\r]/.test(v) ? `'${v}` : v).replace(/"/g, '""')}"`;

export function suppressionRoutes(app: FastifyInstance, { store }: DashboardDeps): void {
  app.get<{ Querystring: { q?: string; after?: string; notice?: string } }>('/suppressions', { config: { access: 'page' } }, async (req, reply) => {
    const q = (req.query.q ?? '').trim().slice(0, 320);
    const list = await store.listSuppressions({ search: q || undefined, after: req.query.after || undefined, limit: PAGE_SIZE + 1 });
    const shown = list.slice(0, PAGE_SIZE);
    const next = list.length > PAGE_SIZE ? shown[shown.length - 1]!.address : undefined;
    const session = req.adminSession;
    const body = html`<h1>Suppressions</h1>
<p class="hint">Nothing is sent to these addresses. Hard bounces add them automatically.</p>
${notice(req.query.notice)}
<section aria-labelledby="add-h" class="card"><h2 id="add-h">Suppress an address</h2>
<form method="post" action="/ui/suppressions" class="row">
  ${csrfField(session)}
  <div><label for="s-address">Address</label><input id="s-address" name="address" type="email" required placeholder="user@example.org"></div>
  <div><label for="s-reason">Reason</label><input id="s-reason" name="reason" type="text" maxlength="200" placeholder="asked to stop"></div>
  <div class="actions"><button type="submit">Suppress</button></div>
</form></section>
<form method="get" action="/ui/suppressions" class="row" role="search">
  <div><label for="s-q">Search</label><input id="s-q" name="q" type="search" value="${q}" placeholder="part of an address"></div>
  <div class="actions"><button type="submit">Search</button> <a class="button secondary" href="/ui/suppressions.csv${q ? `?q=${encodeURIComponent(q)}` : ''}" download>Export CSV</a></div>
</form>
<div class="table-wrap"><table class="suppressions">
<thead><tr><th scope="col">Address</th><th scope="col">Reason</th><th scope="col">Since</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>
${shown.length === 0 ? html`<tr><td colspan="4" class="empty">${q ? 'No suppressed address matches this search.' : 'No address is suppressed.'}</td></tr>` : ''}
${shown.map((s) => html`<tr data-address="${s.address}"><td class="addr">${s.address}</td><td>${s.reason}</td><td>${time(s.createdAt)}</td>
<td><form method="post" action="/ui/suppressions/remove" class="inline">${csrfField(session)}<input type="hidden" name="address" value="${s.address}">
<button type="submit" class="secondary">Remove <span class="visually-hidden">${s.address}</span></button></form></td></tr>`)}
</tbody></table></div>
${next && html`<p><a href="/ui/suppressions?${new URLSearchParams({ q, after: next }).toString()}">Next page →</a></p>`}`;
    return reply.type('text/html; charset=utf-8').send(page({ title: 'Suppressions', section: 'suppressions', session, body }));
  });

  app.post<{ Body: { address?: string; reason?: string; back?: string } }>('/suppressions', { config: { access: 'data' } }, async (req, reply) => {
    // Throws a validation ApiError in plain words ("address: invalid email address …") for the error page.
    const { address } = parseSingleAddress('address', String(req.body?.address ?? ''));
    const reason = String(req.body?.reason ?? '').trim().slice(0, 200) || 'added from the dashboard';
    await store.addSuppression({ address, reason, createdAt: Date.now() });
    return reply.redirect(withNotice(safeBack(req.body?.back), 'suppressed'), 303);
  });

  app.post<{ Body: { address?: string; back?: string } }>('/suppressions/remove', { config: { access: 'data' } }, async (req, reply) => {
    const removed = await store.removeSuppression(String(req.body?.address ?? ''));
    return reply.redirect(withNotice(safeBack(req.body?.back), removed ? 'unsuppressed' : 'not-suppressed'), 303);
  });

  app.get<{ Querystring: { q?: string } }>('/suppressions.csv', { config: { access: 'data' } }, async (req, reply) => {
    const q = (req.query.q ?? '').trim().slice(0, 320);
    const rows: Suppression[] = await store.listSuppressions({ search: q || undefined });
    const csv = ['address,reason,created_at', ...rows.map((s) => [s.address, s.reason, new Date(s.createdAt).toISOString()].map(csvField).join(','))];
    return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="suppressions.csv"').send(`${csv.join('\r\n')}\r\n`);
  });
}
