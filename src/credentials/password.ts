// SMTP AUTH and API passwords at rest: scrypt hashes, constant-time checks,
// and generated passwords. Nothing here logs or returns a password.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// scrypt (RFC 7914) with the cost RFC 7914 §2 and OWASP suggest for
// interactive logins: N=2^15, r=8, p=1 costs ~32 MiB and tens of ms, paid
// once per AUTH, never per message.
const N = 2 ** 15;
const R = 8;
const P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

// Limits on what verifyPassword accepts from a stored encoding, so a bad row
// cannot make one AUTH allocate gigabytes or spin for minutes: 256 MiB is 8×
// our own cost, room to raise N later.
const MAX_MEMORY = 256 * 1024 * 1024;
const MAX_P = 16;

/** scrypt needs 128·N·r bytes; Node's default maxmem (32 MiB) is exactly that for our N and r and is refused, so allow double. */
const maxmemFor = (n: number, r: number): number => 2 * 128 * n * r;

function derive(password: string, salt: Buffer, keyLength: number, n: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N: n, r, p, maxmem: maxmemFor(n, r) };
  return new Promise((resolve, reject) =>
    scrypt(prepare(password), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

// RFC 8265 §4.2 (OpaqueString, used for SASL passwords): normalise to NFC so
// "é" typed as one code point or as e + combining accent is the same password.
const prepare = (password: string): string => password.normalize('NFC');

/** `scrypt$N$r$p$saltB64$hashB64`: parameters travel with the hash, so they can be raised later without breaking stored ones. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, N, R, P);
  return ['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const INT_RE = /^[1-9]\d{0,9}$/;

interface Parsed {
  n: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parse(encoded: string): Parsed | undefined {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [, nText, rText, pText, saltText, keyText] = parts as [string, string, string, string, string, string];
  if (![nText, rText, pText].every((t) => INT_RE.test(t))) return undefined;
  const n = Number(nText);
  const r = Number(rText);
  const p = Number(pText);
  // scrypt requires N to be a power of two greater than 1 (RFC 7914 §2).
  if (n < 2 || !Number.isInteger(Math.log2(n)) || 128 * n * r > MAX_MEMORY || p > MAX_P) return undefined;
  if (!B64_RE.test(saltText) || !B64_RE.test(keyText)) return undefined;
  const salt = Buffer.from(saltText, 'base64');
  const key = Buffer.from(keyText, 'base64');
  // A truncated key (say 2 bytes) would match a wrong password 1 time in 65,536.
  if (salt.length === 0 || key.length < 16) return undefined;
  return { n, r, p, salt, key };
}

/** True only for the right password; false for a wrong one and for any malformed encoding (never throws). */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parse(encoded);
  if (!parsed) return false;
  let actual: Buffer;
  try {
    actual = await derive(password, parsed.salt, parsed.key.length, parsed.n, parsed.r, parsed.p);
  } catch {
    // Parameters passed parse() but the platform still refused them (e.g.
    // out of memory): a failed login, not a crash of the AUTH handler.
    return false;
  }
  // The key length comes from the stored encoding, so both buffers have the
  // same length and timingSafeEqual cannot throw; the comparison leaks no
  // position of the first differing byte.
  return timingSafeEqual(actual, parsed.key);
}

/** 24 URL-safe characters: 18 random bytes are exactly 24 base64url characters (144 bits), no padding. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * The hash of a random password nobody knows, made once with hashPassword.
 * For an unknown username, verify against this instead of returning early,
 * so a failed AUTH takes as long for a missing user as for a wrong password
 * and response timing does not reveal which usernames exist.
 */
export const DUMMY_HASH = 'scrypt$32768$8$1$URs5JBGQHp/NyWAMciw6eg==$/dtjtrBUufL0eHuWq26vnKt1hyXD1HWGUswYfzf+3PM=';
