// API errors: one type, written in the dialect of the endpoint that failed
// (Resend's {statusCode, name, message} or Postmark's {ErrorCode, Message}).
import type { RateLimited } from '../../accept/limits.ts';
import type { AdminError } from '../../admin/admin-error.ts';
import type { SmtpReply } from '../../delivery/smtp-reply.ts';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    /** Resend's error name, e.g. validation_error. */
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Postmark's numeric ErrorCode. */
    readonly postmarkCode = statusCode === 401 ? 10 : statusCode >= 500 ? 500 : 300,
  ) {
    super(message);
  }
}

export const validation = (message: string) => new ApiError(422, 'validation_error', message);
export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);

/** The accept step speaks SMTP; the API answers the same decision in HTTP. */
export function fromSmtpReply(r: SmtpReply): ApiError {
  const message = r.text;
  if (r.enhanced.startsWith('5.7.')) return new ApiError(403, 'validation_error', message, {}, 400);
  if (r.enhanced === '5.3.4') return new ApiError(413, 'validation_error', message);
  if (r.code >= 500) return new ApiError(422, 'validation_error', message);
  // 4xx: our side cannot take it now (disk, store); the client should retry.
  return new ApiError(503, 'application_error', `${message}`, { 'Retry-After': '30' }, 500);
}

/** Over a rate limit or daily quota: 429 with Resend's name for each, Postmark's ErrorCode 429, and when to retry. */
export const overLimit = (e: RateLimited) =>
  new ApiError(429, e.limit === 'day' ? 'daily_quota_exceeded' : 'rate_limit_exceeded', e.reply.text, { 'Retry-After': String(e.retryAfterSec) }, 429);

/** An admin operation's refusal (src/admin/*): 404 not_found, 422 validation_error, or 409 conflict. */
export const fromAdminError = (e: AdminError) =>
  e.kind === 'not_found' ? new ApiError(404, 'not_found', e.message)
    : e.kind === 'invalid' ? new ApiError(422, 'validation_error', e.message)
      : new ApiError(409, 'conflict', e.message);

export const resendBody = (e: ApiError) => ({ statusCode: e.statusCode, name: e.code, message: e.message });
export const postmarkBody = (e: ApiError) => ({ ErrorCode: e.postmarkCode, Message: e.message });
