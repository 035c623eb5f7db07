// mailauth ships no types for the DKIM signer class it builds dkimSign() on; we subclass it (src/dkim/oversign.ts).
declare module 'mailauth/lib/dkim/dkim-signer.js' {
  import type { Writable } from 'node:stream';
  import type { DKIMSignOptions } from 'mailauth';
  /** One header field as mailauth's parseHeaders (lib/tools.js) splits it: lower-cased name, name as written, raw lines. */
  export interface ParsedHeaderField { key: string | null; casedKey: string | undefined; line: Buffer }
  export interface ParsedHeaders { parsed: ParsedHeaderField[]; original: Buffer }
  export class DkimSigner extends Writable {
    constructor(options: DKIMSignOptions);
    signatureHeaders: string[];
    errors: { err: Error; selector?: string; signingDomain?: string }[];
    messageHeaders(headers: ParsedHeaders): Promise<void>;
  }
}

declare module 'mailauth/lib/tools.js' {
  export function writeToStream(stream: NodeJS.WritableStream, input: Buffer): Promise<void>;
}
