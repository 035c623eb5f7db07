// One message: envelope, headers, DKIM state, route, and per recipient a
// timeline of every event with the remote reply explained in plain words.
import { fieldText, fieldValue, type HeaderField } from '../../accept/headers.ts';
import { formatReply } from '../../delivery/smtp-reply.ts';
import { explainReply } from '../../doctor/explain.ts';
import { PENDING, type AdminSession, type MessageSummary, type StoredEvent, type StoredMessage } from '../../store/store.ts';
import { size, status, time } from '../format.ts';
import { html, type Html } from '../html.ts';
import { csrfField } from '../layout.ts';

const EVENT_LABEL: Record<StoredEvent['type'], string> = {
  queued: 'Queued', attempt: 'Attempt', delivered: 'Delivered', deferred: 'Deferred (will retry)', bounced: 'Bounced',
  expired: 'Expired (gave up)', suppressed: 'Suppressed (not sent)', sandboxed: 'Sandboxed (recorded, not sent)',
  dsn: 'Bounce notice sent', retry: 'Retry requested', deleted: 'Deleted', cancelled: 'Cancelled by an operator',
  complained: 'Marked as spam by the recipient',
};

function eventItem(e: StoredEvent): Html {
  const explained = e.reply && (e.type === 'deferred' || e.type === 'bounced' || e.type === 'expired') ? explainReply(e.reply) : undefined;
  return html`<li class="event event-${e.type}">
  <div class="event-head">${status(e.type)} <strong>${EVENT_LABEL[e.type]}</strong>${e.attempt && html` · attempt ${e.attempt}`} · ${time(e.at)}</div>
  ${(e.relay || e.route) && html`<div>via <span class="mono">${e.relay ?? e.route}</span>${e.route && e.relay ? html` (${e.route})` : ''}${
    e.type !== 'queued' && html` · ${e.tls ? html`TLS <span class="mono">${e.tls}</span>` : html`<span class="warn">no TLS</span>`}`}</div>`}
  ${e.reply && html`<div>Reply: <q class="mono reply">${formatReply(e.reply)}</q></div>`}
  ${explained && html`<div class="explain"><span class="category">${e.category ?? explained.category}</span> ${explained.meaning}. <em>What to do:</em> ${explained.remedy}.</div>`}
  ${e.detail && html`<div class="detail">${e.detail}</div>`}
</li>`;
}

/** Each recipient's timeline; with `live`, it refreshes itself when the live stream names this message. */
export function recipientTimelines(m: MessageSummary, events: StoredEvent[], suppressed: Set<string>, session: AdminSession | undefined, live: boolean): Html {
  const general = events.filter((e) => e.recipient === null);
  const refresh = live && html` hx-get="/ui/messages/${m.id}/timelines" hx-trigger="live" hx-swap="outerHTML" data-live-message="${m.id}"`;
  return html`<section id="timelines"${refresh} aria-labelledby="rcpt-h">
<h2 id="rcpt-h">Recipients</h2>
${m.recipients.map((r) => {
  const isSuppressed = suppressed.has(r.address.toLowerCase());
  return html`<article class="recipient" data-recipient="${r.address}">
  <header><h3><span class="addr">${r.address}</span> ${status(r.status)}</h3>
  <p class="meta">${r.attempts} attempt${r.attempts === 1 ? '' : 's'}${r.status === 'deferred' && html` · next try ${time(r.nextAttemptAt)}`}</p>
  <form method="post" action="/ui/suppressions${isSuppressed ? '/remove' : ''}" class="inline">
    ${csrfField(session)}<input type="hidden" name="address" value="${r.address}"><input type="hidden" name="back" value="/ui/messages/${m.id}">
    ${isSuppressed ? '' : html`<input type="hidden" name="reason" value="suppressed from message ${m.id}">`}
    <button type="submit" class="secondary">${isSuppressed ? 'Unsuppress' : 'Suppress'} <span class="visually-hidden">${r.address}</span></button>
  </form></header>
  <ol class="timeline" aria-label="Events for ${r.address}">${events.filter((e) => e.recipient === r.address).map(eventItem)}</ol>
</article>`;
})}
${general.length > 0 && html`<h3>Message events</h3><ol class="timeline">${general.map(eventItem)}</ol>`}
</section>`;
}

/** A field's name as written. */
const fieldName = (h: HeaderField) => h.raw.slice(0, Math.max(0, h.raw.indexOf(':'))).trim();

