// Encryption at rest of DKIM private keys with SMARTHOST_SECRET_KEY, so a copied
// database (or a backup) does not give away the power to sign for a domain.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

const PREFIX = 'enc:v1:';
/** Fixed salt: the key must come out the same on every node sharing the store. */
const SALT = 'smarthost dkim keys v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretKeyError extends Error {}

export const isEncrypted = (stored: string) => stored.startsWith(PREFIX);

/** AES-256-GCM with a key derived once per process (scrypt is slow on purpose). */
export function createSecretBox(secret: string | undefined) {
  const key = secret ? scryptSync(secret, SALT, 32) : undefined;
  return {
    encrypts: key !== undefined,
    /** `enc:v1:` + base64(iv | tag | ciphertext), or the PEM unchanged while no secret is configured. */
    seal(pem: string): string {
      if (!key) return pem;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const ciphertext = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
      return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64');
    },
    /** The PEM; a wrong or missing secret is a SecretKeyError naming SMARTHOST_SECRET_KEY. */
    open(stored: string, what: string): string {
      if (!isEncrypted(stored)) return stored;
      if (!key) throw new SecretKeyError(`the DKIM key of ${what} is encrypted, but SMARTHOST_SECRET_KEY is not set`);
      const data = Buffer.from(stored.slice(PREFIX.length), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(data.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch (err) {
        throw new SecretKeyError(`cannot decrypt the DKIM key of ${what}: SMARTHOST_SECRET_KEY is not the key it was encrypted with`, { cause: err });
      }
    },
  };
}

export type SecretBox = ReturnType<typeof createSecretBox>;
