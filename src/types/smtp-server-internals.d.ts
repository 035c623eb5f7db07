// smtp-server ships no types for its connection class; we only touch its prototype.
declare module 'smtp-server/lib/smtp-connection.js' {
  export class SMTPConnection {}
}
