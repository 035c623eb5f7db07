// Sender alignment: a credential may use only the envelope senders and From:
// addresses it is allowed. Entries are domains (example.org), exact addresses
// (app@example.org) or '*' (any sender, set explicitly by the operator).
import { reply, SmtpError } from '../delivery/smtp-reply.ts';
import type { Principal } from './accept.ts';

export function senderAllowed(allowed: readonly string[], address: string): boolean {
  const lower = address.toLowerCase();
  const domain = lower.slice(lower.lastIndexOf('@') + 1);
  return allowed.some((entry) => {
    const e = entry.toLowerCase();
    return e === '*' || e === lower || (!e.includes('@') && e === domain);
  });
}

export function senderNotAllowed(principal: Principal, address: string, where: 'envelope' | 'From:'): SmtpError {
  const domain = address.slice(address.lastIndexOf('@') + 1);
  const what = where === 'envelope' ? 'Sender address' : 'From: address';
  const [noun, command] = principal.kind === 'key' ? ['API key', 'keys'] : ['credential', 'credentials'];
  return new SmtpError(
    reply(550, '5.7.1', `${what} <${address}> not allowed for this ${noun} (allow it with: smarthost ${command} allow ${principal.name} ${domain})`),
  );
}
