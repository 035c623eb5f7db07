// /api-keys and /credentials: the same operations as `smarthost keys` and
// `smarthost credentials`, for full_access keys only. Secrets are returned
// once, in the answer that created them.
import type { FastifyInstance } from 'fastify';
import { createKey, getKey, listKeys, revokeKey, updateKey } from '../../../admin/api-keys.ts';
import { getCredential, listCredentials, removeCredential, saveCredential, updateCredential } from '../../../admin/credentials.ts';
import { credentialJson, keyJson, policyChangeOf } from '../admin-json.ts';
import { authenticateRequest } from '../auth.ts';
import { accountChange, apiKeyInput, credentialInput, parseInput } from '../schemas.ts';
import type { HttpDeps } from '../server.ts';

type ById = { Params: { id: string } };
type ByName = { Params: { username: string } };

export function accountRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { store } = deps;
  app.addHook('preHandler', async (req) => {
    await authenticateRequest(req, store);
  });

  app.get('/api-keys', async () => ({ object: 'list', data: (await listKeys(store)).map(keyJson) }));

  app.post('/api-keys', async (req, reply) => {
    const body = parseInput(apiKeyInput, req.body);
    const { key, view } = await createKey(store, {
      name: body.name, allowedSenders: body.allowed_senders, permission: body.permission, policy: policyChangeOf(body),
    });
    // `token` is Resend's name for the secret; it is not stored and never shown again.
    return reply.code(201).send({ ...keyJson(view), token: key });
  });

  app.get<ById>('/api-keys/:id', async (req) => keyJson(await getKey(store, req.params.id)));

  app.patch<ById>('/api-keys/:id', async (req) => {
    const body = parseInput(accountChange, req.body);
    return keyJson(await updateKey(store, req.params.id, { allowedSenders: body.allowed_senders, policy: policyChangeOf(body), disabled: body.disabled }));
  });

  app.delete<ById>('/api-keys/:id', async (req, reply) => {
    await revokeKey(store, req.params.id);
    return reply.code(204).send();
  });

  app.get('/credentials', async () => ({ object: 'list', data: (await listCredentials(store)).map(credentialJson) }));

  app.post('/credentials', async (req, reply) => {
    const body = parseInput(credentialInput, req.body);
    const saved = await saveCredential(store, {
      username: body.username, password: body.password, allowedSenders: body.allowed_senders, policy: policyChangeOf(body),
    }, { replace: false });
    return reply.code(201).send({ ...credentialJson(saved.view), ...(saved.generatedPassword && { password: saved.generatedPassword }) });
  });

  app.get<ByName>('/credentials/:username', async (req) => credentialJson(await getCredential(store, req.params.username)));

  app.patch<ByName>('/credentials/:username', async (req) => {
    const body = parseInput(accountChange, req.body);
    return credentialJson(await updateCredential(store, req.params.username, {
      allowedSenders: body.allowed_senders, policy: policyChangeOf(body), disabled: body.disabled,
    }));
  });

  app.delete<ByName>('/credentials/:username', async (req, reply) => {
    await removeCredential(store, req.params.username);
    return reply.code(204).send();
  });
}
