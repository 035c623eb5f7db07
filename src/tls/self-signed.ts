// The certificate the SMTP listeners present: the operator's own files when
// configured, otherwise a self-signed one kept under the data directory.
// RFC 3207 §4 and RFC 8314 need *a* certificate before STARTTLS or port 465
// can work at all; senders that submit to us with AUTH usually pin or skip
// verification of a private relay, and MX-to-MX TLS is opportunistic
// (RFC 7435), so a self-signed certificate beats no TLS.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { generate } from 'selfsigned';

export interface CertificateOptions {
  dataDir: string;
  hostname: string;
  /** PEM certificate (chain) file; '' counts as unset, as config/schema.ts defaults tlsCert to ''. */
  certPath?: string;
  keyPath?: string;
}

export interface LoadedCertificate {
  cert: string;
  key: string;
  selfSigned: boolean;
  certPath: string;
  keyPath: string;
}

const DAY_MS = 24 * 3600 * 1000;
/** Regenerate a week ahead, so a long-running server restarted near expiry never serves an expired certificate. */
const RENEW_BEFORE_MS = 7 * DAY_MS;
const VALIDITY_MS = 365 * DAY_MS;
/** Clients whose clock runs a little behind would reject a certificate valid only from this second. */
const BACKDATE_MS = DAY_MS;

export async function loadOrCreateCertificate(opts: CertificateOptions): Promise<LoadedCertificate> {
  const certPath = opts.certPath || undefined;
  const keyPath = opts.keyPath || undefined;
  if (certPath || keyPath) {
    if (!certPath || !keyPath)
      throw new Error(
        `TLS: set both SMARTHOST_TLS_CERT and SMARTHOST_TLS_KEY (only ${certPath ? `the certificate ${certPath}` : `the key ${keyPath}`} is set)`,
      );
    return loadConfigured(certPath, keyPath);
  }
  return loadOrCreateSelfSigned(opts.dataDir, opts.hostname);
}

async function loadConfigured(certPath: string, keyPath: string): Promise<LoadedCertificate> {
  const cert = await readText(certPath, 'certificate');
  const key = await readText(keyPath, 'private key');
  const x509 = parseCert(cert, certPath);
  const privateKey = parseKey(key, keyPath);
  // Fail at start, naming both files, instead of at the first handshake.
  if (!x509.checkPrivateKey(privateKey))
    throw new Error(`TLS: the private key ${keyPath} does not belong to the certificate ${certPath}`);
  return { cert, key, selfSigned: false, certPath, keyPath };
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new Error(`TLS: cannot read the ${what} file ${path} (${code})`, { cause: err });
  }
}

function parseCert(pem: string, path: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new Error(`TLS: ${path} is not a PEM certificate`, { cause: err });
  }
}

function parseKey(pem: string, path: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new Error(`TLS: ${path} is not an unencrypted PEM private key`, { cause: err });
  }
}

async function loadOrCreateSelfSigned(dataDir: string, hostname: string): Promise<LoadedCertificate> {
  const dir = join(dataDir, 'tls');
  const certPath = join(dir, 'selfsigned.crt');
  const keyPath = join(dir, 'selfsigned.key');
  const existing = await readReusable(certPath, keyPath, hostname);
  if (existing) return { ...existing, selfSigned: true, certPath, keyPath };

  const pems = await generateFor(hostname);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Key first: a crash between the two writes leaves a new key beside the old
  // certificate, which readReusable rejects (mismatch), so the next start
  // regenerates instead of serving a broken pair.
  await writeAtomically(keyPath, pems.private, 0o600);
  await writeAtomically(certPath, pems.cert, 0o644);
  return { cert: pems.cert, key: pems.private, selfSigned: true, certPath, keyPath };
}

/** The stored pair, if it is readable, matches, names this host and is not about to expire. */
async function readReusable(certPath: string, keyPath: string, hostname: string): Promise<{ cert: string; key: string } | undefined> {
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  } catch {
    return undefined; // first start, or someone removed a file: make a new pair
  }
  try {
    const x509 = new X509Certificate(cert);
    const fresh = Date.parse(x509.validTo) - Date.now() > RENEW_BEFORE_MS;
    // A changed SMARTHOST_HOSTNAME needs a certificate for the new name.
    const named = isIP(hostname) ? x509.checkIP(hostname) !== undefined : x509.checkHost(hostname) !== undefined;
    return fresh && named && x509.checkPrivateKey(createPrivateKey(key)) ? { cert, key } : undefined;
  } catch {
    return undefined; // unparsable leftovers are ours to replace
  }
}

function generateFor(hostname: string): Promise<{ cert: string; private: string }> {
  const now = Date.now();
  // RFC 6125 §6.4.4: clients match the SAN, not the CN, so the names go there;
  // localhost and 127.0.0.1 make local tests and health checks work too.
  const altNames = [
    isIP(hostname) ? { type: 7 as const, ip: hostname } : { type: 2 as const, value: hostname },
    ...(hostname === 'localhost' ? [] : [{ type: 2 as const, value: 'localhost' }]),
    ...(hostname === '127.0.0.1' ? [] : [{ type: 7 as const, ip: '127.0.0.1' }]),
  ];
  return generateInWorker([{ name: 'commonName', value: hostname }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(now - BACKDATE_MS),
    notAfterDate: new Date(now + VALIDITY_MS),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
}

/**
 * selfsigned and the @peculiar/x509 stack it loads hold about 3 MB of heap once imported, and a module stays
 * for the life of the process: every major GC of a busy server would mark it again. A worker thread loads it in
 * an isolate of its own, freed when the worker exits. The worker is plain CommonJS (eval), so it runs the same
 * from the compiled build and from the sources through tsx, and requires selfsigned by its resolved path.
 */
export function generateInWorker(...args: Parameters<typeof generate>): Promise<{ cert: string; private: string }> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     require(workerData.module).generate(...workerData.args).then(
       (pems) => parentPort.postMessage({ cert: pems.cert, private: pems.private }),
       (err) => parentPort.postMessage({ error: String(err && err.stack || err) }));`,
    { eval: true, workerData: { module: createRequire(import.meta.url).resolve('selfsigned'), args } },
  );
  return new Promise((resolve, reject) => {
    worker.once('message', (m: { cert: string; private: string } | { error: string }) =>
      'error' in m ? reject(new Error(`TLS: generating the self-signed certificate failed: ${m.error}`)) : resolve(m));
    worker.once('error', (err) => reject(new Error(`TLS: the certificate worker failed: ${err.message}`, { cause: err })));
    worker.once('exit', (code) => reject(new Error(`TLS: the certificate worker exited (${code}) without a certificate`)));
  });
}

/**
 * Write to a temporary name and rename, so a reader never sees half a key.
 * The mode is set when the file is created (the umask can only narrow it),
 * so the key is never readable by others, not even for a moment.
 */
async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, path);
}
