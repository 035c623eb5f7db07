// Local HTTPS (or loopback http) stand-ins for the five provider APIs (the only thing in our tests
// that cannot run here). Each checks what the provider's documentation requires
// of a request — method, path, auth header (SES: a SigV4 signature verified with
// AWS's own signer), content type and body shape — and answers as the provider
// does: a refused key like the provider refuses it, a malformed request with the
// provider's validation error plus an entry in `problems`, else the next queued
// answer or the documented success.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { testPki } from './pki.ts';

export type FakeProviderName = 'resend' | 'postmark' | 'sendgrid' | 'mailgun' | 'ses';

export interface SesCredentials {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface FakeProviderOptions {
  /** The API key / server token the provider accepts (SES: see `ses`). */
  key?: string;
  /** Mailgun: the sending domain in the path. */
  domain?: string;
  ses?: SesCredentials;
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
  /**
   * Plain http:// (smarthost allows it for loopback API URLs), for a smarthost
   * started in-process through config alone, which has no way to trust the test CA.
   */
  plain?: boolean;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The JSON body, for the JSON APIs. */
  json?: any;
  /** Mailgun: the multipart fields (`to` repeated, `message` the MIME file's bytes). */
  form?: { to: string[]; message?: Buffer };
}

export interface CannedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Take the request (recorded as sent) and never answer: the caller's deadline ends it. */
  silent?: boolean;
}

export interface FakeProvider {
  name: FakeProviderName;
  /** Base URL to configure as SMARTHOST_<PROVIDER>_API_URL. */
  url: string;
  /** The test CA that signed the server's certificate. */
  ca: Buffer;
  /** Send requests (not checks) as received, in order. */
  requests: ReceivedRequest[];
  /** Every check a request failed; a passing test expects []. */
  problems: string[];
  /** Answers for the next send requests, in order; then the documented success again. */
  queue(...answers: CannedAnswer[]): void;
}

/** Documented answers, for tests that need a provider to refuse or fail. */
export const answers = {
  throttle: (name: FakeProviderName, retryAfter = '30'): CannedAnswer => ({
    status: 429, headers: { 'retry-after': retryAfter }, body: errorBody(name, 429, 'rate limit exceeded'),
  }),
  serverError: (name: FakeProviderName): CannedAnswer => ({ status: 500, body: errorBody(name, 500, 'internal server error') }),
  /** The provider took the request (maybe sent the mail) and the answer never came. */
  lostAnswer: (): CannedAnswer => ({ status: 0, silent: true }),
};

function errorBody(name: FakeProviderName, status: number, message: string): unknown {
  switch (name) {
    case 'resend': return { statusCode: status, name: status === 429 ? 'rate_limit_exceeded' : 'internal_server_error', message };
    case 'postmark': return { ErrorCode: status === 429 ? 429 : 100, Message: message };
    case 'sendgrid': return { errors: [{ message, field: null, help: null }] };
    case 'mailgun': return { message };
    case 'ses': return { message };
  }
}

function success(name: FakeProviderName, req: ReceivedRequest, domain: string): CannedAnswer {
  const id = randomUUID();
  switch (name) {
    case 'resend': return { status: 200, body: { id } };
    case 'postmark': return { status: 200, body: { To: req.json?.To, SubmittedAt: new Date().toISOString(), MessageID: id, ErrorCode: 0, Message: 'OK' } };
    case 'sendgrid': return { status: 202, headers: { 'x-message-id': id.replace(/-/g, '').slice(0, 22) } };
    case 'mailgun': return { status: 200, body: { id: `<${id}@${domain}>`, message: 'Queued. Thank you.' } };
    case 'ses': return { status: 200, body: { MessageId: `0100${id.replace(/-/g, '')}-000000` } };
  }
}

const header = (h: IncomingHttpHeaders, name: string) => {
  const v = h[name];
  return Array.isArray(v) ? v.join(', ') : v;
};

