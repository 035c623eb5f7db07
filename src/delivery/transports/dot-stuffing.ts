// RFC 5321 §4.5.2 transparency for the DATA we send. nodemailer's DataStream
// does it with a JavaScript loop over every byte of the message, a large share
// of the CPU of delivering big messages (README, Performance). We replace that
// one method with the same rules driven by Buffer.indexOf, which only stops at
// line ends. This touches a private class of nodemailer 10.6.x (the version in
// package-lock.json); dot-stuffing.test.ts checks every output against the
// original method and that a delivery goes through the replacement.

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
// Shared: only ever copied by Buffer.concat.
const INSERT_LF = Buffer.from('\n');
const INSERT_LF_DOT = Buffer.from('\n.');
const INSERT_CR = Buffer.from('\r');
const INSERT_DOT = Buffer.from('.');

/**
 * One chunk of a message as it goes on the wire: a dot that starts a line is doubled, a bare CR or LF
 * becomes CRLF, and a dot after a bare CR is doubled too (a receiver that ends lines at a lone CR would
 * otherwise read `\r.\r` as the end of the data: SMTP smuggling). `prev` is the last byte of the chunk
 * before, false at the start of the message. The chunk itself when nothing changes.
 */
export function stuffChunk(chunk: Buffer, prev: number | false): Buffer {
  if (chunk.length === 0) return chunk;
  const parts: Buffer[] = [];
  let from = 0;
  let length = 0;
  const insert = (at: number, bytes: Buffer) => {
    if (at > from) parts.push(chunk.subarray(from, at));
    parts.push(bytes);
    length += at - from + bytes.length;
    from = at;
  };
  const first = chunk[0];
  // The first byte against the previous chunk's last; a first LF is the loop's.
  if (prev === CR && first !== LF) insert(0, first === DOT ? INSERT_LF_DOT : INSERT_LF);
  else if (first === DOT && (prev === LF || prev === false)) insert(0, INSERT_DOT);
  let cr = chunk.indexOf(CR);
  let lf = chunk.indexOf(LF);
  while (cr !== -1 || lf !== -1) {
    if (lf === -1 || (cr !== -1 && cr < lf)) {
      // A CR decides the byte after it; at the chunk's end, the next chunk's first byte does.
      const next = cr + 1;
      if (next < chunk.length && chunk[next] !== LF) insert(next, chunk[next] === DOT ? INSERT_LF_DOT : INSERT_LF);
      cr = chunk.indexOf(CR, next);
    } else {
      if ((lf > 0 ? chunk[lf - 1] : prev) !== CR) insert(lf, INSERT_CR);
      if (chunk[lf + 1] === DOT) insert(lf + 1, INSERT_DOT);
      lf = chunk.indexOf(LF, lf + 1);
    }
  }
  if (parts.length === 0) return chunk;
  parts.push(chunk.subarray(from));
  return Buffer.concat(parts, length + chunk.length - from);
}

/** The fields of nodemailer's DataStream that its _transform keeps. */
interface DataStreamState {
  inByteCount: number;
  outByteCount: number;
  lastByte: number | false;
  push(chunk: Buffer): boolean;
}
type TransformMethod = (this: DataStreamState, chunk: Buffer | string, encoding: BufferEncoding, done: () => void) => void;

/** nodemailer's DataStream class: not exported, so found beside the SMTPConnection module that uses it. */
export async function dataStreamPrototype(): Promise<{ _transform: TransformMethod }> {
  const url = new URL('./data-stream.js', import.meta.resolve('nodemailer/lib/smtp-connection'));
  const { default: DataStream } = (await import(url.href)) as { default: { prototype: { _transform: TransformMethod } } };
  return DataStream.prototype;
}

let installed: Promise<void> | undefined;

/** Swaps DataStream's per-byte loop for stuffChunk, once per process. */
export function installDotStuffing(): Promise<void> {
  return (installed ??= dataStreamPrototype().then((proto) => {
    proto._transform = function (chunk, _encoding, done) {
      if (!chunk || !chunk.length) return done();
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      this.inByteCount += bytes.length;
      const out = stuffChunk(bytes, this.lastByte);
      this.outByteCount += out.length;
      this.push(out);
      this.lastByte = bytes[bytes.length - 1]!;
      done();
    };
  }));
}
