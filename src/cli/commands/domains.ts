import type { Command } from 'commander';
import type { Config } from '../../config/schema.ts';
import { dateSelector, dkimRecordName, dkimRecordValue, generateDomainKey, txtStrings } from '../../dkim/keys.ts';
import { createSecretBox } from '../../dkim/secret.ts';
import type { DomainKey, Store } from '../../store/store.ts';
import { withStore } from '../with-store.ts';

/**
 * The records to publish, ready to paste. SPF (RFC 7208) authorises the hosts that hand the mail to the
 * recipient's MX: the upstream relay on a relay route, this host on the MX route. DMARC (RFC 7489) starts
 * at p=none with aggregate reports, so an operator sees what passes before asking receivers to reject.
 */
function printRecords(domain: string, keys: readonly DomainKey[], config: Config): void {
  for (const k of keys) console.log(`${dkimRecordName(k.selector, domain)}. TXT ${txtStrings(dkimRecordValue(k.algorithm, k.publicKey))}`);
  const sender = config.relayUrl ? `a:${config.relayUrl.hostname}` : `a:${config.hostname || '<this host name: set SMARTHOST_HOSTNAME>'}`;
  const route = config.relayUrl ? `the relay route through ${config.relayUrl.hostname}` : 'the MX route from this host';
  console.log(`${domain}. TXT "v=spf1 ${sender} mx ~all"    ; SPF for ${route}: merge it into an existing SPF record, one per domain`);
  console.log(`_dmarc.${domain}. TXT "v=DMARC1; p=none; rua=mailto:dmarc@${domain}"`);
}

async function keysOf(store: Store, domain: string): Promise<DomainKey[] | undefined> {
  const keys = await store.listDomainKeys(domain);
  if (keys.length === 0) console.log(`no domain ${domain} (add it with: smarthost domains add ${domain})`);
  return keys.length ? keys : undefined;
}

export function registerDomains(program: Command): void {
  const cmd = program.command('domains').description('sending domains: DKIM keys and the DNS records to publish (private keys are never shown)');

  cmd
    .command('add <domain>')
    .description('generate a DKIM key (RSA 2048) and print the DNS records to publish')
    .option('--ed25519', 'also an Ed25519 key, as a second signature (RFC 8463)')
    .action((name: string, o: { ed25519?: boolean }) =>
      withStore(async (store, config) => {
        const domain = name.toLowerCase().replace(/\.$/, '');
        if ((await store.listDomainKeys(domain)).length) {
          console.error(`${domain} already has DKIM keys; see them with: smarthost domains show ${domain}`);
          process.exitCode = 2;
          return;
        }
        const box = createSecretBox(config.secretKey);
        const selector = dateSelector(new Date());
        const generated = [generateDomainKey('rsa-sha256', selector), ...(o.ed25519 ? [generateDomainKey('ed25519-sha256', `${selector}e`)] : [])];
        const now = Date.now();
        const keys = generated.map((g) => ({
          domain, selector: g.selector, algorithm: g.algorithm, privateKey: box.seal(g.privateKeyPem), publicKey: g.publicKey, createdAt: now,
        }));
        for (const k of keys) await store.addDomainKey(k);
        console.log(`added ${domain}: mail with a From: address at ${domain} is DKIM-signed from now on. Publish these records:`);
        printRecords(domain, keys, config);
        if (!box.encrypts) console.log('note: SMARTHOST_SECRET_KEY is not set, so the private key is stored unencrypted');
      }),
    );

  cmd.command('list').description('domains with their selectors').action(() =>
    withStore(async (store) => {
      const byDomain = new Map<string, DomainKey[]>();
      for (const k of await store.listDomainKeys()) byDomain.set(k.domain, [...(byDomain.get(k.domain) ?? []), k]);
      for (const [domain, keys] of byDomain)
        console.log(`${domain}\t${keys.map((k) => `${k.selector} (${k.algorithm})`).join(', ')}\tadded ${new Date(keys[0]!.createdAt).toISOString()}`);
    }),
  );

  cmd.command('show <domain>').description('print the DNS records to publish again').action((domain: string) =>
    withStore(async (store, config) => {
      const keys = await keysOf(store, domain);
      if (!keys) return false;
      printRecords(keys[0]!.domain, keys, config);
    }),
  );

  cmd.command('remove <domain>').description('delete the domain and its keys: its mail is sent unsigned from now on').action((domain: string) =>
    withStore(async (store) => {
      const ok = await store.removeDomain(domain);
      console.log(ok ? `${domain} removed; its DKIM records may be deleted from DNS once queued mail has gone` : `no domain ${domain}`);
      return ok;
    }),
  );
}