export async function startFakeProvider(name: FakeProviderName, t: TestContext, opts: FakeProviderOptions = {}): Promise<FakeProvider> {
  const pki = testPki();
  const host = opts.host ?? '127.0.0.1';
  const { cert, key } = pki.issue({ cn: 'localhost', san: ['DNS:localhost', `IP:${host}`] });
  const domain = opts.domain ?? 'mg.example.com';
  const requests: ReceivedRequest[] = [];
  const problems: string[] = [];
  const canned: CannedAnswer[] = [];

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const received: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      const answer = await handle(received);
      if (answer.silent) return;
      res.writeHead(answer.status, { ...(answer.body !== undefined && { 'content-type': 'application/json' }), ...answer.headers });
      res.end(answer.body === undefined ? undefined : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    });
  };
  const server = opts.plain ? createHttpServer(onRequest) : createHttpsServer({ cert, key }, onRequest);

  const problem = (p: string): CannedAnswer => {
    problems.push(p);
    return { status: name === 'postmark' ? 422 : 400, body: errorBody(name, 400, p) };
  };

  async function handle(r: ReceivedRequest): Promise<CannedAnswer> {
    const refused = await checkAuth(r);
    if (refused) return refused;
    if (r.method === 'GET') return checkAnswer(r);
    if (r.method !== 'POST' || r.path !== sendPath()) return problem(`unexpected ${r.method} ${r.path}`);
    const shape = await checkShape(r);
    if (shape) return problem(shape);
    requests.push(r);
    return canned.shift() ?? success(name, r, domain);
  }

  const sendPath = () => ({
    resend: '/emails', postmark: '/email', sendgrid: '/v3/mail/send', mailgun: `/v3/${domain}/messages.mime`, ses: '/v2/email/outbound-emails',
  })[name];

  async function checkAuth(r: ReceivedRequest): Promise<CannedAnswer | undefined> {
    switch (name) {
      case 'resend':
        // resend.com/docs/api-reference/errors: missing key 401, invalid key 403.
        if (!r.headers.authorization) return { status: 401, body: { statusCode: 401, name: 'missing_api_key', message: 'Missing API key in the authorization header.' } };
        if (r.headers.authorization !== `Bearer ${opts.key}`) return { status: 403, body: { statusCode: 403, name: 'invalid_api_key', message: 'API key is invalid' } };
        return undefined;
      case 'postmark':
        if (header(r.headers, 'x-postmark-server-token') !== opts.key)
          return { status: 401, body: { ErrorCode: 10, Message: 'The Server Token you provided in the X-Postmark-Server-Token request header was invalid.' } };
        if (header(r.headers, 'accept') !== 'application/json') problems.push('Postmark requires Accept: application/json');
        return undefined;
      case 'sendgrid':
        if (r.headers.authorization !== `Bearer ${opts.key}`)
          return { status: 401, body: { errors: [{ field: null, message: 'The provided authorization grant is invalid, expired, or revoked', help: null }] } };
        return undefined;
      case 'mailgun':
        // HTTP Basic with user "api" and the key as password; Mailgun answers a plain "Forbidden".
        if (r.headers.authorization !== `Basic ${Buffer.from(`api:${opts.key}`).toString('base64')}`) return { status: 401, body: 'Forbidden' };
        return undefined;
      case 'ses': {
        const why = await verifySigV4(r, opts.ses!);
        return why ? { status: 403, headers: { 'x-amzn-errortype': 'SignatureDoesNotMatch:' }, body: { message: why } } : undefined;
      }
    }
  }

  function checkAnswer(r: ReceivedRequest): CannedAnswer {
    const ok: Record<FakeProviderName, [string, unknown]> = {
      resend: ['/domains', { object: 'list', data: [{ id: randomUUID(), name: 'example.com', status: 'verified', region: 'us-east-1' }] }],
      postmark: ['/server', { ID: 1, Name: 'smarthost test', DeliveryType: 'Live' }],
      sendgrid: ['/v3/scopes', { scopes: ['mail.send', 'scopes.read'] }],
      mailgun: [`/v3/domains/${domain}`, { domain: { name: domain, state: 'active' } }],
      ses: ['/v2/email/account', { SendingEnabled: true, ProductionAccessEnabled: true, EnforcementStatus: 'HEALTHY' }],
    };
    const [path, body] = ok[name];
    return r.path === path ? { status: 200, body } : problem(`unexpected GET ${r.path}`);
  }

  async function checkShape(r: ReceivedRequest): Promise<string | undefined> {
    const ct = header(r.headers, 'content-type') ?? '';
    if (name === 'mailgun') {
      if (!ct.startsWith('multipart/form-data; boundary=')) return `Mailgun messages.mime needs multipart/form-data, got ${ct}`;
      const form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': ct }, body: new Uint8Array(r.body) }).formData();
      const message = form.get('message');
      r.form = { to: form.getAll('to').map(String), message: message instanceof Blob ? Buffer.from(await message.arrayBuffer()) : undefined };
      if (!r.form.to.length) return "'to' parameter is missing";
      // documentation.mailgun.com: at most 1,000 recipients per message.
      if (r.form.to.length > 1000) return 'Too many recipients: maximum is 1000';
      if (r.form.message === undefined) return "'message' parameter is not a file";
      return undefined;
    }
    if (!ct.startsWith('application/json')) return `expected application/json, got ${ct}`;
    try {
      r.json = JSON.parse(r.body.toString('utf8'));
    } catch {
      return 'body is not JSON';
    }
    const j = r.json;
    switch (name) {
      case 'resend':
        if (typeof j.from !== 'string' || !Array.isArray(j.to) || !j.to.length || j.to.length > 50) return 'from and 1-50 to are required';
        if ((j.cc ?? []).length > 50 || (j.bcc ?? []).length > 50) return 'at most 50 cc and 50 bcc';
        if (typeof j.subject !== 'string' || (j.text === undefined && j.html === undefined)) return 'subject and text or html are required';
        if (r.headers['idempotency-key'] !== undefined && !/^.{1,256}$/.test(String(r.headers['idempotency-key']))) return 'invalid idempotency key';
        return undefined;
      case 'postmark':
        if (typeof j.From !== 'string' || typeof j.To !== 'string' || !j.To) return 'From and To are required';
        if (!j.TextBody && !j.HtmlBody) return 'Provide either email TextBody or HtmlBody or both.';
        // postmarkapp.com/developer/api/email-api: To, Cc and Bcc take at most 50 addresses each.
        if ([j.To, j.Cc, j.Bcc].some((f) => typeof f === 'string' && f.split(',').length > 50)) return 'Maximum of 50 recipients';
        return undefined;
      case 'sendgrid': {
        const p = j.personalizations;
        if (!Array.isArray(p) || !p.length || p.some((x: any) => !Array.isArray(x.to) || !x.to.length)) return 'every personalization needs a to';
        if (typeof j.from?.email !== 'string' || typeof j.subject !== 'string') return 'from.email and subject are required';
        if (!Array.isArray(j.content) || !j.content.length) return 'content is required';
        if (j.content.length > 1 && j.content[0].type !== 'text/plain') return 'text/plain must be the first content';
        // The total of to, cc and bcc across personalizations is at most 1000.
        if (p.reduce((n: number, x: any) => n + x.to.length + (x.cc?.length ?? 0) + (x.bcc?.length ?? 0), 0) > 1000) return 'too many recipients (max 1000)';
        return undefined;
      }
      case 'ses':
        if (typeof j.Content?.Raw?.Data !== 'string' || !Array.isArray(j.Destination?.ToAddresses)) return 'Content.Raw.Data and Destination are required';
        // docs.aws.amazon.com/ses: at most 50 recipients per message, To, Cc and Bcc together.
        if (j.Destination.ToAddresses.length + (j.Destination.CcAddresses?.length ?? 0) + (j.Destination.BccAddresses?.length ?? 0) > 50) return 'Recipient count exceeds 50.';
        return undefined;
    }
  }

  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const { port } = server.address() as AddressInfo;
  return {
    name, url: `${opts.plain ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${port}`, ca: pki.ca, requests, problems,
    queue: (...a) => canned.push(...a),
  };
}

