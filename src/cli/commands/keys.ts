import type { Command } from 'commander';
import { createApiKey } from '../../credentials/api-keys.ts';
import { withStore } from '../with-store.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerKeys(program: Command): void {
  const cmd = program.command('keys').description('API keys for the HTTP sending API');

  cmd
    .command('create <name>')
    .description('create a key; it is printed once, alone on the last line')
    .option('--allow-domain <domain>', 'a sender domain or address it may use; repeat for more; * for any', collect, [])
    .action((name: string, o: { allowDomain: string[] }) =>
      withStore(async (store) => {
        if (o.allowDomain.length === 0) {
          console.error('give at least one --allow-domain (a domain, an address, or * to allow any sender)');
          process.exitCode = 2;
          return;
        }
        const { key, record } = await createApiKey(store, name, o.allowDomain);
        console.log(`created API key ${record.name} (id ${record.id}), may send from: ${record.allowedSenders.join(', ')}`);
        console.log('store it now; it is not shown again:');
        console.log(key);
      }),
    );

  cmd.command('list').description('list keys (never the secrets)').action(() =>
    withStore(async (store) => {
      for (const k of await store.listApiKeys())
        console.log(`${k.id}\t${k.name}\t${k.prefix}…\t${k.revokedAt ? `revoked ${new Date(k.revokedAt).toISOString()}` : 'active'}\t${k.allowedSenders.join(',')}`);
    }),
  );

  cmd.command('revoke <id-or-name>').description('revoke a key at once').action((idOrName: string) =>
    withStore(async (store) => {
      const ok = await store.revokeApiKey(idOrName, Date.now());
      console.log(ok ? `${idOrName} revoked` : `no active key ${idOrName}`);
      return ok;
    }),
  );
}
