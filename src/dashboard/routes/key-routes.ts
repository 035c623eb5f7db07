// Keys and credentials: list SMTP credentials (disable, enable) and API keys
// (create, with the secret shown once; revoke) — the same functions as
// `smarthost keys create|revoke` and `smarthost credentials disable|enable`.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createApiKey } from '../../credentials/api-keys.ts';
import { describePolicy } from '../../credentials/policy.ts';
import type { DashboardDeps } from '../dashboard.ts';
import { time } from '../format.ts';
import { html, type Html } from '../html.ts';
import { csrfField, errorBox, notice, page } from '../layout.ts';
import { refuse } from '../refuse.ts';

/** A domain, an address, or * (any sender): what `--allow-domain` takes. */
const SENDER = /^(\*|[^\s@]+@[a-z0-9.-]+\.[a-z0-9-]+|[a-z0-9.-]+\.[a-z0-9-]+)$/i;

export const keyMessages = {
  noSenders: 'Give at least one sender: a domain (example.com), an address (app@example.com), or * to allow any sender.',
  badSender: (s: string) => `"${s}" is not a domain, an address or *. Correct it and create the key again.`,
  noName: 'Give the key a name, such as the application that will use it.',
};

export function keyRoutes(app: FastifyInstance, { store }: DashboardDeps): void {
  async function render(req: FastifyRequest, reply: FastifyReply, status: number, top?: Html): Promise<FastifyReply> {
    const session = req.adminSession;
    const [credentials, keys] = await Promise.all([store.listCredentials(), store.listApiKeys()]);
    const body = html`<h1>Keys and credentials</h1>
${top}${notice((req.query as { notice?: string }).notice)}
<section class="card" aria-labelledby="new-h"><h2 id="new-h">Create an API key</h2>
<form method="post" action="/ui/keys" class="row">
  ${csrfField(session)}
  <div><label for="k-name">Name</label><input id="k-name" name="name" required maxlength="100" placeholder="billing-app"></div>
  <div><label for="k-senders">May send from</label><input id="k-senders" name="senders" required placeholder="example.com, app@other.org"></div>
  <div class="actions"><button type="submit">Create key</button></div>
</form></section>
<section aria-labelledby="keys-h"><h2 id="keys-h">API keys</h2>
<div class="table-wrap"><table><thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">May send from</th><th scope="col">Limits</th>
<th scope="col">Created</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead><tbody>
${keys.length === 0 ? html`<tr><td colspan="7" class="empty">No API keys yet.</td></tr>` : ''}
${keys.map((k) => html`<tr data-key="${k.id}"><td>${k.name}</td><td class="mono">${k.prefix}…</td><td>${k.allowedSenders.join(', ')}</td>
<td>${describePolicy(k.policy)}</td><td>${time(k.createdAt)}</td><td>${k.revokedAt ? html`revoked ${time(k.revokedAt)}` : 'active'}</td>
<td>${!k.revokedAt && html`<form method="post" action="/ui/keys/${k.id}/revoke" class="inline" data-confirm="Revoke ${k.name}? Applications using it stop at once.">
${csrfField(session)}<button type="submit" class="danger">Revoke <span class="visually-hidden">${k.name}</span></button></form>`}</td></tr>`)}
</tbody></table></div></section>
<section aria-labelledby="creds-h"><h2 id="creds-h">SMTP credentials</h2>
<p class="hint">Create one with <code>smarthost credentials add NAME --allow-domain example.com</code> or SMARTHOST_USERS.</p>
<div class="table-wrap"><table><thead><tr><th scope="col">Username</th><th scope="col">May send from</th><th scope="col">Limits</th>
<th scope="col">Created</th><th scope="col">State</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead><tbody>
${credentials.map((c) => html`<tr data-credential="${c.username}"><td class="mono">${c.username}</td><td>${c.allowedSenders.join(', ')}</td>
<td>${describePolicy(c.policy)}</td><td>${time(c.createdAt)}</td><td>${c.disabled ? 'disabled' : 'enabled'}</td>
<td><form method="post" action="/ui/credentials/${encodeURIComponent(c.username)}/${c.disabled ? 'enable' : 'disable'}" class="inline">${csrfField(session)}
<button type="submit" class="secondary">${c.disabled ? 'Enable' : 'Disable'} <span class="visually-hidden">${c.username}</span></button></form></td></tr>`)}
</tbody></table></div></section>`;
    return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store')
      .send(page({ title: 'Keys and credentials', section: 'keys', session, body }));
  }

  app.get('/keys', { config: { access: 'page' } }, (req, reply) => render(req, reply, 200));

  app.post<{ Body: { name?: string; senders?: string } }>('/keys', { config: { access: 'data' } }, async (req, reply) => {
    const name = String(req.body?.name ?? '').trim().slice(0, 100);
    const senders = String(req.body?.senders ?? '').split(/[\s,;]+/).filter(Boolean);
    const bad = senders.find((s) => !SENDER.test(s));
    const problem = !name ? keyMessages.noName : senders.length === 0 ? keyMessages.noSenders : bad ? keyMessages.badSender(bad) : undefined;
    if (problem) return render(req, reply, 422, errorBox(problem));
    const { key, record } = await createApiKey(store, name, senders);
    // The secret exists only in this response (no-store): the store keeps its SHA-256.
    return render(req, reply, 201, html`<section class="notice secret" role="status" aria-labelledby="secret-h">
<h2 id="secret-h">API key ${record.name} created</h2>
<p>Copy it now: it is not shown again.</p>
<pre><code id="new-key">${key}</code></pre><button type="button" class="secondary copy" data-copy="new-key">Copy</button></section>`);
  });

  app.post<{ Params: { id: string } }>('/keys/:id/revoke', { config: { access: 'data' } }, async (req, reply) => {
    const key = (await store.listApiKeys()).find((k) => k.id === req.params.id);
    if (!key) return refuse(reply, 404, 'There is no API key with this id. Find it under Keys.');
    await store.revokeApiKey(key.id, Date.now());
    return reply.redirect('/ui/keys?notice=revoked', 303);
  });

  app.post<{ Params: { username: string; action: string } }>('/credentials/:username/:action', { config: { access: 'data' } }, async (req, reply) => {
    const { username, action } = req.params;
    if (action !== 'disable' && action !== 'enable') return refuse(reply, 404, 'There is no such action for a credential.');
    if (!(await store.setCredentialDisabled(username, action === 'disable')))
      return refuse(reply, 404, 'There is no credential with this username. Find it under Keys.');
    return reply.redirect(`/ui/keys?notice=${action}d`, 303);
  });
}
