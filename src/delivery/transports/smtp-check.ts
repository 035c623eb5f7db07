// The harmless check of an SMTP route (`smarthost routes`, SMARTHOST_ROUTE=auto):
// the doctor's port probe — connect, greeting, EHLO, STARTTLS, AUTH when there
// are credentials — summed up in one sentence an operator can act on.
import { resolveHost } from '../../doctor/smtp.ts';
import { probePort, relaxTls, type PortProbe } from '../../doctor/ports.ts';
import type { Credentials } from '../../doctor/auth.ts';
import type { RouteCheck } from '../outcome.ts';

export interface SmtpCheckOptions {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (smtps://); otherwise STARTTLS is tried. */
  secure: boolean;
  /** 'mx': opportunistic TLS to a receiving MX; 'relay': TLS required, as the relay transport sends only over TLS. */
  kind: 'mx' | 'relay';
  /** Certificate failures fail the check only when the route verifies certificates. */
  verifyCertificate: boolean;
  credentials?: Credentials;
  ehloName: string;
  /** Resolvers for the host name; undefined: the system's (as the relay transport resolves). */
  dnsServers?: readonly string[];
  timeoutMs: number;
}

const silent = () => {};

export async function checkSmtpRoute(opts: SmtpCheckOptions, signal: AbortSignal): Promise<RouteCheck> {
  const where = `${opts.host}:${opts.port}`;
  const aborted = new Promise<RouteCheck>((resolve) => {
    const done = () => resolve({ ok: false, detail: `${where}: the check was cut short` });
    if (signal.aborted) done();
    else signal.addEventListener('abort', done, { once: true });
  });
  return Promise.race([aborted, probe(opts, where)]);
}

async function probe(opts: SmtpCheckOptions, where: string): Promise<RouteCheck> {
  let address: string;
  try {
    address = (await resolveHost(opts.host, opts.dnsServers?.length ? opts.dnsServers : undefined, opts.timeoutMs))[0]!;
  } catch (err) {
    return { ok: false, detail: `${opts.host} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  const result = await probePort(
    { port: opts.port, mode: opts.secure ? 'implicit' : 'starttls', explicitMode: true },
    { host: opts.host, address, timeoutMs: opts.timeoutMs, ehloName: opts.ehloName, credentials: opts.credentials, progress: silent },
  );
  return summarize(result, opts, where);
}

function summarize(p: PortProbe, opts: SmtpCheckOptions, where: string): RouteCheck {
  const seconds = opts.timeoutMs / 1000;
  // Clouds block outbound 25 by dropping packets: a client sees a time-out, not a refusal.
  if (p.failure === 'timeout')
    return { ok: false, detail: opts.kind === 'mx'
      ? `outbound port ${opts.port} to ${opts.host} times out after ${seconds} s — this host blocks SMTP egress`
      : `${where} times out after ${seconds} s — a firewall drops the connection` };
  if (p.failure === 'refused') return { ok: false, detail: `${where} refuses connections` };
  const checks = opts.verifyCertificate ? p.section.checks : relaxTls(p.section.checks, 'certificates are not verified on this route');
  const failed = checks.find((c) => c.status === 'fail');
  if (failed) return { ok: false, detail: `${where}: ${failed.summary}` };
  if (opts.kind === 'relay' && p.tls === 'none') return { ok: false, detail: `${where} offers no STARTTLS, which smarthost requires before AUTH` };
  const tls = p.tls === 'none' ? 'no TLS' : p.tls === 'implicit' ? 'implicit TLS' : 'STARTTLS';
  const auth = p.authMethod ? `, AUTH ${p.authMethod} accepted` : '';
  return { ok: true, detail: `${where} answers (${tls}${auth})` };
}
