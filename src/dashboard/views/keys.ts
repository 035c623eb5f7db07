// The Keys screen: API keys and SMTP credentials with their permission,
// allowed senders, limits, sandbox, status and use; the create forms and the
// edit form both share.
import type { KeyView } from '../../admin/api-keys.ts';
import type { CredentialView } from '../../admin/credentials.ts';
import type { AdminSession, SendingPolicy } from '../../store/store.ts';
import { time } from '../format.ts';
import { html, type Html } from '../html.ts';
import { csrfField, errorBox } from '../layout.ts';

/** What the policy part of a form holds, as typed (so a refused form comes back as it was sent). */
export interface PolicyFields {
  allowedSenders: string;
  ratePerMinute: string;
  dailyQuota: string;
  sandbox: boolean;
}

export const fieldsOf = (allowedSenders: readonly string[], p: SendingPolicy): PolicyFields => ({
  allowedSenders: allowedSenders.join(', '), ratePerMinute: p.ratePerMinute?.toString() ?? '', dailyQuota: p.dailyQuota?.toString() ?? '', sandbox: !!p.sandbox,
});

export const EMPTY_FIELDS: PolicyFields = { allowedSenders: '', ratePerMinute: '', dailyQuota: '', sandbox: false };

/** The inputs for allowed senders, rate limit, quota and sandbox; `p` keeps the ids of two forms on one page apart. */
export const policyInputs = (p: string, f: PolicyFields): Html => html`
  <div class="grow"><label for="${p}-senders">Allowed senders</label><input id="${p}-senders" name="allowed_senders" type="text" required value="${f.allowedSenders}" placeholder="example.com, app@example.org or *" aria-describedby="${p}-senders-hint">
  <div id="${p}-senders-hint" class="small">Domains or addresses, separated by commas; * allows any.</div></div>
  <div><label for="${p}-rate">Rate limit (per minute)</label><input id="${p}-rate" name="rate_per_minute" type="number" min="1" step="1" inputmode="numeric" value="${f.ratePerMinute}" placeholder="no limit"></div>
  <div><label for="${p}-quota">Daily quota</label><input id="${p}-quota" name="daily_quota" type="number" min="1" step="1" inputmode="numeric" value="${f.dailyQuota}" placeholder="no quota"></div>
  <div class="actions"><input id="${p}-sandbox" name="sandbox" type="checkbox" ${f.sandbox && html`checked`}><label for="${p}-sandbox">Sandbox (record, never deliver)</label></div>`;

const limits = (p: SendingPolicy, usage: { minute: number; day: number }) => html`
  ${p.ratePerMinute !== undefined ? html`<div>${usage.minute} of ${p.ratePerMinute} this minute</div>` : html`<div class="small">no rate limit</div>`}
  ${p.dailyQuota !== undefined ? html`<div>${usage.day} of ${p.dailyQuota} today</div>` : html`<div class="small">no daily quota</div>`}`;

const state = (s: string) => html`<span class="status status-${s}">${s}</span>`;
const when = (ms: number | null | undefined) => (ms ? time(ms) : html`<span class="small">never</span>`);
const senders = (list: readonly string[]) => html`<span class="mono">${list.join(', ')}</span>`;

export const keyStatus = (k: KeyView) => (k.revokedAt !== null ? 'revoked' : k.disabled ? 'disabled' : 'active');

function keyRow(k: KeyView, session: AdminSession | undefined): Html {
  const status = keyStatus(k);
  const toggle = k.disabled ? 'enable' : 'disable';
  return html`<tr data-key-id="${k.id}"><td><a href="/ui/keys/${k.id}">${k.name}</a><div class="mono small">${k.prefix}…</div></td>
<td>${k.permission}</td><td>${senders(k.allowedSenders)}</td><td>${limits(k.policy, k.usage)}</td><td>${k.policy.sandbox ? 'yes' : 'no'}</td>
<td>${state(status)}</td><td>${time(k.createdAt)}</td><td>${when(k.lastUsedAt)}</td>
<td>${status !== 'revoked' && html`<div class="actions">
<form method="post" action="/ui/keys/${k.id}/${toggle}" class="inline">${csrfField(session)}<button type="submit" class="secondary">${k.disabled ? 'Enable' : 'Disable'} <span class="visually-hidden">${k.name}</span></button></form>
<form method="post" action="/ui/keys/${k.id}/revoke" class="inline" data-confirm="Revoke ${k.name}? Applications using it are refused at once, for good.">${csrfField(session)}<button type="submit" class="danger">Revoke <span class="visually-hidden">${k.name}</span></button></form></div>`}</td></tr>`;
}

function credentialRow(c: CredentialView, session: AdminSession | undefined): Html {
  const path = `/ui/credentials/${encodeURIComponent(c.username)}`;
  return html`<tr data-username="${c.username}"><td><a href="${path}" class="mono">${c.username}</a></td>
<td>${senders(c.allowedSenders)}</td><td>${limits(c.policy, c.usage)}</td><td>${c.policy.sandbox ? 'yes' : 'no'}</td>
<td>${state(c.disabled ? 'disabled' : 'active')}</td><td>${time(c.createdAt)}</td><td>${when(c.lastUsedAt)}</td>
<td><div class="actions"><form method="post" action="${path}/${c.disabled ? 'enable' : 'disable'}" class="inline">${csrfField(session)}<button type="submit" class="secondary">${c.disabled ? 'Enable' : 'Disable'} <span class="visually-hidden">${c.username}</span></button></form>
<form method="post" action="${path}/remove" class="inline" data-confirm="Remove ${c.username}? Applications logging in with it are refused.">${csrfField(session)}<button type="submit" class="danger">Remove <span class="visually-hidden">${c.username}</span></button></form></div></td></tr>`;
}

