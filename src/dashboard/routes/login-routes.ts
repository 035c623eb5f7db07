// Log in with the admin password, log out. Failed logins are counted per client
// address in the store (the SMTP AUTH throttle, in its own scope), so every node
// refuses a guesser alike.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { storeAuthThrottle } from '../../ingress/smtp/auth-throttle.ts';
import { checkAdminPassword } from '../admin-password.ts';
import type { DashboardDeps } from '../dashboard.ts';
import { html } from '../html.ts';
import { errorBox, notice, page } from '../layout.ts';
import { endSession, SESSION_COOKIE, startSession } from '../sessions.ts';

/** Only our own pages are places to return to after login (no open redirect). */
const safeNext = (next: unknown): string => (typeof next === 'string' && /^\/ui\/(?![/\\])/.test(next) ? next : '/ui/');

export const loginMessages = {
  wrong: 'Wrong password. Try again; the password was printed at the first start, or set SMARTHOST_ADMIN_PASSWORD and restart.',
  throttled: (minutes: number) =>
    `Too many failed logins from your address. Wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again.`,
};

function loginPage(reply: FastifyReply, status: number, opts: { next?: string; error?: string; bye?: boolean }): FastifyReply {
  const body = html`<section class="login">
<h1>Log in to smarthost</h1>
${errorBox(opts.error)}${opts.bye && notice('logged-out')}
<form method="post" action="/ui/login">
  <input type="hidden" name="next" value="${safeNext(opts.next)}">
  <input type="text" name="username" value="admin" autocomplete="username" hidden>
  <label for="password">Admin password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
  <button type="submit">Log in</button>
</form>
</section>`;
  return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page({ title: 'Log in', section: 'login', body }));
}

export function loginRoutes(app: FastifyInstance, { store, dashboard }: DashboardDeps): void {
  const throttle = storeAuthThrottle(store, dashboard.loginFailures.limit, dashboard.loginFailures.windowMs, 'dashboard ');
  const minutes = Math.max(1, Math.ceil(dashboard.loginFailures.windowMs / 60_000));

  app.get<{ Querystring: { next?: string; bye?: string } }>('/login', { config: { access: 'public' } }, (req, reply) =>
    loginPage(reply, 200, { next: req.query.next, bye: req.query.bye === '1' }));

  app.post<{ Body: { password?: string; next?: string } }>('/login', { config: { access: 'public' } }, async (req, reply) => {
    const next = req.body?.next;
    if (await throttle.locked(req.ip)) return loginPage(reply, 429, { next, error: loginMessages.throttled(minutes) });
    if (typeof req.body?.password !== 'string' || !(await checkAdminPassword(store, req.body.password))) {
      await throttle.recordFailure(req.ip);
      return loginPage(reply, 401, { next, error: loginMessages.wrong });
    }
    const { cookie } = await startSession(store, dashboard.sessions);
    // A browser session cookie; the store ends it after the idle time or the lifetime, whichever comes first.
    reply.setCookie(SESSION_COOKIE, cookie, { path: '/ui', httpOnly: true, sameSite: 'strict', secure: dashboard.secure });
    return reply.redirect(safeNext(next), 303);
  });

  app.post('/logout', { config: { access: 'data' } }, async (req, reply) => {
    await endSession(store, req.cookies[SESSION_COOKIE]);
    reply.clearCookie(SESSION_COOKIE, { path: '/ui', httpOnly: true, sameSite: 'strict', secure: dashboard.secure });
    return reply.redirect('/ui/login?bye=1', 303);
  });
}
