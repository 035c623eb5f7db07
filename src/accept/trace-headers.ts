// Headers the relay adds: a Received: trace field (RFC 5321 §4.4) and, for
// submissions, Message-ID and Date when missing (RFC 6409 §8.2, §8.3).
import { randomBytes } from 'node:crypto';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** RFC 5322 §3.3 date-time, in UTC. */
export function rfc5322Date(d: Date): string {
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

export interface TraceInfo {
  helo?: string;
  clientAddress: string;
  hostname: string;
  /** RFC 3848 protocol: ESMTP, ESMTPS (TLS), ESMTPA (AUTH), ESMTPSA (both), or HTTP for the API. */
  protocol: string;
  tls?: string;
  id: string;
  /** Named only when there is a single recipient, so Bcc recipients are not disclosed. */
  recipient?: string;
  date: Date;
}

export function receivedHeader(t: TraceInfo): string {
  const from = `from ${sanitize(t.helo || 'unknown')} ([${t.clientAddress.replace(/^::ffff:/, '')}])`;
  const tls = t.tls ? `\r\n\t(using ${t.tls})` : '';
  const forClause = t.recipient ? `\r\n\tfor <${t.recipient}>` : '';
  return `Received: ${from}\r\n\tby ${t.hostname} (smarthost) with ${t.protocol} id ${t.id}${tls}${forClause};\r\n\t${rfc5322Date(t.date)}\r\n`;
}

export function messageIdHeader(hostname: string): string {
  return `Message-ID: <${randomBytes(12).toString('hex')}@${hostname}>\r\n`;
}

export const dateHeader = (d: Date) => `Date: ${rfc5322Date(d)}\r\n`;

/** HELO names are client-chosen: keep them printable and on one line. */
const sanitize = (s: string) => s.replace(/[^\x21-\x7e]/g, '?').slice(0, 255);
