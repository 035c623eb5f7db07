// The Webhooks screen: each endpoint with its health (failing ones stand out)
// and its recent deliveries, replay, secret rotation, delete, and the add form.
import { FAILING_AFTER, type WebhookHealth } from '../../webhooks/manage.ts';
import { WEBHOOK_EVENTS, type AdminSession, type WebhookDeliveryRecord } from '../../store/store.ts';
import { time } from '../format.ts';
import { html, type Html } from '../html.ts';
import { csrfField, errorBox } from '../layout.ts';

export interface Endpoint {
  health: WebhookHealth;
  deliveries: WebhookDeliveryRecord[];
}

function deliveryRow(w: WebhookHealth, d: WebhookDeliveryRecord, session: AdminSession | undefined): Html {
  return html`<tr data-delivery-id="${d.id}"><td>${time(d.createdAt)}</td><td><span class="mono nowrap">email.${d.eventType}</span></td>
<td><a class="mono" href="/ui/messages/${d.messageId}">${d.messageId}</a>${d.recipient && html`<div class="small addr">${d.recipient}</div>`}</td>
<td><span class="status status-${d.status}">${d.status}</span></td><td class="num">${d.lastStatus ?? '–'}</td><td class="reply">${d.lastError ?? ''}</td>
<td class="num">${d.attempts}</td><td>${d.lastAttemptAt ? time(d.lastAttemptAt) : html`<span class="small">not yet</span>`}</td>
<td><form method="post" action="/ui/webhooks/${w.id}/deliveries/${d.id}/replay" class="inline">${csrfField(session)}<button type="submit" class="secondary">Replay <span class="visually-hidden">delivery ${d.id}</span></button></form></td></tr>`;
}

function endpoint({ health: w, deliveries }: Endpoint, session: AdminSession | undefined): Html {
  return html`<article class="card${w.failing ? ' failing' : ''}" data-webhook-id="${w.id}" aria-labelledby="wh-${w.id}">
<h2 id="wh-${w.id}" class="mono addr">${w.url}</h2>
${w.failing && html`<p class="failing-flag" role="status">Failing: the last ${w.consecutiveFailures} attempts failed (${FAILING_AFTER} in a row count as failing)${w.lastError && html`. Last error: ${w.lastError}`}. Fix the receiver, then replay what failed.</p>`}
<dl class="facts">
  <dt>Events</dt><dd class="mono">${w.events.map((e) => `email.${e}`).join(', ')}</dd>
  <dt>Deliveries</dt><dd>${w.delivered} delivered, ${w.pending} pending, ${w.failed} failed</dd>
  <dt>Last success</dt><dd>${w.lastSuccessAt ? time(w.lastSuccessAt) : html`<span class="small">none recently</span>`}</dd>
  <dt>Created</dt><dd>${time(w.createdAt)} <span class="small mono">${w.id}</span></dd>
</dl>
<div class="actions-bar">
<form method="post" action="/ui/webhooks/${w.id}/rotate-secret" class="inline" data-confirm="Rotate the signing secret? The receiver must verify with the new one from now on.">${csrfField(session)}<button type="submit" class="secondary">Rotate signing secret</button></form>
<form method="post" action="/ui/webhooks/${w.id}/delete" class="inline" data-confirm="Delete this endpoint? Nothing more is sent to it.">${csrfField(session)}<button type="submit" class="danger">Delete endpoint</button></form>
</div>
<h3>Recent deliveries</h3>
<div class="table-wrap"><table class="deliveries" aria-label="Recent deliveries to ${w.url}">
<thead><tr><th scope="col">Created</th><th scope="col">Event</th><th scope="col">Message</th><th scope="col">Status</th><th scope="col">Response</th>
<th scope="col">Error</th><th scope="col">Attempts</th><th scope="col">Last attempt</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>${deliveries.length === 0 ? html`<tr><td colspan="9" class="empty">Nothing sent to this endpoint yet.</td></tr>` : deliveries.map((d) => deliveryRow(w, d, session))}</tbody>
</table></div>
</article>`;
}

export interface WebhooksPage {
  endpoints: Endpoint[];
  session: AdminSession | undefined;
  notice?: Html;
  secret?: Html;
  form?: { url: string; events: string[]; error?: string };
}

export function webhooksPage({ endpoints, session, notice, secret, form }: WebhooksPage): Html {
  const f = form ?? { url: '', events: [] };
  return html`<h1>Webhooks</h1>
<p class="hint">smarthost POSTs each event to these endpoints, signed with the endpoint's secret (Standard Webhooks), and retries what fails.</p>
${notice}${secret}
${endpoints.length === 0 ? html`<p class="empty">No endpoint yet: add one below.</p>` : endpoints.map((e) => endpoint(e, session))}
<section aria-labelledby="add-wh-h" class="card"><h2 id="add-wh-h">Add an endpoint</h2>
${errorBox(f.error)}
<form method="post" action="/ui/webhooks">
  ${csrfField(session)}
  <div class="row"><div class="grow"><label for="wh-url">URL</label><input id="wh-url" name="url" type="url" required value="${f.url}" placeholder="https://app.example.com/hooks/mail"></div></div>
  <fieldset class="row"><legend>Events (none ticked: all)</legend>
  ${WEBHOOK_EVENTS.map((e) => html`<div class="actions"><input id="wh-ev-${e}" name="events" type="checkbox" value="${e}" ${f.events.includes(e) && html`checked`}><label for="wh-ev-${e}">email.${e}</label></div>`)}
  </fieldset>
  <div class="actions"><button type="submit">Add endpoint</button></div>
</form></section>`;
}
