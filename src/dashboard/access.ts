// Who may reach a dashboard route. Every route says what it is in its config:
// 'public' (login, assets), 'page' (HTML: without a session, redirect to the
// login), or 'data' (fragments, downloads, the live stream, every POST: 401).
// A route that says nothing is 'data': access is denied by default. Every
// request that changes something must come from our own origin and carry the
// session's CSRF token (synchronizer token, in a form field or an htmx header).
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminSession, Store } from '../store/store.ts';
import { csrfTokenMatches, findSession, SESSION_COOKIE, type SessionTimes } from './sessions.ts';

export type Access = 'public' | 'page' | 'data';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    adminSession?: AdminSession;
  }
}

export const LOGIN_PATH = '/ui/login';
export const CSRF_FIELD = '_csrf';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Plain words for each refusal: what happened and what to do. */
export const REFUSED = {
  noSession: 'You are not logged in, or your session has ended. Log in again.',
  crossSite: 'This request came from another site and was refused. Open the dashboard directly and try again.',
  csrf: 'This form has expired or was not sent by the dashboard. Reload the page and try again.',
} as const;

/** The host a browser says it sent the request from (Origin, else Referer); undefined when it said neither. */
function claimedHost(req: FastifyRequest): string | null | undefined {
  const source = req.headers.origin ?? req.headers.referer;
  if (source === undefined) return undefined;
  try {
    return new URL(source).host;
  } catch {
    return null; // "null" (a sandboxed or privacy-stripped origin) or garbage: not us
  }
}

export function accessCheck(store: Store, times: SessionTimes, refuse: (reply: FastifyReply, status: number, message: string) => FastifyReply) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const access: Access = req.routeOptions.config?.access ?? 'data';
    const changes = !SAFE_METHODS.has(req.method);
    // Origin check first, for every change including the login form (login CSRF).
    // Browsers send Origin with every POST; a request without Origin and Referer relies on the token alone.
    if (changes) {
      const host = claimedHost(req);
      if (host !== undefined && host !== req.headers.host) return refuse(reply, 403, REFUSED.crossSite);
    }
    if (access === 'public') return;
    const session = await findSession(store, req.cookies[SESSION_COOKIE], times);
    if (!session) {
      if (access === 'page' && req.method === 'GET') return reply.redirect(`${LOGIN_PATH}?next=${encodeURIComponent(req.url)}`, 302);
      // htmx follows HX-Redirect, so a fragment request after the session ended lands on the login page.
      return refuse(reply.header('HX-Redirect', LOGIN_PATH), 401, REFUSED.noSession);
    }
    if (changes) {
      const body = req.body as Record<string, unknown> | undefined;
      const token = req.headers[CSRF_HEADER] ?? body?.[CSRF_FIELD];
      if (!csrfTokenMatches(session, token)) return refuse(reply, 403, REFUSED.csrf);
    }
    req.adminSession = session;
  };
}
