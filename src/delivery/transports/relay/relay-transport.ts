// Delivery through one upstream relay (smarthost of our own): every recipient
// goes over a TLS-protected, authenticated session to the host in the URL.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { allRecipients, type Transport } from '../../outcome.ts';
import { reply } from '../../smtp-reply.ts';
import { checkSmtpRoute } from '../smtp-check.ts';
import { SessionCache, type SessionCacheSettings } from '../session-cache.ts';
import { deliverToHost, type SessionResult } from '../smtp-session.ts';

export interface RelayTransportOptions {
  /** `smtp://user:pass@host:587` (STARTTLS required) or `smtps://user:pass@host:465` (implicit TLS). */
  url: URL;
  /** Our EHLO name. */
  hostname: string;
  connectTimeout: number;
  replyTimeout: number;
  /** Sessions kept for the next message (session-cache.ts); absent: one session per delivery. */
  connectionCache?: SessionCacheSettings;
  /** Verify the relay's certificate (default true); tests turn it off for self-signed relays. */
  tlsRejectUnauthorized?: boolean;
  /** Step limit of check() (connect, each reply, TLS handshake); default connectTimeout. */
  checkTimeout?: number;
}

// getaddrinfo may return several addresses; a relay is one service, so a few suffice.
const MAX_ADDRESSES = 3;

export function createRelayTransport(opts: RelayTransportOptions): Transport {
  const { url } = opts;
  // RFC 8314 §3.3: implicit TLS on 465; RFC 6409 + RFC 3207: submission on 587 with
  // STARTTLS, which we require so credentials never cross the network in clear.
  const secure = url.protocol === 'smtps:';
  if (!secure && url.protocol !== 'smtp:') throw new Error(`relay URL must be smtp:// or smtps://, got ${url.protocol}`);
  const port = Number(url.port || (secure ? 465 : 587));
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literals come bracketed
  const auth = url.username
    ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
    : undefined;
  const sessions = SessionCache.create(opts.connectionCache);

  return {
    name: 'relay',
    async send(msg, rcpts, signal) {
      let addresses: string[];
      if (isIP(host)) addresses = [host];
      else {
        try {
          // The system resolver, so /etc/hosts and the platform's DNS apply to the relay name.
          addresses = (await lookup(host, { all: true })).map((a) => a.address);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? String(err);
          return allRecipients(rcpts, 'deferred', reply(451, '4.4.3', `Cannot resolve relay host ${host} (${code})`));
        }
      }
      let last: SessionResult | undefined;
      for (const address of addresses.slice(0, MAX_ADDRESSES)) {
        if (signal.aborted) break;
        last = await deliverToHost(msg, rcpts, {
          address,
          port,
          hostName: isIP(host) ? undefined : host,
          ehloName: opts.hostname,
          secure,
          requireTLS: !secure,
          verifyCertificate: opts.tlsRejectUnauthorized ?? true,
          auth,
          connectTimeout: opts.connectTimeout,
          replyTimeout: opts.replyTimeout,
          cache: sessions,
          signal,
        });
        if (!last.hostFailed) return last.outcomes;
      }
      return last?.outcomes ?? allRecipients(rcpts, 'deferred', reply(451, '4.3.0', `Delivery attempt to relay ${host} aborted`));
    },
    async close() {
      sessions.close();
    },
    // Connect, EHLO, TLS and AUTH with the configured credentials; no MAIL FROM, nothing is sent.
    check: (signal) => checkSmtpRoute({
      host, port, secure, kind: 'relay', verifyCertificate: opts.tlsRejectUnauthorized ?? true, ehloName: opts.hostname,
      credentials: auth && { user: auth.user, password: auth.pass }, timeoutMs: opts.checkTimeout ?? opts.connectTimeout,
    }, signal),
  };
}
