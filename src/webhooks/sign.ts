// Standard Webhooks signatures (https://www.standardwebhooks.com), the scheme
// Svix and Resend use, so their verifier libraries work unchanged:
// webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">, keyed by
// the base64 part of a `whsec_` secret.
import { createHmac, randomBytes } from 'node:crypto';

export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

export function signatureHeaders(secret: string, id: string, timestampSec: number, body: string): Record<string, string> {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestampSec}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSec), 'webhook-signature': `v1,${signature}` };
}
