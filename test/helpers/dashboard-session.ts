// A logged-in dashboard session over real HTTP: the cookie from POST /ui/login
// and the page's CSRF token, with helpers that send forms as a browser does.
import { SESSION_COOKIE } from '../../src/dashboard/sessions.ts';
import type { TestSmarthost } from './smarthost.ts';

export interface DashboardSession {
  base: string;
  cookie: string;
  csrf: string;
  get(path: string): Promise<Response>;
  /** A form POST with exactly these fields, in order (no CSRF token unless given). */
  send(path: string, fields: [string, string][], headers?: Record<string, string>): Promise<Response>;
  /** A form POST carrying the session's CSRF token first. */
  post(path: string, fields?: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
  /** The same request without the CSRF token. */
  forged(path: string, fields?: Record<string, string>): Promise<Response>;
}

export async function dashboardSession(s: TestSmarthost, password: string): Promise<DashboardSession> {
  const base = `http://127.0.0.1:${s.ports.http}`;
  const form = { 'content-type': 'application/x-www-form-urlencoded', origin: base };
  const login = await fetch(`${base}/ui/login`, { method: 'POST', redirect: 'manual', headers: form, body: new URLSearchParams({ password }) });
  const cookie = login.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))?.split(';')[0];
  if (!cookie) throw new Error(`login refused: ${login.status} ${await login.text()}`);
  const page = await (await fetch(`${base}/ui/`, { headers: { cookie } })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
  if (!csrf) throw new Error('no CSRF token on the overview page');
  const get = (path: string) => fetch(base + path, { headers: { cookie }, redirect: 'manual' });
  const send = (path: string, fields: [string, string][], headers: Record<string, string> = {}) =>
    fetch(base + path, { method: 'POST', redirect: 'manual', body: new URLSearchParams(fields), headers: { cookie, ...form, ...headers } });
  return {
    base, cookie, csrf, get, send,
    post: (path, fields = {}, headers = {}) => send(path, [['_csrf', csrf], ...Object.entries(fields)], headers),
    forged: (path, fields = {}) => send(path, Object.entries(fields)),
  };
}
