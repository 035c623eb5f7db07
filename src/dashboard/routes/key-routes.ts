// Keys and credentials: list, create (the secret shown once), edit allowed
// senders, limits and sandbox, disable/enable, revoke or remove — the same
// admin functions as /api-keys, /credentials and `smarthost keys|credentials`.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AdminError } from '../../admin/admin-error.ts';
import { createKey, findKey, getKey, listKeys, revokeKey, updateKey } from '../../admin/api-keys.ts';
import { getCredential, listCredentials, removeCredential, saveCredential, updateCredential } from '../../admin/credentials.ts';
import type { PolicyChange } from '../../admin/policy-change.ts';
import { API_KEY_PERMISSIONS, type AdminSession, type ApiKeyPermission } from '../../store/store.ts';
import type { DashboardDeps } from '../dashboard.ts';
import { page } from '../layout.ts';
import {
  credentialFacts, editPage, fieldsOf, keyFacts, keysPage, type KeysPage, type PolicyFields,
} from '../views/keys.ts';
import { noticeOf, refusedAs, secretOnce, sentence } from '../views/screen-parts.ts';

const NO_KEY = 'There is no API key with this id. It may have been created on another page; see them all under Keys.';
const NO_CREDENTIAL = 'There is no SMTP credential with this username. It may have been removed; see them all under Keys.';

const NOTICES: Record<string, string> = {
  'key-saved': 'The key was saved.',
  'key-disabled': 'The key is disabled: requests with it are refused until you enable it again.',
  'key-enabled': 'The key is enabled again.',
  'key-revoked': 'The key is revoked: requests with it are refused from now on.',
  'credential-saved': 'The credential was saved.',
  'credential-disabled': 'The credential is disabled: logins with it are refused until you enable it again.',
  'credential-enabled': 'The credential is enabled again.',
  'credential-removed': 'The credential was removed.',
};

type Form = Record<string, string | undefined>;

/** A limit field: empty removes the limit; otherwise a whole number of at least 1. */
function count(value: string | undefined, what: string): number | null {
  const v = (value ?? '').trim();
  if (v === '') return null;
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1) throw new AdminError('invalid', `${what}: a whole number of at least 1, or empty for none`);
  return Number(v);
}

/** The policy part of a form, as typed and as the services take it; a bad number is an AdminError('invalid'). */
function policyOf(body: Form): { fields: PolicyFields; allowedSenders: string[]; change: () => PolicyChange } {
  const fields: PolicyFields = {
    allowedSenders: String(body.allowed_senders ?? '').slice(0, 2000), ratePerMinute: String(body.rate_per_minute ?? '').slice(0, 20),
    dailyQuota: String(body.daily_quota ?? '').slice(0, 20), sandbox: body.sandbox !== undefined,
  };
  return {
    fields,
    allowedSenders: fields.allowedSenders.split(/[\s,]+/).filter(Boolean),
    change: () => ({ ratePerMinute: count(fields.ratePerMinute, 'Rate limit'), dailyQuota: count(fields.dailyQuota, 'Daily quota'), sandbox: fields.sandbox }),
  };
}

/** A refused form comes back as it was sent, with the reason; anything but "invalid input" goes to the error page. */
const invalidOnly = (err: unknown): string => {
  if (err instanceof AdminError && err.kind === 'invalid') return sentence(err.message);
  throw err;
};

