// Pieces the Keys, Webhooks and Domains screens share: notices after an
// action, a secret shown once, and a service's refusal as a sentence.
import { AdminError } from '../../admin/admin-error.ts';
import { ApiError } from '../../ingress/http/errors.ts';
import { html, type Html } from '../html.ts';

/** A notice after an action (Post/Redirect/Get): `?notice=` names one of the screen's own texts, never free text. */
export function noticeOf(texts: Record<string, string>, code: unknown): Html | undefined {
  const text = typeof code === 'string' && Object.hasOwn(texts, code) ? texts[code] : undefined;
  return text ? html`<p class="notice" role="status">${text}</p>` : undefined;
}

/**
 * A secret that is never stored in the clear, shown in the answer to the POST that made it. app.js points the
 * history entry at `plainUrl`, so a reload shows the plain page (without it) instead of posting again.
 */
export const secretOnce = (title: string, what: string, secret: string, plainUrl: string): Html =>
  html`<section class="card secret-once" aria-labelledby="secret-h" data-replace-url="${plainUrl}">
<h2 id="secret-h">${title}</h2>
<p>${what} This is the only time it is shown: copy it now.</p>
<p><code id="secret-value" class="secret-value">${secret}</code> <button type="button" class="secondary" data-copy="secret-value">Copy</button></p>
</section>`;

/** The services' messages ("no webhook wh_1") as a sentence: capital first, full stop last. */
export const sentence = (message: string): string => {
  const s = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
};

/**
 * For `.catch()`: a service's refusal becomes the dashboard's error page (dashboard.ts renders ApiError) —
 * an unknown id as `notFound`, anything else in the service's own words. Other errors pass on untouched.
 */
export const refusedAs = (notFound: string) => (err: unknown): never => {
  if (err instanceof AdminError) {
    if (err.kind === 'not_found') throw new ApiError(404, 'not_found', notFound);
    throw new ApiError(err.kind === 'conflict' ? 409 : 422, err.kind, sentence(err.message));
  }
  throw err;
};
