// mailauth's own DKIM signer with From oversigned (RFC 6376 §8.15): h= names From once more than the message
// has, so a From: field added after signing breaks the signature instead of riding on it.
import type { DkimSigner as MailauthSigner, ParsedHeaders } from 'mailauth/lib/dkim/dkim-signer.js';
import type { DKIMSignOptions } from 'mailauth';

/**
 * mailauth 4.13.3 (lib/tools.js:127-133, getSigningHeaderLines when signing) walks the present fields bottom-up and
 * returns `keys` (their casedKey joined by ': ', which becomes h=) and `headers` (whose lines are canonicalised
 * and hashed). A name repeated in headerList adds nothing, so there is no option for it. An extra h= name with
 * no field left to match is hashed as the null string (RFC 6376 §5.4.2), i.e. it contributes no bytes: so
 * renaming the topmost From, the last From the walk visits, to "From: From" in the signer's copy of the parsed
 * header gives h=…:From:From while the canonicalisers, body hash and signing stay mailauth's own.
 * src/dkim/sign.test.ts pins h=, test/integration/dkim.test.ts the verification, in case mailauth changes the walk.
 */
const oversigningSigner = (DkimSigner: typeof MailauthSigner) =>
  class FromOversigningSigner extends DkimSigner {
    override messageHeaders(headers: ParsedHeaders): Promise<void> {
      const top = headers.parsed.findIndex((field) => field.key === 'from');
      const parsed = headers.parsed.map((field, i) => (i === top ? { ...field, casedKey: `${field.casedKey}: ${field.casedKey}` } : field));
      return super.messageHeaders({ ...headers, parsed });
    }
  };

/**
 * The signer and mailauth's tools (joi, tldts: about 3 MB of heap beyond libmime, which the accept step loads
 * anyway) are imported when first needed, so a relay with no DKIM keys never holds them. A node that starts
 * with keys loads them at start (sign.ts, checkDomainKeys), not in the middle of a message.
 */
let loaded: Promise<{ Signer: ReturnType<typeof oversigningSigner>; writeToStream: typeof import('mailauth/lib/tools.js').writeToStream }> | undefined;
export const loadSigner = () =>
  (loaded ??= Promise.all([import('mailauth/lib/dkim/dkim-signer.js'), import('mailauth/lib/tools.js')]).then(([signer, tools]) => ({
    Signer: oversigningSigner(signer.DkimSigner),
    writeToStream: tools.writeToStream,
  })));

/** mailauth's dkimSign (lib/dkim/sign.js), on the oversigning signer. */
export async function dkimSignOversigningFrom(raw: Buffer, options: DKIMSignOptions) {
  const { Signer, writeToStream } = await loadSigner();
  const signer = new Signer(options);
  await writeToStream(signer, raw);
  return { signatures: `${signer.signatureHeaders.join('\r\n')}\r\n`, errors: signer.errors };
}