export function keyRoutes(app: FastifyInstance, { store }: DashboardDeps): void {
  async function listPage(reply: FastifyReply, session: AdminSession | undefined, extra: Omit<KeysPage, 'keys' | 'credentials' | 'session'>, status = 200) {
    const body = keysPage({ keys: await listKeys(store), credentials: await listCredentials(store), session, ...extra });
    // A page holding a secret must not be kept by any cache.
    return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store')
      .send(page({ title: 'Keys and credentials', section: 'keys', session, body }));
  }

  app.get<{ Querystring: { notice?: string } }>('/keys', { config: { access: 'page' } }, async (req, reply) =>
    listPage(reply, req.adminSession, { notice: noticeOf(NOTICES, req.query.notice) }));

  app.post<{ Body: Form }>('/keys', { config: { access: 'data' } }, async (req, reply) => {
    const body = req.body ?? {};
    const name = String(body.name ?? '').trim().slice(0, 100);
    const permission = String(body.permission ?? '');
    const { fields, allowedSenders, change } = policyOf(body);
    try {
      if (!(API_KEY_PERMISSIONS as readonly string[]).includes(permission)) throw new AdminError('invalid', `permission: one of ${API_KEY_PERMISSIONS.join(', ')}`);
      const { key, view } = await createKey(store, { name, allowedSenders, policy: change(), permission: permission as ApiKeyPermission });
      const secret = secretOnce(`API key ${view.name} created`, 'Give this key to the application as its Bearer token.', key, '/ui/keys');
      return await listPage(reply, req.adminSession, { secret });
    } catch (err) {
      return listPage(reply, req.adminSession, { keyForm: { name, permission, fields, error: invalidOnly(err) } }, 422);
    }
  });

  async function keyEdit(reply: FastifyReply, session: AdminSession | undefined, id: string, form?: { fields: PolicyFields; error: string }) {
    const k = await getKey(store, id).catch(refusedAs(NO_KEY));
    const body = editPage({
      title: `API key ${k.name}`, action: `/ui/keys/${k.id}`, facts: keyFacts(k), session, error: form?.error,
      fields: form?.fields ?? fieldsOf(k.allowedSenders, k.policy), locked: k.revokedAt !== null ? 'This key is revoked and can no longer change.' : undefined,
    });
    return reply.code(form ? 422 : 200).type('text/html; charset=utf-8').send(page({ title: `API key ${k.name}`, section: 'keys', session, body }));
  }

  app.get<{ Params: { id: string } }>('/keys/:id', { config: { access: 'page' } }, async (req, reply) => keyEdit(reply, req.adminSession, req.params.id));

  app.post<{ Params: { id: string }; Body: Form }>('/keys/:id', { config: { access: 'data' } }, async (req, reply) => {
    const k = await findKey(store, req.params.id).catch(refusedAs(NO_KEY));
    const { fields, allowedSenders, change } = policyOf(req.body ?? {});
    try {
      await updateKey(store, k.id, { allowedSenders, policy: change() });
    } catch (err) {
      if (err instanceof AdminError && err.kind === 'conflict') refusedAs(NO_KEY)(err);
      return keyEdit(reply, req.adminSession, k.id, { fields, error: invalidOnly(err) });
    }
    return reply.redirect('/ui/keys?notice=key-saved', 303);
  });

  for (const [action, disabled] of [['disable', true], ['enable', false]] as const) {
    app.post<{ Params: { id: string } }>(`/keys/:id/${action}`, { config: { access: 'data' } }, async (req, reply) => {
      await updateKey(store, req.params.id, { disabled }).catch(refusedAs(NO_KEY));
      return reply.redirect(`/ui/keys?notice=key-${action}d`, 303);
    });
  }

  app.post<{ Params: { id: string } }>('/keys/:id/revoke', { config: { access: 'data' } }, async (req, reply) => {
    await revokeKey(store, req.params.id).catch(refusedAs(NO_KEY));
    return reply.redirect('/ui/keys?notice=key-revoked', 303);
  });

  app.post<{ Body: Form }>('/credentials', { config: { access: 'data' } }, async (req, reply) => {
    const body = req.body ?? {};
    const username = String(body.username ?? '').trim();
    const { fields, allowedSenders, change } = policyOf(body);
    try {
      const saved = await saveCredential(store, { username, allowedSenders, policy: change() }, { replace: false });
      const secret = secretOnce(`SMTP credential ${username} created`, `Log in with the username ${username} and this password.`, saved.generatedPassword!, '/ui/keys');
      return await listPage(reply, req.adminSession, { secret });
    } catch (err) {
      // An existing username is the form's problem too: say so beside it.
      const error = err instanceof AdminError && err.kind === 'conflict' ? `A credential named ${username} exists already: choose another username.` : invalidOnly(err);
      return listPage(reply, req.adminSession, { credentialForm: { username: username.slice(0, 256), fields, error } }, 422);
    }
  });

  async function credentialEdit(reply: FastifyReply, session: AdminSession | undefined, username: string, form?: { fields: PolicyFields; error: string }) {
    const c = await getCredential(store, username).catch(refusedAs(NO_CREDENTIAL));
    const body = editPage({
      title: `SMTP credential ${c.username}`, action: `/ui/credentials/${encodeURIComponent(c.username)}`, facts: credentialFacts(c),
      session, error: form?.error, fields: form?.fields ?? fieldsOf(c.allowedSenders, c.policy),
    });
    return reply.code(form ? 422 : 200).type('text/html; charset=utf-8').send(page({ title: `SMTP credential ${c.username}`, section: 'keys', session, body }));
  }

  app.get<{ Params: { username: string } }>('/credentials/:username', { config: { access: 'page' } }, async (req, reply) =>
    credentialEdit(reply, req.adminSession, req.params.username));

  app.post<{ Params: { username: string }; Body: Form }>('/credentials/:username', { config: { access: 'data' } }, async (req, reply) => {
    const c = await getCredential(store, req.params.username).catch(refusedAs(NO_CREDENTIAL));
    const { fields, allowedSenders, change } = policyOf(req.body ?? {});
    try {
      await updateCredential(store, c.username, { allowedSenders, policy: change() });
    } catch (err) {
      return credentialEdit(reply, req.adminSession, c.username, { fields, error: invalidOnly(err) });
    }
    return reply.redirect('/ui/keys?notice=credential-saved', 303);
  });

  for (const [action, disabled] of [['disable', true], ['enable', false]] as const) {
    app.post<{ Params: { username: string } }>(`/credentials/:username/${action}`, { config: { access: 'data' } }, async (req, reply) => {
      await updateCredential(store, req.params.username, { disabled }).catch(refusedAs(NO_CREDENTIAL));
      return reply.redirect(`/ui/keys?notice=credential-${action}d`, 303);
    });
  }

  app.post<{ Params: { username: string } }>('/credentials/:username/remove', { config: { access: 'data' } }, async (req, reply) => {
    await removeCredential(store, req.params.username).catch(refusedAs(NO_CREDENTIAL));
    return reply.redirect('/ui/keys?notice=credential-removed', 303);
  });
}
