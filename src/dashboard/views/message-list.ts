// The Messages screen: filters, a page of messages, the link to the next page.
// The table body refreshes itself (htmx) when the live stream reports a change.
import type { MessageSummary } from '../../store/store.ts';
import { size, status, STATUSES, time } from '../format.ts';
import { html, type Html } from '../html.ts';

export interface ListFilters {
  status?: string;
  recipient?: string;
  sender?: string;
  /** Part of the Subject, case-insensitive. */
  subject?: string;
  /** A credential's username or `key:<name>`, as recorded with the message. */
  credential?: string;
  /** `name=value`, as typed. */
  tag?: string;
  /** As typed in the form (datetime-local, the viewer's time). */
  since?: string;
  until?: string;
  /** The viewer's getTimezoneOffset(), set by app.js. */
  tz?: number;
  cursor?: string;
}

/** The filters as a query string (without the cursor unless asked), for links and the live refresh. */
export function filterQuery(f: ListFilters, withCursor = true): string {
  const q = new URLSearchParams();
  for (const key of ['status', 'recipient', 'sender', 'subject', 'credential', 'tag', 'since', 'until', 'tz', 'cursor'] as const) {
    const v = f[key];
    if (v !== undefined && v !== '' && (withCursor || key !== 'cursor')) q.set(key, String(v));
  }
  return q.toString();
}

export function messageRows(page: MessageSummary[], filters: ListFilters, nextCursor: string | null): Html {
  const query = filterQuery(filters);
  return html`<tbody id="message-rows" hx-get="/ui/messages/rows?${query}" hx-trigger="live" hx-swap="outerHTML" data-live-refresh>
${page.length === 0 ? html`<tr><td colspan="5" class="empty">No messages match. Change the filters, or send one from <a href="/ui/connect">Connect an app</a>.</td></tr>` : ''}
${page.map((m) => html`<tr data-message-id="${m.id}">
  <td><a href="/ui/messages/${m.id}">${time(m.createdAt)}</a></td>
  <td class="addr">${m.sender || '<>'}</td>
  <td><ul class="rcpts">${m.recipients.map((r) => html`<li><span class="addr">${r.address}</span> ${status(r.status)}</li>`)}</ul></td>
  <td class="num">${size(m.size)}</td>
  <td class="mono small">${m.id}</td>
</tr>`)}
${nextCursor && html`<tr class="more"><td colspan="5"><a href="/ui/messages?${filterQuery({ ...filters, cursor: nextCursor })}">Older messages →</a></td></tr>`}
</tbody>`;
}

/** `principals`: the credentials and keys to suggest in the filter. */
export function messageList(rows: Html, f: ListFilters, principals: string[], error?: string, done?: Html): Html {
  return html`<h1>Messages</h1>
${done}
<form class="filters" method="get" action="/ui/messages" role="search">
  <div><label for="f-status">Status</label>
    <select id="f-status" name="status"><option value="">any</option>${STATUSES.map((s) => html`<option ${s === f.status ? 'selected' : ''}>${s}</option>`)}</select></div>
  <div><label for="f-recipient">Recipient</label><input id="f-recipient" name="recipient" type="search" value="${f.recipient}" placeholder="user@example.org"></div>
  <div><label for="f-sender">Sender</label><input id="f-sender" name="sender" type="search" value="${f.sender}" placeholder="app@example.com"></div>
  <div><label for="f-subject">Subject</label><input id="f-subject" name="subject" type="search" value="${f.subject}" maxlength="200" placeholder="part of the subject"></div>
  <div><label for="f-credential">Credential or key</label><input id="f-credential" name="credential" type="search" value="${f.credential}" list="principals" placeholder="app or key:name">
    <datalist id="principals">${principals.map((p) => html`<option value="${p}">`)}</datalist></div>
  <div><label for="f-tag">Tag</label><input id="f-tag" name="tag" type="search" value="${f.tag}" placeholder="name=value"></div>
  <div><label for="f-since">From</label><input id="f-since" name="since" type="datetime-local" value="${f.since}"></div>
  <div><label for="f-until">Until</label><input id="f-until" name="until" type="datetime-local" value="${f.until}"></div>
  <input type="hidden" name="tz" value="${f.tz}" data-timezone-offset>
  <div class="actions"><button type="submit">Filter</button> <a href="/ui/messages">Clear</a></div>
</form>
${error && html`<p class="error" role="alert">${error}</p>`}
<p class="hint" aria-live="polite">New messages and status changes appear here without reloading.</p>
<div class="table-wrap"><table class="messages">
<caption class="visually-hidden">Messages, newest first</caption>
<thead><tr><th scope="col">Accepted</th><th scope="col">From</th><th scope="col">Recipients</th><th scope="col">Size</th><th scope="col">Id</th></tr></thead>
${rows}
</table></div>`;
}