/**
 * Recomputes the request's SigV4 signature with AWS's own signer over the
 * headers it names as signed, and compares: any difference in the canonical
 * request, scope, key derivation or date fails. Returns why, or undefined.
 */
async function verifySigV4(r: ReceivedRequest, creds: SesCredentials): Promise<string | undefined> {
  const auth = header(r.headers, 'authorization') ?? '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return `malformed Authorization header: ${auth}`;
  const [, keyId, day, region, service, signedHeaders] = m;
  if (keyId !== creds.accessKeyId) return 'The security token included in the request is invalid.';
  if (region !== creds.region || service !== 'ses') return `credential scope should be ${creds.region}/ses, got ${region}/${service}`;
  const amzDate = header(r.headers, 'x-amz-date') ?? '';
  if (!amzDate.startsWith(day!)) return 'x-amz-date does not match the credential scope date';
  if (creds.sessionToken && header(r.headers, 'x-amz-security-token') !== creds.sessionToken) return 'session token missing';
  const names = signedHeaders!.split(';');
  for (const required of ['host', 'x-amz-date', ...(creds.sessionToken ? ['x-amz-security-token'] : [])])
    if (!names.includes(required)) return `${required} must be signed`;
  const headers: Record<string, string> = {};
  for (const n of names) headers[n] = header(r.headers, n) ?? '';
  const url = new URL(r.path, 'https://placeholder');
  const signer = new SignatureV4({
    service: 'ses', region: creds.region, applyChecksum: false, sha256: NodeSha256,
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, ...(creds.sessionToken && { sessionToken: creds.sessionToken }) },
  });
  const signed = await signer.sign({
    method: r.method, protocol: 'https:', hostname: headers.host!, path: url.pathname,
    query: Object.fromEntries(url.searchParams), headers, body: r.body.toString('utf8'),
  }, { signingDate: parseAmzDate(amzDate) });
  const expected = signed.headers.authorization ?? signed.headers.Authorization;
  return expected === auth ? undefined : 'The request signature we calculated does not match the signature you provided.';
}

const parseAmzDate = (s: string) => new Date(s.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));

/** The Checksum shape @smithy/signature-v4 expects, over node:crypto. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    throw new Error('not used');
  }
}

function toBuffer(d: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof d === 'string') return Buffer.from(d, 'utf8');
  if (ArrayBuffer.isView(d)) return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  return Buffer.from(d);
}
