// One webhook POST over node:http(s), with the address guard as its DNS lookup
// and a hard deadline. Only the status matters; the body is drained, not read.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { createAddressGuard } from './address-guard.ts';

export interface PostResult {
  ok: boolean;
  status?: number;
  error?: string;
}

export function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  opts: { guard: ReturnType<typeof createAddressGuard>; timeoutMs: number },
): Promise<PostResult> {
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return resolve({ ok: false, error: 'invalid URL' });
    }
    if (target.protocol !== 'https:' && target.protocol !== 'http:') return resolve({ ok: false, error: `unsupported scheme ${target.protocol}` });
    // Node skips the lookup for an address literal, so check it here.
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal) && !opts.guard.permitted(literal))
      return resolve({ ok: false, error: `${literal} is a private or special address; allow it with SMARTHOST_WEBHOOK_ALLOWED_NETWORKS` });
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'smarthost-webhooks', ...headers },
      lookup: opts.guard.lookup as never,
      timeout: opts.timeoutMs,
    });
    // `timeout` only fires after that much silence; a peer trickling bytes needs a hard deadline too.
    const deadline = setTimeout(() => req.destroy(new Error(`no complete answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('response', (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve({ ok: status >= 200 && status < 300, status, ...(status >= 300 && { error: `HTTP ${status}` }) });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, error: err.message }));
    req.end(body);
  });
}
