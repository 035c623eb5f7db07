// Amazon SES v2: POST /v2/email/outbound-emails with the stored message as
// Content.Raw.Data (base64), unchanged, so our DKIM signature and every header
// survive; the envelope recipients go in Destination. Signed with SigV4 (aws4,
// service "ses"). The API has no idempotency key: a call whose answer is lost
// may be sent again. Errors name their type in the X-Amzn-ErrorType header.
import aws4 from 'aws4';
import type { SesConfig } from '../../../config/providers.ts';
import type { RecipientOutcome, Transport } from '../../outcome.ts';
import { checkCall, inChunks, isolateRefusedRecipient, neverThrow, sendCall, type Answer, type ApiContext } from './api-call.ts';
import type { HttpClient, HttpRequest, HttpResponse } from './http-client.ts';
import {
  accountRefused, badMessage, badRecipient, bodyText, byStatus, deliveredVerdict, keyRefused, oneLine, parseJson,
  serverError, suppressed, throttled, tooLarge, type ProviderLabel,
} from './outcomes.ts';

const label: ProviderLabel = { title: 'Amazon SES', keyName: 'access key' };

/** docs.aws.amazon.com/ses/latest/dg/quotas.html: at most 50 recipients per message. */
const MAX_RECIPIENTS = 50;

const AUTH_ERRORS = new Set([
  'UnrecognizedClientException', 'InvalidSignatureException', 'SignatureDoesNotMatch', 'IncompleteSignature',
  'AccessDeniedException', 'ExpiredTokenException', 'InvalidClientTokenId', 'MissingAuthenticationToken',
]);

/** The error type from X-Amzn-ErrorType (`MessageRejected:http://…`) or the body's __type/code, and its message. */
export function sesError(res: HttpResponse): { type: string; message: string } {
  const body = parseJson(res.body) as { message?: unknown; Message?: unknown; __type?: unknown; code?: unknown } | undefined;
  const h = res.headers['x-amzn-errortype'];
  const raw = (Array.isArray(h) ? h[0] : h) ?? (typeof body?.__type === 'string' ? body.__type : typeof body?.code === 'string' ? body.code : '');
  const type = raw.split(':')[0]!.replace(/^.*#/, '');
  const m = body?.message ?? body?.Message;
  return { type, message: typeof m === 'string' ? oneLine(m) : bodyText(res) };
}

export function interpretSes(res: HttpResponse): Answer {
  const s = res.status;
  if (s >= 200 && s < 300) {
    const id = (parseJson(res.body) as { MessageId?: unknown } | undefined)?.MessageId;
    const providerMessageId = typeof id === 'string' ? id : undefined;
    return { verdict: deliveredVerdict(label, providerMessageId), providerMessageId };
  }
  const { type, message } = sesError(res);
  const text = type ? `${type}: ${message}` : message;
  if (s === 429 || type === 'TooManyRequestsException' || type === 'LimitExceededException' || type === 'ThrottlingException')
    return { verdict: throttled(label, res, text) };
  if (AUTH_ERRORS.has(type) || s === 401 || s === 403) return { verdict: keyRefused(label, s, text) };
  switch (type) {
    case 'AccountSuspendedException': case 'SendingPausedException': case 'MailFromDomainNotVerifiedException':
    // A configuration set that does not exist: fix SMARTHOST_SES_CONFIGURATION_SET.
    case 'NotFoundException':
      return { verdict: accountRefused(label, s, text) };
    case 'MessageRejected':
      // "Email address is not verified" is the sandbox or an unverified sender: the account's problem.
      if (/not verified/i.test(message)) return { verdict: accountRefused(label, s, text) };
      if (/too large|length|size/i.test(message)) return { verdict: tooLarge(label, s, text) };
      if (/suppress|blocked|virus/i.test(message)) return { verdict: suppressed(label, s, text) };
      return { verdict: /address|recipient/i.test(message) ? badRecipient(label, s, text) : badMessage(label, s, text) };
    case 'BadRequestException':
      return { verdict: /address|recipient|destination/i.test(message) ? badRecipient(label, s, text) : badMessage(label, s, text) };
  }
  if (s >= 500) return { verdict: serverError(label, s, text) };
  return { verdict: byStatus(label, res, text) };
}

export function createSesTransport(config: SesConfig, client: HttpClient): Transport {
  const ctx: ApiContext = { name: 'ses', label, client };
  const base = (config.apiUrl?.href ?? `https://email.${config.region}.amazonaws.com`).replace(/\/$/, '');
  const credentials = {
    accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey,
    ...(config.sessionToken && { sessionToken: config.sessionToken }),
  };
  const sendUrl = new URL(`${base}/v2/email/outbound-emails`);

  /** SigV4 over host, date, content type and length (and the session token): aws4 adds the headers it signed. */
  function signed(method: 'GET' | 'POST', url: URL, signal: AbortSignal, body?: Buffer): HttpRequest {
    const headers: Record<string, string> = { 'user-agent': 'smarthost', ...(body && { 'content-type': 'application/json' }) };
    const opts = aws4.sign({ host: url.host, method, path: url.pathname, service: 'ses', region: config.region, headers, ...(body && { body }) }, credentials);
    return { method, url, headers: opts.headers as Record<string, string>, ...(body && { body }), signal };
  }

  return {
    name: 'ses',
    send: (msg, rcpts, signal) => neverThrow(ctx, sendUrl, rcpts, async () => {
      const call = (piece: readonly string[]) => {
        const body = Buffer.from(JSON.stringify({
          Destination: { ToAddresses: piece },
          Content: { Raw: { Data: msg.raw.toString('base64') } },
          ...(config.configurationSet && { ConfigurationSetName: config.configurationSet }),
        }));
        return sendCall(ctx, signed('POST', sendUrl, signal, body), piece, interpretSes);
      };
      const outcomes: RecipientOutcome[] = [];
      for (const piece of inChunks(rcpts, MAX_RECIPIENTS)) outcomes.push(...await isolateRefusedRecipient(await call(piece), (rcpt) => call([rcpt])));
      return outcomes;
    }),
    check: (signal) => checkCall(ctx, signed('GET', new URL(`${base}/v2/email/account`), signal), (res) => {
      if (res.status !== 200) return undefined;
      const a = parseJson(res.body) as { SendingEnabled?: unknown; ProductionAccessEnabled?: unknown } | undefined;
      const access = a?.ProductionAccessEnabled ? 'production access' : 'sandbox: verified recipients only';
      return a?.SendingEnabled === false
        ? { ok: false, detail: `access key accepted, but sending is disabled for this SES account (${access})` }
        : { ok: true, detail: `access key accepted (sending enabled, ${access})` };
    }, (res) => {
      const { type, message } = sesError(res);
      return type ? `${type}: ${message}` : message;
    }),
    close: async () => client.close(),
  };
}
