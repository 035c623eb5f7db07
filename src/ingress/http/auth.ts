// API key authentication: `Authorization: Bearer <key>` (Resend and the query
// API) or `X-Postmark-Server-Token` (Postmark's SDK), and the key's permission:
// a sending_access key may only send, a full_access key may call everything.
import type { FastifyRequest } from 'fastify';
import { keyPrincipal, type Principal } from '../../accept/accept.ts';
import { sourceAllowed } from '../../accept/limits.ts';
import { findActiveKey } from '../../credentials/api-keys.ts';
import { noteUse } from '../../credentials/last-used.ts';
import type { Store } from '../../store/store.ts';
import { ApiError } from './errors.ts';

/** What a route needs: 'sending' (the four send endpoints) or 'full' (everything else). */
export type Access = 'sending' | 'full';

// Resend's name and message for it; Resend answers 401, we answer 403 (authenticated, not allowed).
export const restrictedKey = () => new ApiError(403, 'restricted_api_key', 'This API key is restricted to only send emails', {}, 10);

export async function authenticateRequest(req: FastifyRequest, store: Store, access: Access = 'full'): Promise<Principal> {
  const header = req.headers.authorization;
  const bearer = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
  const token = bearer ?? (req.headers['x-postmark-server-token'] as string | undefined);
  if (!token) throw new ApiError(401, 'missing_api_key', 'Missing API key: send Authorization: Bearer <key>');
  const key = await findActiveKey(store, token);
  if (!key) throw new ApiError(401, 'invalid_api_key', 'API key is invalid or revoked');
  // The key is right but this is not a network it may be used from (its policy's source CIDRs).
  if (!sourceAllowed(key.policy, req.ip)) throw new ApiError(403, 'validation_error', 'This API key is not allowed from your address');
  if (access === 'full' && key.permission !== 'full_access') throw restrictedKey();
  const principal = keyPrincipal(key);
  await noteUse(store, principal);
  return principal;
}
