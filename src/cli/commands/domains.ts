import type { Command } from 'commander';
import type { Config } from '../../config/schema.ts';
import type { ExpectedRecord } from '../../domains/records.ts';
import { zoneLine } from '../../domains/records.ts';
import {
  addDomain, describeDomain, DomainError, listDomains, recordsFor, removeDomain, retireSelector, rotateDomain, verifyAndStore,
} from '../../domains/manage.ts';
import type { DomainCheck, Store } from '../../store/store.ts';
import { withStore } from '../with-store.ts';

/** The records ready to paste into a zone, then the MTA-STS policy file when asked for. */
function printRecords(records: readonly ExpectedRecord[]): void {
  for (const r of records) console.log(zoneLine(r));
  const sts = records.find((r) => r.policy);
  if (sts)
    console.log(`\npolicy file for https://${sts.name.replace(/^_/, '')}/.well-known/mta-sts.txt (HTTPS with a valid certificate):\n${sts.policy!.trimEnd()}`);
}

const MARK = { ok: '✔', missing: '✖', mismatch: '✖', error: '!' } as const;

export function printCheck(check: DomainCheck): void {
  for (const v of check.results) {
    console.log(`${MARK[v.status]} ${v.record}\t${v.name}\t${v.status}`);
    if (v.found && v.status !== 'ok') console.log(`    found: ${v.found}`);
    if (v.hint) console.log(`    → ${v.hint}`);
  }
  const bad = check.results.filter((v) => v.status !== 'ok').length;
  console.log(bad ? `✖ ${bad} of ${check.results.length} records need attention` : `✔ all ${check.results.length} records are published as they should be`);
}

/** Runs a domains action; a DomainError is printed plainly (exit 1 when not found, 2 for a refused request). */
const run = (fn: (store: Store, config: Config) => Promise<boolean | void>) =>
  withStore(async (store, config) => {
    try {
      return await fn(store, config);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      console.error(err.message);
      if (err.kind !== 'not_found') process.exitCode = 2;
      return err.kind === 'not_found' ? false : undefined;
    }
  });

const iso = (ms: number | null) => (ms ? new Date(ms).toISOString() : 'never');

export function registerDomains(program: Command): void {
  const cmd = program.command('domains').description('sending domains: DKIM keys, the DNS records to publish and their verification (private keys are never shown)');

  cmd
    .command('add <domain>')
    .description('generate a DKIM key (RSA 2048) and print the DNS records to publish')
    .option('--ed25519', 'also an Ed25519 key, as a second signature (RFC 8463)')
    .option('--mta-sts', 'also MTA-STS and TLS-RPT records, and the policy file to serve')
    .action((name: string, o: { ed25519?: boolean; mtaSts?: boolean }) =>
      run(async (store, config) => {
        const keys = await addDomain(store, config, name, o);
        const domain = keys[0]!.domain;
        console.log(`added ${domain}: mail with a From: address at ${domain} is DKIM-signed from now on. Publish these records:`);
        printRecords(await recordsFor(domain, keys, config, o));
        if (!config.secretKey) console.log('note: SMARTHOST_SECRET_KEY is not set, so the private key is stored unencrypted');
        console.log(`then check them with: smarthost domains verify ${domain}`);
      }),
    );

  cmd.command('list').description('domains: selectors, verification, last check, and mail sent unsigned').action(() =>
    run(async (store) => {
      console.log('DOMAIN\tSELECTORS\tVERIFICATION\tLAST CHECKED\tUNSIGNED MAIL');
      for (const d of await listDomains(store)) {
        const selectors = d.keys.length
          ? d.keys.map((k) => `${k.selector} (${k.algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519'}, ${k.signing ? 'signing' : 'rotated out'})`).join(', ')
          : 'no DKIM key';
        console.log(`${d.domain}\t${selectors}\t${d.keys.length ? d.verification : '-'}\t${iso(d.lastChecked)}\t${d.unsigned}`);
      }
    }),
  );

  cmd
    .command('show <domain>')
    .description('print the DNS records to publish again, and the last verification')
    .option('--mta-sts', 'also MTA-STS and TLS-RPT records, and the policy file to serve')
    .action((name: string, o: { mtaSts?: boolean }) =>
      run(async (store, config) => {
        const d = await describeDomain(store, config, name, o);
        printRecords(d.records);
        console.log(d.check ? `\nlast verified ${iso(d.check.checkedAt)}:` : `\nnot verified yet: smarthost domains verify ${d.domain}`);
        if (d.check) printCheck(d.check);
      }),
    );

  cmd
    .command('verify <domain>')
    .description('look the published records up (SMARTHOST_DNS_SERVERS) and compare them with what they should be; exit 1 on any mismatch')
    .option('--mta-sts', 'also the MTA-STS and TLS-RPT records')
    .action((name: string, o: { mtaSts?: boolean }) =>
      run(async (store, config) => {
        const check = await verifyAndStore(store, config, name, o);
        console.log(`verify ${check.domain}`);
        printCheck(check);
        return check.ok;
      }),
    );

  cmd.command('rotate <domain>').description('new keys under a new selector sign from now on; the old ones stay published until retired').action((name: string) =>
    run(async (store, config) => {
      const { added, rotatedOut } = await rotateDomain(store, config, name);
      const domain = added[0]!.domain;
      console.log(`${domain} signs with ${added.map((k) => k.selector).join(', ')} from now on. Publish:`);
      printRecords((await recordsFor(domain, added, config, {})).filter((r) => r.record === 'dkim'));
      console.log(`keep ${rotatedOut.join(', ')} published while mail signed with it may still be checked (a few days), then: ` +
        rotatedOut.map((s) => `smarthost domains retire-selector ${domain} ${s}`).join('; '));
    }),
  );

  cmd.command('retire-selector <domain> <selector>').description('delete a rotated-out key; then remove its DNS record').action((name: string, selector: string) =>
    run(async (store) => {
      await retireSelector(store, name, selector);
      console.log(`${selector} retired: its key is deleted; remove ${selector}._domainkey.${name.toLowerCase()} from DNS`);
    }),
  );

  cmd.command('remove <domain>').description('delete the domain and its keys: its mail is sent unsigned from now on').action((name: string) =>
    run(async (store) => {
      await removeDomain(store, name);
      console.log(`${name.toLowerCase()} removed; its DKIM records may be deleted from DNS once queued mail has gone`);
    }),
  );
}
