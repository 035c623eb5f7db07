// AUTH PLAIN/LOGIN against stored credentials or API keys, with failure
// throttling per connection and per address (the latter in the store, shared by
// every node). Passwords are never logged.
import type { Logger } from 'pino';
import { credentialPrincipal, keyPrincipal, type Principal } from '../../accept/accept.ts';
import { notFromHere, sourceAllowed } from '../../accept/limits.ts';
import { findActiveKey, looksLikeApiKey } from '../../credentials/api-keys.ts';
import { noteUse } from '../../credentials/last-used.ts';
import { DUMMY_HASH, verifyPassword } from '../../credentials/password.ts';
import { reply, SmtpError, type SmtpReply } from '../../delivery/smtp-reply.ts';
import type { Store } from '../../store/store.ts';
import type { AuthThrottle } from './auth-throttle.ts';

export const authFailed = reply(535, '5.7.8', 'Authentication credentials invalid');
export const credentialDisabled = reply(535, '5.7.8', 'Authentication failed: this credential is disabled');
export const tooManyAuthFailures = reply(421, '4.7.0', 'Too many authentication failures; closing connection, try again later');
export const xclientRefused = reply(535, '5.7.8', 'XCLIENT login is not accepted');

export interface AuthAttempt {
  method: string;
  username: string;
  password: string | null;
  clientAddress: string;
  /** Failures so far on this connection. */
  connectionFailures: number;
}

export interface AuthDeps {
  store: Store;
  throttle: AuthThrottle;
  failuresPerConnection: number;
  logger: Logger;
}

/** Resolves who logged in, or throws the reply to send (and counts the failure). */
export async function authenticate(a: AuthAttempt, { store, throttle, failuresPerConnection, logger }: AuthDeps): Promise<Principal> {
  const log = logger.child({ event: 'auth', method: a.method, user: a.username, client: a.clientAddress });
  if (await throttle.locked(a.clientAddress)) {
    log.warn({ result: 'throttled' }, 'auth refused: too many recent failures from this address');
    throw new SmtpError(tooManyAuthFailures);
  }
  // XCLIENT LOGIN= would let a proxy assert any identity; we never trust it.
  if (a.method === 'XCLIENT' || a.password === null) throw new SmtpError(xclientRefused);

  const fail = async (reason: string, answer: SmtpReply): Promise<never> => {
    log.warn({ result: 'failed', reason }, 'authentication failed');
    const lockedOut = await throttle.recordFailure(a.clientAddress);
    if (a.connectionFailures + 1 >= failuresPerConnection || lockedOut) throw new SmtpError(tooManyAuthFailures);
    throw new SmtpError(answer);
  };
  const admit = async (p: Principal): Promise<Principal> => {
    // The right secret from the wrong network still counts as a failure: a leaked password is what this guards against.
    if (!sourceAllowed(p.policy, a.clientAddress)) return fail('source address not allowed', notFromHere(p.kind));
    log.info({ result: 'ok', kind: p.kind }, 'authenticated');
    await noteUse(store, p);
    return p;
  };

  // An API key is also an SMTP password, with the key's name as the username (as Resend's SMTP takes
  // its keys): the key's policy and counts then hold across SMTP and HTTP together.
  const key = looksLikeApiKey(a.password) ? await findActiveKey(store, a.password) : undefined;
  if (key && key.name === a.username) return admit(keyPrincipal(key));

  const credential = await store.getCredential(a.username);
  // Verify against a dummy hash for unknown users so timing does not reveal which names exist.
  const ok = await verifyPassword(a.password, credential?.passwordHash ?? DUMMY_HASH);
  if (credential && ok && !credential.disabled) return admit(credentialPrincipal(credential));
  return fail(!credential ? 'unknown user' : !ok ? 'wrong password' : 'disabled', credential && ok ? credentialDisabled : authFailed);
}
