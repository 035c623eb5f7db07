// The Domains screen: every sending domain with its verification and unsigned
// mail; one domain's DNS records to publish (with copy buttons) beside what
// the last check found, its DKIM selectors, re-check, rotate and retire.
// Built from selectors and public keys only: a private key is never rendered.
import type { DomainDetails, DomainSummary } from '../../domains/manage.ts';
import type { AdminSession, RecordVerdict } from '../../store/store.ts';
import { time } from '../format.ts';
import { html, type Html } from '../html.ts';
import { csrfField, errorBox } from '../layout.ts';

const state = (s: string, label = s) => html`<span class="status status-${s}">${label}</span>`;

export function domainsPage(o: { domains: DomainSummary[]; session: AdminSession | undefined; notice?: Html; form?: { name: string; error: string } }): Html {
  return html`<h1>Domains</h1>
<p class="hint">Each sending domain gets DKIM keys; publish its records, then re-check them here.</p>
${o.notice}
<div class="table-wrap"><table class="domains">
<thead><tr><th scope="col">Domain</th><th scope="col">DKIM selectors</th><th scope="col">Verification</th><th scope="col">Last checked</th><th scope="col" class="num">Unsigned messages</th></tr></thead>
<tbody>${o.domains.length === 0 ? html`<tr><td colspan="5" class="empty">No sending domain yet: add one below.</td></tr>` : o.domains.map((d) => html`<tr data-domain="${d.domain}">
<td>${d.keys.length ? html`<a href="/ui/domains/${d.domain}">${d.domain}</a>` : html`<span class="addr">${d.domain}</span>`}</td>
<td>${d.keys.length ? html`<span class="mono">${d.keys.map((k) => `${k.selector}${k.signing ? '' : ' (rotated out)'}`).join(', ')}</span>`
    : html`<form method="post" action="/ui/domains" class="inline">${csrfField(o.session)}<input type="hidden" name="name" value="${d.domain}"><span class="warn">no DKIM key</span> <button type="submit" class="secondary">Add DKIM key <span class="visually-hidden">for ${d.domain}</span></button></form>`}</td>
<td>${d.keys.length ? state(d.verification, d.verification === 'never' ? 'not checked' : d.verification) : '–'}</td>
<td>${d.lastChecked ? time(d.lastChecked) : html`<span class="small">never</span>`}</td><td class="num">${d.unsigned}</td></tr>`)}</tbody>
</table></div>
<section aria-labelledby="add-d-h" class="card"><h2 id="add-d-h">Add a sending domain</h2>
${errorBox(o.form?.error)}
<form method="post" action="/ui/domains" class="row">
  ${csrfField(o.session)}
  <div><label for="d-name">Domain</label><input id="d-name" name="name" type="text" required maxlength="253" value="${o.form?.name}" placeholder="example.com"></div>
  <div class="actions"><button type="submit">Add domain</button></div>
</form><p class="small">smarthost generates a DKIM key for it and lists the records to publish.</p></section>`;
}

/** The last check's verdict for this record (DMARC may have been found at the organisational domain). */
const verdictFor = (results: readonly RecordVerdict[], record: string, name: string) =>
  results.find((v) => v.record === record && v.name === name) ?? (record === 'dmarc' ? results.find((v) => v.record === 'dmarc') : undefined);

function verdict(v: RecordVerdict | undefined, checked: boolean): Html {
  if (!v) return html`<p>${state('unchecked', checked ? 'not in the last check' : 'not checked yet')}</p>`;
  return html`<p>${state(v.status)}${v.hint && html` <span class="reply">${v.hint}</span>`}</p>
${v.found && v.status !== 'ok' && html`<p class="small">Found: <span class="mono reply">${v.found}</span></p>`}`;
}

export function domainPage(o: { d: DomainDetails; unsigned: number; session: AdminSession | undefined; notice?: Html }): Html {
  const { d, session } = o;
  const results = d.check?.results ?? [];
  return html`<p><a href="/ui/domains">← Domains</a></p>
<h1>${d.domain}</h1>
${o.notice}
<section class="card" aria-labelledby="verify-h"><h2 id="verify-h">Verification</h2>
<div class="checks">
<p>${d.check ? html`${state(d.check.ok ? 'verified' : 'failing')} checked ${time(d.check.checkedAt)}` : state('never', 'not checked yet')}</p>
<form method="post" action="/ui/domains/${d.domain}/verify" class="inline">${csrfField(session)}<button type="submit">Re-check now</button></form>
</div>
<p class="small">${o.unsigned === 0 ? 'No message from this domain went out unsigned.' : `${o.unsigned} message(s) from this domain went out unsigned (before it had a key).`}</p>
</section>
<section aria-labelledby="records-h"><h2 id="records-h">DNS records to publish</h2>
${d.records.map((r, i) => html`<article class="card" data-record="${r.record}" aria-labelledby="rec-${i}-h">
<h3 id="rec-${i}-h">${r.comment}</h3>
<dl class="facts">
  <dt>Name</dt><dd><code id="rec-${i}-name">${r.name}</code> <button type="button" class="secondary" data-copy="rec-${i}-name">Copy <span class="visually-hidden">name of ${r.name}</span></button></dd>
  <dt>Type</dt><dd>${r.type}</dd>
  <dt>Value</dt><dd><pre class="record-value"><code id="rec-${i}-value">${r.value}</code></pre><button type="button" class="secondary" data-copy="rec-${i}-value">Copy <span class="visually-hidden">value of ${r.name}</span></button></dd>
  <dt>State</dt><dd>${verdict(verdictFor(results, r.record, r.name), !!d.check)}</dd>
</dl></article>`)}
</section>
<section class="card" aria-labelledby="keys-h"><h2 id="keys-h">DKIM keys</h2>
<div class="table-wrap"><table class="selectors">
<thead><tr><th scope="col">Selector</th><th scope="col">Algorithm</th><th scope="col">State</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>${d.keys.map((k) => html`<tr data-selector="${k.selector}"><td><span class="mono nowrap">${k.selector}</span></td><td>${k.algorithm}</td>
<td>${k.signing ? state('active', 'signing') : state('disabled', 'rotated out')}</td><td>${time(k.createdAt)}</td>
<td>${!k.signing && html`<form method="post" action="/ui/domains/${d.domain}/selectors/${k.selector}/retire" class="inline" data-confirm="Retire ${k.selector}? Remove its DNS record too; mail it signed no longer verifies.">${csrfField(session)}<button type="submit" class="danger">Retire <span class="visually-hidden">${k.selector}</span></button></form>`}</td></tr>`)}</tbody>
</table></div>
<form method="post" action="/ui/domains/${d.domain}/rotate" class="inline" data-confirm="Rotate the DKIM key of ${d.domain}? The new key signs at once: publish its record right away.">${csrfField(session)}<button type="submit" class="secondary">Rotate key</button></form>
<p class="small">A new key signs at once, so publish its record right away; keep the old one published until mail it signed has been read, then retire it.</p>
</section>`;
}