export interface KeysPage {
  keys: KeyView[];
  credentials: CredentialView[];
  session: AdminSession | undefined;
  notice?: Html;
  /** The key or password just created, shown once. */
  secret?: Html;
  keyForm?: { name: string; permission: string; fields: PolicyFields; error?: string };
  credentialForm?: { username: string; fields: PolicyFields; error?: string };
}

export function keysPage({ keys, credentials, session, notice, secret, keyForm, credentialForm }: KeysPage): Html {
  const kf = keyForm ?? { name: '', permission: 'sending_access', fields: EMPTY_FIELDS };
  const cf = credentialForm ?? { username: '', fields: EMPTY_FIELDS };
  return html`<h1>Keys and credentials</h1>
<p class="hint">API keys sign in to the HTTPS API; credentials to SMTP. Each may send only from its allowed senders.</p>
${notice}${secret}
<section aria-labelledby="keys-h"><h2 id="keys-h">API keys</h2>
<div class="table-wrap"><table class="keys">
<thead><tr><th scope="col">Name</th><th scope="col">Permission</th><th scope="col">Allowed senders</th><th scope="col">Limits</th><th scope="col">Sandbox</th>
<th scope="col">Status</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${keys.length === 0 ? html`<tr><td colspan="9" class="empty">No API key yet: create one below.</td></tr>` : keys.map((k) => keyRow(k, session))}</tbody>
</table></div></section>
<section aria-labelledby="new-key-h" class="card"><h2 id="new-key-h">Create an API key</h2>
${errorBox(kf.error)}
<form method="post" action="/ui/keys" class="row">
  ${csrfField(session)}
  <div><label for="k-name">Name</label><input id="k-name" name="name" type="text" required maxlength="100" value="${kf.name}" placeholder="billing-app"></div>
  <div><label for="k-permission">Permission</label><select id="k-permission" name="permission">
    <option value="sending_access" ${kf.permission === 'sending_access' && html`selected`}>sending_access: send mail only</option>
    <option value="full_access" ${kf.permission === 'full_access' && html`selected`}>full_access: the whole API</option></select></div>
  ${policyInputs('k', kf.fields)}
  <div class="actions"><button type="submit">Create key</button></div>
</form></section>
<section aria-labelledby="creds-h"><h2 id="creds-h">SMTP credentials</h2>
<div class="table-wrap"><table class="credentials">
<thead><tr><th scope="col">Username</th><th scope="col">Allowed senders</th><th scope="col">Limits</th><th scope="col">Sandbox</th>
<th scope="col">Status</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${credentials.length === 0 ? html`<tr><td colspan="8" class="empty">No SMTP credential yet: create one below.</td></tr>` : credentials.map((c) => credentialRow(c, session))}</tbody>
</table></div></section>
<section aria-labelledby="new-cred-h" class="card"><h2 id="new-cred-h">Create an SMTP credential</h2>
${errorBox(cf.error)}
<form method="post" action="/ui/credentials" class="row">
  ${csrfField(session)}
  <div><label for="c-username">Username</label><input id="c-username" name="username" type="text" required maxlength="256" value="${cf.username}" placeholder="billing-app"></div>
  ${policyInputs('c', cf.fields)}
  <div class="actions"><button type="submit">Create credential</button></div>
</form><p class="small">smarthost generates the password and shows it once.</p></section>`;
}

/** The edit form of one key or credential: allowed senders, limits, sandbox. */
export function editPage(o: {
  title: string; action: string; facts: Html; fields: PolicyFields; session: AdminSession | undefined; error?: string; locked?: string;
}): Html {
  return html`<p><a href="/ui/keys">← Keys and credentials</a></p>
<h1>${o.title}</h1>
<dl class="facts">${o.facts}</dl>
${errorBox(o.error)}
${o.locked ? html`<p class="hint">${o.locked}</p>` : html`<section class="card" aria-labelledby="edit-h"><h2 id="edit-h">Allowed senders and limits</h2>
<form method="post" action="${o.action}" class="row">
  ${csrfField(o.session)}
  ${policyInputs('e', o.fields)}
  <div class="actions"><button type="submit">Save</button> <a class="button secondary" href="/ui/keys">Cancel</a></div>
</form></section>`}`;
}

export const keyFacts = (k: KeyView): Html => html`<dt>Prefix</dt><dd class="mono">${k.prefix}…</dd><dt>Id</dt><dd class="mono">${k.id}</dd>
<dt>Permission</dt><dd>${k.permission}</dd><dt>Status</dt><dd>${state(keyStatus(k))}</dd><dt>Created</dt><dd>${time(k.createdAt)}</dd>
<dt>Last used</dt><dd>${when(k.lastUsedAt)}</dd>${k.revokedAt !== null && html`<dt>Revoked</dt><dd>${time(k.revokedAt)}</dd>`}`;

export const credentialFacts = (c: CredentialView): Html => html`<dt>Username</dt><dd class="mono">${c.username}</dd>
<dt>Status</dt><dd>${state(c.disabled ? 'disabled' : 'active')}</dd><dt>Created</dt><dd>${time(c.createdAt)}</dd><dt>Last used</dt><dd>${when(c.lastUsedAt)}</dd>`;