/** The DKIM-Signature fields' d= and s= tags (RFC 6376 §3.5), or nothing when unsigned. */
function dkimState(headers: HeaderField[]): Html {
  const sigs = headers.filter((h) => h.name.toLowerCase() === 'dkim-signature').map((h) => {
    const v = fieldValue(h).replace(/\s+/g, '');
    return { d: /(?:^|;)d=([^;]+)/.exec(v)?.[1], s: /(?:^|;)s=([^;]+)/.exec(v)?.[1], a: /(?:^|;)a=([^;]+)/.exec(v)?.[1] };
  });
  if (sigs.length === 0) return html`<span class="warn">not signed</span>`;
  return html`${sigs.map((s, i) => html`${i > 0 && ', '}signed by <span class="mono">d=${s.d} s=${s.s}</span> (${s.a})`)}`;
}

export interface DetailData {
  m: MessageSummary;
  stored: StoredMessage | undefined;
  headers: HeaderField[];
  events: StoredEvent[];
  suppressed: Set<string>;
  session: AdminSession | undefined;
}

export const messageDetail = (opts: DetailData & { notice?: Html }): Html =>
  html`<p class="crumbs"><a href="/ui/messages">← Messages</a></p>
${opts.notice}
${messageLive(opts)}`;

/** Everything about the message that delivery changes, refreshed whole when the live stream names it. */
export function messageLive(opts: DetailData): Html {
  const { m, stored, headers, events, session } = opts;
  const subject = headers.find((h) => h.name.toLowerCase() === 'subject');
  const routes = [...new Set(events.map((e) => e.route).filter((r): r is string => !!r))];
  const pending = m.recipients.some((r) => PENDING.includes(r.status));
  return html`<div id="message-live" hx-get="/ui/messages/${m.id}/live" hx-trigger="live" hx-swap="outerHTML" data-live-message="${m.id}">
<h1 class="subject">${subject ? fieldText(subject) : '(no subject)'}</h1>
<div class="actions-bar">
  <form method="post" action="/ui/messages/${m.id}/retry" class="inline">${csrfField(session)}<button type="submit" ${pending ? '' : 'disabled'}>Retry now</button></form>
  <a class="button secondary" href="/ui/messages/${m.id}/raw" download>Download raw source</a>
  <form method="post" action="/ui/messages/${m.id}/delete" class="inline" data-confirm="Delete this message from the queue? Its pending recipients will not be delivered; its history stays.">
    ${csrfField(session)}<button type="submit" class="danger" ${pending ? '' : 'disabled'}>Delete from queue</button></form>
</div>
<section aria-labelledby="env-h"><h2 id="env-h">Envelope</h2>
<dl class="facts">
  <dt>Id</dt><dd class="mono">${m.id}</dd>
  <dt>From (envelope)</dt><dd class="addr">${m.sender || '<> (null sender)'}</dd>
  <dt>To (envelope)</dt><dd>${m.recipients.map((r, i) => html`${i > 0 && ', '}<span class="addr">${r.address}</span>`)}</dd>
  <dt>Accepted</dt><dd>${time(m.createdAt)}${stored && html` over ${stored.source.toUpperCase()}${stored.clientAddress && html` from ${stored.clientAddress}`}`}</dd>
  <dt>Sent by</dt><dd>${m.credential ?? 'a trusted network (no login)'}</dd>
  <dt>Size</dt><dd>${size(m.size)}</dd>
  <dt>DKIM</dt><dd>${dkimState(headers)}</dd>
  <dt>Route</dt><dd>${routes.length ? routes.join(', ') : 'not attempted yet'}</dd>
  ${m.tags.length > 0 && html`<dt>Tags</dt><dd>${m.tags.map((t, i) => html`${i > 0 && ', '}<span class="mono">${t.name}=${t.value}</span>`)}</dd>`}
</dl></section>
${recipientTimelines(m, events, opts.suppressed, session, false)}
<section aria-labelledby="hdr-h"><h2 id="hdr-h">Headers</h2>
<div class="table-wrap"><table class="headers"><thead><tr><th scope="col">Name</th><th scope="col">Value</th></tr></thead><tbody>
${headers.map((h) => html`<tr><th scope="row" class="mono">${fieldName(h)}</th><td class="mono">${fieldText(h)}</td></tr>`)}
</tbody></table></div></section>
</div>`;
}
