// A provider's HTTP answer in SMTP terms, shared by the five API transports:
// 2xx delivered, 429/5xx/network deferred (the route may be down: retry or fail
// over), our key refused deferred (an operator problem, never the recipient's),
// a permanent validation error bounced. Each provider maps its own documented
// error codes first and falls back on `byStatus`.
import type { DeliveryDetail, RecipientOutcome } from '../../outcome.ts';
import { reply, type SmtpReply } from '../../smtp-reply.ts';
import type { HttpFailure, HttpResponse } from './http-client.ts';

export interface Verdict {
  kind: RecipientOutcome['kind'];
  reply: SmtpReply;
  retryAfterSec?: number;
}

/** Who answered, for reply texts and the outcome's relay field. */
export interface ProviderLabel {
  /** `Resend`, `Amazon SES` */
  title: string;
  /** `API key`, `server token`, `access key` */
  keyName: string;
}

/** `resend (api.resend.com)`, plus the TLS version the answer came over. */
export function detailOf(name: string, url: URL, res?: HttpResponse): DeliveryDetail {
  return { relay: `${name} (${url.host})`, ...(res?.tls && { tls: res.tls }) };
}

/** Provider texts go into reply lines, logs and DSNs: one line, bounded. */
export function oneLine(s: string, max = 300): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The answer's text when it is not the JSON we expected (an HTML error page from a proxy, "Forbidden"). */
export const bodyText = (res: HttpResponse): string => oneLine(res.body.toString('utf8'), 200) || `HTTP ${res.status}`;

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date. */
export function retryAfterSec(res: HttpResponse, now = Date.now()): number | undefined {
  const v = res.headers['retry-after'];
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  if (!s) return undefined;
  if (/^\d+$/.test(s)) return Number(s);
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

export const deliveredVerdict = (p: ProviderLabel, id: string | undefined): Verdict =>
  ({ kind: 'delivered', reply: reply(250, '2.0.0', `Accepted by ${p.title}${id ? ` as ${id}` : ''}`) });

export const keyRefused = (p: ProviderLabel, status: number, message: string): Verdict =>
  ({ kind: 'deferred', reply: reply(454, '4.7.8', `The ${p.title} ${p.keyName} was refused (HTTP ${status}: ${message})`) });

/** The account or sender is not allowed to send (unverified domain, sandbox, suspended): fix at the provider, then it flows. */
export const accountRefused = (p: ProviderLabel, status: number, message: string): Verdict =>
  ({ kind: 'deferred', reply: reply(451, '4.7.1', `${p.title} refused to send for this account (HTTP ${status}): ${message}`) });

export const throttled = (p: ProviderLabel, res: HttpResponse, message: string): Verdict => {
  const after = retryAfterSec(res);
  return { kind: 'deferred', reply: reply(451, '4.7.0', `${p.title} rate limit (HTTP ${res.status}): ${message}`), ...(after !== undefined && { retryAfterSec: after }) };
};

export const serverError = (p: ProviderLabel, status: number, message: string): Verdict =>
  ({ kind: 'deferred', reply: reply(451, '4.3.0', `${p.title} API error (HTTP ${status}): ${message}`) });

export const badRecipient = (p: ProviderLabel, status: number, message: string): Verdict =>
  ({ kind: 'bounced', reply: reply(550, '5.1.1', `${p.title} refused the recipient (HTTP ${status}): ${message}`) });

export const suppressed = (p: ProviderLabel, status: number, message: string): Verdict =>
  ({ kind: 'bounced', reply: reply(550, '5.7.1', `${p.title} blocks this recipient (HTTP ${status}): ${message}`) });

export const badMessage = (p: ProviderLabel, status: number, message: string): Verdict =>
  ({ kind: 'bounced', reply: reply(554, '5.6.0', `${p.title} refused the message (HTTP ${status}): ${message}`) });

export const tooLarge = (p: ProviderLabel, status: number, message: string): Verdict =>
  ({ kind: 'bounced', reply: reply(552, '5.3.4', `${p.title} refused the message as too large (HTTP ${status}): ${message}`) });

/** What a status means when the provider's own error code said nothing more specific. */
export function byStatus(p: ProviderLabel, res: HttpResponse, message: string): Verdict {
  const s = res.status;
  if (s === 429) return throttled(p, res, message);
  if (s === 401 || s === 403) return keyRefused(p, s, message);
  if (s === 413) return tooLarge(p, s, message);
  if (s === 408) return { kind: 'deferred', reply: reply(451, '4.4.2', `${p.title} API timed out (HTTP 408): ${message}`) };
  // A wrong base URL or API version: our configuration, so the mail waits.
  if (s === 404 || s === 405) return { kind: 'deferred', reply: reply(451, '4.3.0', `${p.title} API path not found (HTTP ${s}): ${message}; check the API URL`) };
  if (s === 409) return serverError(p, s, message);
  if (s >= 400 && s < 500) return badMessage(p, s, message);
  return serverError(p, s, message);
}

/** No HTTP answer at all: the route is down or slow, so every recipient waits. */
export function failureVerdict(p: ProviderLabel, err: HttpFailure): Verdict {
  const enhanced = { timeout: '4.4.2', aborted: '4.3.0', dns: '4.4.3', refused: '4.4.1', tls: '4.7.5', network: '4.4.2' } as const;
  return { kind: 'deferred', reply: reply(451, enhanced[err.kind], `${p.title} API: ${err.message}`) };
}

export function outcome(rcpt: string, v: Verdict, detail: DeliveryDetail, providerMessageId?: string): RecipientOutcome {
  return {
    rcpt, kind: v.kind, reply: v.reply, ...detail,
    ...(v.kind === 'deferred' && v.retryAfterSec !== undefined && { retryAfterSec: v.retryAfterSec }),
    ...(providerMessageId && { providerMessageId }),
  } as RecipientOutcome;
}
