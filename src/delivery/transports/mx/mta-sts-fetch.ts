// Fetches a domain's MTA-STS policy file the way RFC 8461 §3.3 asks: HTTPS to
// mta-sts.<domain> with a certificate valid for that name, 200 only (redirects
// are not followed), text/plain, bounded in size and time. The host is resolved
// through the delivery resolver (SMARTHOST_DNS_SERVERS), like the MX hosts.
import type { LookupAddress } from 'node:dns';
import type { Resolver } from 'node:dns/promises';
import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import { explainError } from '../../../doctor/explain.ts';

export interface PolicyFetchOptions {
  resolver: Resolver;
  /** ms for the whole fetch: lookup, connect, handshake and body. */
  timeoutMs: number;
  /** RFC 8461 §3.3 fixes 443; tests serve the policy on another loopback port. */
  httpsPort?: number;
  /** CAs trusted besides Node's (which include NODE_EXTRA_CA_CERTS): a test's private CA. */
  extraCa?: readonly (string | Buffer)[];
}

/** RFC 8461 §3.3: senders may limit the policy size; 64 KiB is the suggested bound. */
export const MAX_POLICY_BYTES = 64 * 1024;

type LookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for node:https that asks our resolver (A first, then AAAA) instead of getaddrinfo. */
function lookupThrough(resolver: Resolver) {
  return (name: string, options: { all?: boolean }, cb: LookupCallback) => {
    void (async () => {
      const found: LookupAddress[] = [];
      for (const [family, resolve] of [[4, () => resolver.resolve4(name)], [6, () => resolver.resolve6(name)]] as const) {
        try {
          found.push(...(await resolve()).map((address) => ({ address, family })));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENODATA' && code !== 'ENOTFOUND') return cb(err as Error, '');
        }
      }
      if (!found.length) return cb(Object.assign(new Error(`${name} has no address`), { code: 'ENOTFOUND' }), '');
      if (options.all) cb(null, found);
      else cb(null, found[0]!.address, found[0]!.family);
    })();
  };
}

/** One line in plain words for a failed fetch, e.g. "the certificate does not name this host (…)". */
function describeFailure(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const why = explainError(err);
  const detail = (e.reason ?? e.message ?? String(err)).replace(/\s+/g, ' ').trim();
  return why.category === 'other' ? detail : `${why.meaning} (${detail})`;
}

/** The policy file's text; throws an Error whose message says in plain words why there is none. */
export function fetchPolicyFile(domain: string, opts: PolicyFetchOptions): Promise<string> {
  const host = `mta-sts.${domain}`;
  const url = `https://${host}/.well-known/mta-sts.txt`;
  const fail = (why: string) => new Error(`${url}: ${why}`);
  return new Promise((resolve, reject) => {
    // Settles once, whatever comes first: the whole file, a refusal, a failure, or the time limit.
    let settled = false;
    const settle = (err: Error | undefined, text?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(text!);
    };
    const req = request({
      host, port: opts.httpsPort ?? 443, path: '/.well-known/mta-sts.txt', method: 'GET', servername: host,
      lookup: lookupThrough(opts.resolver) as never, agent: false,
      // Verified against Node's CAs; `ca` replaces them, so a test's CA is added to them, never instead.
      rejectUnauthorized: true, ...(opts.extraCa?.length ? { ca: [...rootCertificates, ...opts.extraCa] } : {}),
    }, (res) => {
      if (res.statusCode !== 200) {
        const where = res.headers.location ? ` (redirect to ${res.headers.location}, not followed)` : '';
        return req.destroy(fail(`HTTP ${res.statusCode}${where}; RFC 8461 §3.3 wants 200`));
      }
      const type = String(res.headers['content-type'] ?? '');
      if (!/^text\/plain\s*(;|$)/i.test(type)) return req.destroy(fail(`served as "${type}", not text/plain (RFC 8461 §3.3)`));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_POLICY_BYTES) {
          settle(fail(`larger than ${MAX_POLICY_BYTES} bytes`));
          return req.destroy();
        }
        chunks.push(chunk);
      });
      res.on('end', () => settle(undefined, Buffer.concat(chunks).toString('utf8')));
      // A connection cut mid-body ends the response without 'end' and without an 'error' on the request.
      res.on('close', () => {
        if (!res.complete) settle(fail('the connection was closed before the policy file was complete'));
      });
    });
    const timer = setTimeout(() => {
      settle(fail(`no complete answer within ${opts.timeoutMs} ms`));
      req.destroy();
    }, opts.timeoutMs);
    req.on('error', (err) => settle(err.message.startsWith(url) ? err : fail(describeFailure(err))));
    req.end();
  });
}
