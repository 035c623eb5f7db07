// smtp-server waits a fixed 100 ms before its greeting to catch clients that
// talk first ("early talkers", a spam heuristic for port 25), with no option to
// turn it off. smarthost takes mail from authenticated applications and trusted
// networks, where the pause only makes every new connection 100 ms slower
// (Postfix's submission service greets at once; its pregreet test lives in
// postscreen, in front of port 25). Our servers greet at once; a client that
// talks before the greeting is still refused ("421 You talk too soon"). Like
// reply-codes.ts this replaces a method of smtp-server 3.21.x (pinned), on
// smarthost's servers only.
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { SMARTHOST_SERVER } from './reply-codes.ts';

interface Connection {
  _server: { options: Record<PropertyKey, unknown>; connections: Set<unknown> };
  name: string;
  _setListeners(ready: () => void): void;
  connectionReady(): void;
  send(code: number, data: string, context: false): void;
}

let installed = false;

export function installImmediateGreeting(): void {
  if (installed) return;
  installed = true;
  const proto = SMTPConnection.prototype as unknown as { init(this: Connection): void };
  const original = proto.init;
  proto.init = function (this: Connection) {
    if (!this._server.options[SMARTHOST_SERVER]) return original.call(this);
    // The library's init without its timer: the same client limit, then the greeting.
    this._setListeners(() => {
      const maxClients = this._server.options.maxClients as number | undefined;
      if (maxClients && this._server.connections.size > maxClients) {
        return this.send(421, `${this.name} Too many connected clients, try again in a moment`, false);
      }
      this.connectionReady();
    });
  };
}
