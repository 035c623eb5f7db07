// MTA-STS (RFC 8461): the _mta-sts TXT record, the policy served over HTTPS at
// mta-sts.<domain>, and whether every MX host is covered by the policy's mx patterns.
import type { LookupAddress } from 'node:dns';
import type { Resolver } from 'node:dns/promises';
import { get } from 'node:https';
import { explainError } from './explain.ts';
import { check, type Check } from './report.ts';
import { parseTagList } from './tag-list.ts';

export interface MtaStsOptions {
  resolver: Resolver;
  timeoutMs: number;
  /** RFC 8461 §3.3 fixes 443; tests serve the policy elsewhere on loopback. */
  httpsPort?: number;
  /** Extra trusted CAs for the policy host (tests' private CA). */
  ca?: (string | Buffer)[];
}

export interface StsPolicy {
  version?: string;
  mode?: string;
  mx: string[];
  maxAge?: number;
  errors: string[];
}

/** RFC 8461 §3.2: "key: value" lines; version, mode and max_age once, mx any number of times. */
export function parsePolicy(body: string): StsPolicy {
  const policy: StsPolicy = { mx: [], errors: [] };
  for (const line of body.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const m = /^([a-z_]+):\s*(.*?)\s*$/i.exec(line);
    if (!m) {
      policy.errors.push(`not a "key: value" line: ${line}`);
      continue;
    }
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'version') policy.version = value;
    else if (key === 'mode') policy.mode = value;
    else if (key === 'mx') policy.mx.push(value.toLowerCase());
    else if (key === 'max_age') policy.maxAge = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
  }
  if (policy.version !== 'STSv1') policy.errors.push(`version is ${policy.version ?? 'missing'}, not STSv1`);
  if (!['enforce', 'testing', 'none'].includes(policy.mode ?? '')) policy.errors.push(`mode is ${policy.mode ?? 'missing'}, not enforce, testing or none`);
  if (policy.maxAge === undefined || Number.isNaN(policy.maxAge) || policy.maxAge > 31557600) policy.errors.push('max_age is missing or not 0-31557600');
  if (policy.mode !== 'none' && !policy.mx.length) policy.errors.push('no mx: line');
  return policy;
}

/** RFC 8461 §4.1: a pattern is a name or "*." plus a name, the wildcard covering exactly one label. */
export function mxMatches(host: string, pattern: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!pattern.startsWith('*.')) return h === pattern;
  const rest = h.slice(h.indexOf('.') + 1);
  return h.includes('.') && rest === pattern.slice(2);
}

const MAX_POLICY_BYTES = 64 * 1024;

function fetchPolicy(domain: string, opts: MtaStsOptions): Promise<{ status: number; type: string; body: string }> {
  const host = `mta-sts.${domain}`;
  // Resolve through the configured resolver, as delivery does, not the system's.
  const lookup = (name: string, options: { all?: boolean }, cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    opts.resolver.resolve4(name).then(
      (list) => (options.all ? cb(null, list.map((address) => ({ address, family: 4 }))) : cb(null, list[0]!, 4)),
      (err: Error) => cb(err, ''),
    );
  };
  return new Promise((resolve, reject) => {
    const req = get({
      host, port: opts.httpsPort ?? 443, path: '/.well-known/mta-sts.txt', servername: host, lookup: lookup as never,
      timeout: opts.timeoutMs, ...(opts.ca ? { ca: opts.ca } : {}), agent: false,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > MAX_POLICY_BYTES) req.destroy(new Error('policy larger than 64 KiB'));
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer from https://${host} within ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
  });
}

export async function mtaStsChecks(domain: string, mxHosts: readonly string[], opts: MtaStsOptions): Promise<Check[]> {
  let records: string[];
  try {
    records = (await opts.resolver.resolveTxt(`_mta-sts.${domain}`)).map((c) => c.join('')).filter((t) => /^v=STSv1\s*(;|$)/.test(t));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    if (code !== 'ENOTFOUND' && code !== 'ENODATA') return [check('mta-sts.record', 'fail', `_mta-sts.${domain}: lookup failed (${code})`, { category: 'dns' })];
    records = [];
  }
  if (!records.length) return [check('mta-sts.record', 'info', 'no MTA-STS policy (optional: it makes senders require TLS to your MX, RFC 8461)')];
  if (records.length > 1) return [check('mta-sts.record', 'fail', `${records.length} v=STSv1 records: senders apply none (RFC 8461 §3.1)`, { category: 'dns', hint: 'keep one' })];
  const id = parseTagList(records[0]!).tags.get('id');
  if (!id || !/^[A-Za-z0-9]{1,32}$/.test(id)) {
    return [check('mta-sts.record', 'fail', `_mta-sts.${domain}: id= is ${id ? 'not 1-32 letters or digits' : 'missing'}`, { category: 'dns', hint: 'set id= to a new value each time the policy changes' })];
  }
  const checks = [check('mta-sts.record', 'ok', `_mta-sts.${domain}: ${records[0]}`)];

  let fetched: Awaited<ReturnType<typeof fetchPolicy>>;
  try {
    fetched = await fetchPolicy(domain, opts);
  } catch (err) {
    const why = explainError(err);
    checks.push(check('mta-sts.policy', 'fail', `cannot fetch https://mta-sts.${domain}/.well-known/mta-sts.txt: ${(err as Error).message}`, {
      category: why.category, hint: `senders that find the TXT record but no policy keep the old one or none; ${why.remedy}`,
    }));
    return checks;
  }
  // §3.3: a 200 with text/plain; redirects are not followed.
  if (fetched.status !== 200) {
    checks.push(check('mta-sts.policy', 'fail', `the policy URL answered HTTP ${fetched.status}`, { category: 'tls', hint: 'serve the policy with 200 at /.well-known/mta-sts.txt (no redirects)' }));
    return checks;
  }
  const policy = parsePolicy(fetched.body);
  if (policy.errors.length) {
    checks.push(check('mta-sts.policy', 'fail', `policy is invalid: ${policy.errors.join('; ')}`, { category: 'tls', hint: 'see RFC 8461 §3.2 for the format' }));
    return checks;
  }
  if (!/^text\/plain\b/i.test(fetched.type)) checks.push(check('mta-sts.type', 'warn', `policy served as "${fetched.type}", not text/plain`, { hint: 'RFC 8461 §3.3 asks for text/plain' }));
  checks.push(check('mta-sts.policy', 'ok', `policy: mode ${policy.mode}, mx ${policy.mx.join(', ') || '(none)'}, max_age ${policy.maxAge}`, { data: { ...policy } }));
  if (policy.mode === 'none') return checks;
  for (const mx of mxHosts) {
    if (policy.mx.some((p) => mxMatches(mx, p))) continue;
    const enforce = policy.mode === 'enforce';
    checks.push(check('mta-sts.mx', enforce ? 'fail' : 'warn', `MX ${mx} is not covered by the policy's mx patterns`, {
      category: 'tls', hint: enforce ? 'senders that enforce MTA-STS will not deliver to it: add an mx: line and change the TXT id' : 'in enforce mode senders would skip it; add an mx: line',
    }));
  }
  return checks;
}
