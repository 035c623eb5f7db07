// Webhooks: endpoints with their delivery counts (failing ones highlighted),
// recent attempts with status and error, add (the signing secret shown once),
// replay, remove — the same functions as `smarthost webhooks` and /webhooks.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WEBHOOK_EVENTS } from '../../store/store.ts';
import { createWebhook, WebhookInputError } from '../../webhooks/webhooks.ts';
import type { DashboardDeps } from '../dashboard.ts';
import { time } from '../format.ts';
import { html, type Html } from '../html.ts';
import { csrfField, errorBox, notice, page } from '../layout.ts';
import { refuse } from '../refuse.ts';

const ATTEMPTS_SHOWN = 10;
/** Replay: failed events only, or also what was delivered within this window. */
const REPLAY_WINDOWS: Record<string, number | undefined> = { failed: undefined, hour: 3_600_000, day: 86_400_000 };

export function webhookRoutes(app: FastifyInstance, { store, webhookGuard }: DashboardDeps): void {
  async function render(req: FastifyRequest, reply: FastifyReply, status: number, top?: Html): Promise<FastifyReply> {
    const session = req.adminSession;
    const hooks = await store.listWebhooks();
    const attempts = await Promise.all(hooks.map((w) => store.listWebhookAttempts(w.id, ATTEMPTS_SHOWN)));
    const body = html`<h1>Webhooks</h1>
${top}${notice((req.query as { notice?: string }).notice)}
<section class="card" aria-labelledby="add-h"><h2 id="add-h">Add an endpoint</h2>
<form method="post" action="/ui/webhooks" class="row">
  ${csrfField(session)}
  <div><label for="w-url">URL</label><input id="w-url" name="url" type="url" required placeholder="https://app.example.com/hooks/mail"></div>
  <fieldset class="events"><legend>Events</legend>${WEBHOOK_EVENTS.map((e) =>
    html`<label><input type="checkbox" name="events" value="${e}" checked> ${e}</label>`)}</fieldset>
  <div class="actions"><button type="submit">Add endpoint</button></div>
</form></section>
${hooks.length === 0 ? html`<p class="empty">No webhook endpoints yet.</p>` : ''}
${hooks.map((w, i) => {
  const failing = w.failed > 0 || w.lastError !== null;
  return html`<article class="card webhook${failing ? ' failing' : ''}" data-webhook="${w.id}" aria-labelledby="wh-${w.id}">
<h2 id="wh-${w.id}" class="mono">${w.url}</h2>
${failing && html`<p class="error" role="alert">Failing: ${w.failed} event${w.failed === 1 ? '' : 's'} given up${w.lastError ? html`; last error: ${w.lastError}` : ''}. Fix the endpoint, then replay.</p>`}
<dl class="facts"><dt>Id</dt><dd class="mono">${w.id}</dd><dt>Events</dt><dd>${w.events.join(', ')}</dd>
<dt>Deliveries</dt><dd>${w.delivered} delivered, ${w.pending} pending, ${w.failed} failed</dd>
<dt>Last attempt</dt><dd>${w.lastAttemptAt ? time(w.lastAttemptAt) : 'none yet'}</dd></dl>
<div class="actions-bar">
<form method="post" action="/ui/webhooks/${w.id}/replay" class="row">${csrfField(session)}
  <div><label for="replay-${w.id}">Send again</label><select id="replay-${w.id}" name="window">
    <option value="failed">failed events</option><option value="hour">failed, and delivered in the last hour</option><option value="day">failed, and delivered in the last day</option>
  </select></div><div class="actions"><button type="submit" class="secondary">Replay</button></div></form>
<form method="post" action="/ui/webhooks/${w.id}/remove" class="inline" data-confirm="Remove this endpoint and its pending deliveries?">${csrfField(session)}
  <button type="submit" class="danger">Remove</button></form>
</div>
<details><summary>Recent deliveries (${attempts[i]!.length})</summary>
<div class="table-wrap"><table><thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Outcome</th><th scope="col">Response</th></tr></thead><tbody>
${attempts[i]!.map((a) => html`<tr><td>${time(a.at)}</td><td class="mono">${a.eventId}</td><td>${a.outcome}</td><td>${a.status ? `HTTP ${a.status}` : ''}${a.error ? ` ${a.error}` : ''}</td></tr>`)}
</tbody></table></div></details>
</article>`;
})}`;
    return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store')
      .send(page({ title: 'Webhooks', section: 'webhooks', session, body }));
  }

  app.get('/webhooks', { config: { access: 'page' } }, (req, reply) => render(req, reply, 200));

  app.post<{ Body: { url?: string; events?: string | string[] } }>('/webhooks', { config: { access: 'data' } }, async (req, reply) => {
    const events = req.body?.events === undefined ? [] : ([] as string[]).concat(req.body.events);
    if (events.length === 0) return render(req, reply, 422, errorBox('Choose at least one event to send.'));
    try {
      const w = await createWebhook(store, webhookGuard, String(req.body?.url ?? ''), events);
      // The secret exists only in this response (no-store) and in the store, which signs with it.
      return render(req, reply, 201, html`<section class="notice secret" role="status" aria-labelledby="secret-h">
<h2 id="secret-h">Endpoint added</h2><p>Its signing secret (verify the <code>webhook-signature</code> header with it); copy it now, it is not shown again:</p>
<pre><code id="new-secret">${w.secret}</code></pre><button type="button" class="secondary copy" data-copy="new-secret">Copy</button></section>`);
    } catch (err) {
      if (!(err instanceof WebhookInputError)) throw err;
      return render(req, reply, 422, errorBox(`${err.message}. Correct it and add the endpoint again.`));
    }
  });

  app.post<{ Params: { id: string }; Body: { window?: string } }>('/webhooks/:id/replay', { config: { access: 'data' } }, async (req, reply) => {
    if (!(await store.listWebhooks()).some((w) => w.id === req.params.id)) return refuse(reply, 404, 'There is no webhook endpoint with this id.');
    const window = REPLAY_WINDOWS[String(req.body?.window ?? 'failed')];
    const n = await store.replayWebhook(req.params.id, Date.now(), window === undefined ? undefined : Date.now() - window);
    return reply.redirect(`/ui/webhooks?notice=${n ? 'replayed' : 'nothing-to-replay'}`, 303);
  });

  app.post<{ Params: { id: string } }>('/webhooks/:id/remove', { config: { access: 'data' } }, async (req, reply) => {
    if (!(await store.removeWebhook(req.params.id))) return refuse(reply, 404, 'There is no webhook endpoint with this id.');
    return reply.redirect('/ui/webhooks?notice=webhook-removed', 303);
  });
}
