// One HTTPS request to a provider API over node:https (Node 20's fetch cannot
// take a CA without undici): keep-alive per transport, a hard deadline that also
// honours the caller's signal, a bounded answer, and the negotiated TLS version.
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface HttpClientOptions {
  /** Extra trusted CA (PEM) for tests; production verifies against the system roots only. */
  ca?: string | Buffer;
  /** Deadline for the whole exchange, answer included. */
  timeoutMs: number;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: Buffer;
  signal: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** At most MAX_BODY bytes: provider answers are small; a huge one is cut, not buffered. */
  body: Buffer;
  /** `TLSv1.3`, or undefined over plain http (loopback only). */
  tls?: string;
}

export type FailureKind = 'timeout' | 'aborted' | 'dns' | 'refused' | 'tls' | 'network';

/** The request got no HTTP answer; `kind` decides the reply's enhanced code. */
export class HttpFailure extends Error {
  /**
   * The whole request had been handed to the network when it failed: the provider may
   * have acted on it (sent the mail) with only its answer lost.
   */
  requestSent = false;
  constructor(readonly kind: FailureKind, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

const MAX_BODY = 64 * 1024;

export interface HttpClient {
  request(req: HttpRequest): Promise<HttpResponse>;
  close(): void;
}

export function createHttpClient(opts: HttpClientOptions): HttpClient {
  const httpsAgent = new HttpsAgent({ keepAlive: true, ...(opts.ca && { ca: opts.ca }) });
  const httpAgent = new HttpAgent({ keepAlive: true });

  function request(req: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const secure = req.url.protocol === 'https:';
      const deadline = AbortSignal.timeout(opts.timeoutMs);
      const signal = AbortSignal.any([req.signal, deadline]);
      if (signal.aborted) return reject(abortFailure(deadline, opts.timeoutMs));
      // 'finish': the last byte of the request went to the operating system.
      let sent = false;
      const fail = (f: HttpFailure) => {
        f.requestSent = sent;
        reject(f);
      };
      const send = secure ? httpsRequest : httpRequest;
      const cr = send(req.url, {
        method: req.method,
        agent: secure ? httpsAgent : httpAgent,
        headers: withLength(req.headers, req.body),
        signal,
      });
      cr.on('response', (res) => {
        // Read now: with keep-alive the socket goes back to the agent at 'end'.
        const tls = secure ? ((res.socket as TLSSocket).getProtocol() ?? undefined) : undefined;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size >= MAX_BODY) return;
          chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).subarray(0, MAX_BODY), ...(tls && { tls }) });
        });
        res.on('error', (err) => fail(classify(err, signal, deadline, opts.timeoutMs)));
        res.on('close', () => {
          if (!res.complete) fail(classify(new Error('connection closed before the answer was complete'), signal, deadline, opts.timeoutMs));
        });
      });
      cr.on('finish', () => (sent = true));
      cr.on('error', (err) => fail(classify(err, signal, deadline, opts.timeoutMs)));
      cr.end(req.body);
    });
  }

  return {
    request,
    close() {
      httpsAgent.destroy();
      httpAgent.destroy();
    },
  };
}

/** Lower-case names (a signer may have written Content-Length already), and the body's length. */
function withLength(headers: Record<string, string>, body?: Buffer): Record<string, string> {
  const out = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  if (body) out['content-length'] = String(body.length);
  return out;
}

function abortFailure(deadline: AbortSignal, timeoutMs: number): HttpFailure {
  return deadline.aborted
    ? new HttpFailure('timeout', `no complete answer within ${timeoutMs} ms`)
    : new HttpFailure('aborted', 'delivery attempt aborted');
}

function classify(err: Error, signal: AbortSignal, deadline: AbortSignal, timeoutMs: number): HttpFailure {
  // An abort while the answer streams in surfaces as a reset or a premature close.
  if (err.name === 'AbortError' || signal.aborted) return abortFailure(deadline, timeoutMs);
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new HttpFailure('dns', `cannot resolve ${(err as { hostname?: string }).hostname ?? 'the API host'} (${code})`, { cause: err });
  if (code === 'ECONNREFUSED') return new HttpFailure('refused', `connection refused (${code})`, { cause: err });
  if (/CERT|SSL|TLS|ERR_TLS/.test(code) || /certificate|handshake/i.test(err.message))
    return new HttpFailure('tls', `TLS failed: ${err.message}`, { cause: err });
  return new HttpFailure('network', `${err.message}${code && !err.message.includes(code) ? ` (${code})` : ''}`, { cause: err });
}
