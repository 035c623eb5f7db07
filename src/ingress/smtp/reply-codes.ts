// smtp-server picks an enhanced status code from the basic code alone
// (550 → 5.1.1), which is wrong for policy replies, and prints a second code
// when the text already has one. We patch the connection's single write site
// so every reply carries the right enhanced code exactly once. This touches a
// private method of smtp-server 3.21.x (pinned); test/integration/smtp-replies
// pins the exact reply lines.
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

const HAS_ENHANCED = /^[245]\.\d{1,3}\.\d{1,3}(\s|$)/;
/** Marks the servers whose connections get smarthost's reply rules. */
export const SMARTHOST_SERVER = Symbol('smarthost');

interface PatchedConnection {
  _server: { options: Record<PropertyKey, unknown> };
  secure: boolean;
}
type Send = (this: PatchedConnection, code: number, data?: string | string[], context?: string | false) => void;

let installed = false;

export function installReplyCodes(): void {
  if (installed) return;
  installed = true;
  const proto = SMTPConnection.prototype as unknown as { send: Send };
  const original = proto.send;
  proto.send = function (this: PatchedConnection, code, data, context) {
    const options = this._server.options;
    if (!options[SMARTHOST_SERVER]) return original.call(this, code, data, context);
    if (Array.isArray(data)) {
      // The EHLO reply: RFC 3207 §4 / RFC 4954 §4 — do not offer AUTH before TLS.
      if (code === 250 && !this.secure && !options.allowInsecureAuth) data = data.filter((line) => !/^AUTH\b/i.test(line));
      return original.call(this, code, data, context);
    }
    if (code === 538) {
      // RFC 3207 §4 names 530 for "STARTTLS first"; the library says 538.
      return original.call(this, 530, '5.7.0 Must issue a STARTTLS command first', false);
    }
    if (typeof data === 'string' && HAS_ENHANCED.test(data)) return original.call(this, code, data, false);
    // Library replies sent without a code (421 on connection limits) get one by class.
    if (context === false && code === 421) return original.call(this, code, `4.7.0 ${data ?? ''}`.trim(), false);
    return original.call(this, code, data, context);
  };
}
