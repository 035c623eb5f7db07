// A private CA and leaf certificates made with openssl, for TLS diagnosis tests:
// valid, expired and wrong-name certificates that chain to one trusted CA, so
// each test sees exactly one problem. `openssl ca` sets past dates
// (-startdate/-enddate), which `x509 -req` cannot before OpenSSL 3.4.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireProgram } from './run.ts';

export interface LeafSpec {
  cn: string;
  /** subjectAltName entries, e.g. ['DNS:localhost', 'IP:127.0.0.1']. */
  san: string[];
  /** openssl ca dates, YYYYMMDDHHMMSSZ; default: yesterday to in 30 days. */
  startDate?: string;
  endDate?: string;
}

export interface Pki {
  ca: Buffer;
  issue(spec: LeafSpec): { cert: Buffer; key: Buffer };
}

const CA_CONFIG = `[ca]
default_ca = test
[test]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
`;

const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';

let pki: Pki | undefined;

/** One CA per test process; leaves are issued on demand (P-256 keys, fast). */
export function testPki(): Pki {
  if (pki) return pki;
  const openssl = requireProgram('openssl');
  const dir = mkdtempSync(join(tmpdir(), 'smarthost-pki-'));
  const run = (args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-subj', '/CN=smarthost doctor test CA', '-days', '2', '-keyout', 'ca.key', '-out', 'ca.crt',
    '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  writeFileSync(join(dir, 'ca.cnf'), CA_CONFIG);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '01\n');
  let n = 0;
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  pki = {
    ca: readFileSync(join(dir, 'ca.crt')),
    issue(spec) {
      const name = `leaf${++n}`;
      run(['req', '-new', ...ec, '-subj', `/CN=${spec.cn}`, '-addext', `subjectAltName=${spec.san.join(',')}`,
        '-keyout', `${name}.key`, '-out', `${name}.csr`]);
      run(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-in', `${name}.csr`, '-out', `${name}.crt`, '-notext',
        '-startdate', spec.startDate ?? stamp(Date.now() - 86_400_000), '-enddate', spec.endDate ?? stamp(Date.now() + 30 * 86_400_000)]);
      return { cert: readFileSync(join(dir, `${name}.crt`)), key: readFileSync(join(dir, `${name}.key`)) };
    },
  };
  return pki;
}
