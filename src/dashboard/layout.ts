// The page shell every screen shares: navigation, the CSRF token for htmx, the
// live-update stream and assets with content-hashed URLs.
import type { AdminSession } from '../store/store.ts';
import { CSRF_FIELD, CSRF_HEADER } from './access.ts';
import { assetUrl } from './assets.ts';
import { html, type Html } from './html.ts';

export type Section = 'overview' | 'messages' | 'suppressions' | 'keys' | 'webhooks' | 'domains' | 'connect' | 'login' | 'error';

const NAV: [Exclude<Section, 'login' | 'error'>, string, string][] = [
  ['overview', 'Overview', '/ui/'],
  ['messages', 'Messages', '/ui/messages'],
  ['suppressions', 'Suppressions', '/ui/suppressions'],
  ['keys', 'Keys', '/ui/keys'],
  ['webhooks', 'Webhooks', '/ui/webhooks'],
  ['domains', 'Domains', '/ui/domains'],
  ['connect', 'Connect an app', '/ui/connect'],
];

export interface PageOptions {
  title: string;
  section: Section;
  session?: AdminSession;
  body: Html;
  /**
   * Follow the store's events and refresh marked parts of the page (app.js), from this event id: the store's
   * last one when the page's data was read, so a change made while the page loads is not missed.
   */
  live?: number;
}

export function page({ title, section, session, body, live }: PageOptions): string {
  const headers = session ? JSON.stringify({ [CSRF_HEADER]: session.csrfToken }) : undefined;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}'>
<title>${title} · smarthost</title>
<link rel="stylesheet" href="${assetUrl('app.css')}">
<script src="${assetUrl('htmx.min.js')}" defer></script>
<script src="${assetUrl('app.js')}" defer></script>
</head>
<body${headers && html` hx-headers="${headers}"`}${live !== undefined && html` data-live="/ui/live?after=${live}"`}>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/ui/">smarthost</a>
  ${session && html`<nav aria-label="Main"><ul>${NAV.map(([key, label, href]) =>
    html`<li><a href="${href}" ${key === section ? html`aria-current="page"` : ''}>${label}</a></li>`)}</ul></nav>
  <form method="post" action="/ui/logout" class="logout">${csrfField(session)}<button type="submit">Log out</button></form>`}
</header>
<main id="main" tabindex="-1">
${body}
</main>
</body>
</html>`.value;
}

export const csrfField = (session: AdminSession | undefined): Html =>
  html`<input type="hidden" name="${CSRF_FIELD}" value="${session?.csrfToken}">`;

/** A notice after an action (Post/Redirect/Get): `?notice=` names one of these, never free text. */
export const NOTICES: Record<string, string> = {
  'logged-out': 'You are logged out.',
  retried: 'Retry scheduled: the pending recipients are due now.',
  'nothing-to-retry': 'Nothing to retry: no recipient of this message is still pending.',
  cancelled: 'Taken out of the queue: its pending recipients are cancelled and will not be delivered.',
  'nothing-to-cancel': 'Nothing to take out of the queue: no recipient of this message is still pending.',
  suppressed: 'The address is now suppressed: nothing more will be sent to it.',
  unsuppressed: 'The address was removed from the suppression list.',
  'not-suppressed': 'That address was not on the suppression list.',
  revoked: 'The API key was revoked: requests with it are refused from now on.',
  disabled: 'The credential was disabled: SMTP logins with it are refused from now on.',
  enabled: 'The credential was enabled again.',
  replayed: 'Replay scheduled: the events will be sent again shortly.',
  'nothing-to-replay': 'Nothing to replay: no event of this endpoint matched.',
  'webhook-removed': 'The endpoint was removed.',
};

export function notice(code: unknown): Html | undefined {
  const text = typeof code === 'string' ? NOTICES[code] : undefined;
  return text ? html`<p class="notice" role="status">${text}</p>` : undefined;
}

export const errorBox = (message: string | undefined): Html | undefined =>
  message ? html`<p class="error" role="alert">${message}</p>` : undefined;
