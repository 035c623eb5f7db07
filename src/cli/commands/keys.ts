import type { Command } from 'commander';
import { createApiKey } from '../../credentials/api-keys.ts';
import { describePolicy } from '../../credentials/policy.ts';
import type { ApiKey, Store } from '../../store/store.ts';
import { policyFromFlags, policyLine, policyOptions, requireSenders, type PolicyFlags } from '../policy-options.ts';
import { withStore } from '../with-store.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

/** The one active key with this id or name; names need not be unique, so several is an error asking for the id. */
async function activeKey(store: Store, idOrName: string): Promise<ApiKey | undefined> {
  const matches = (await store.listApiKeys()).filter((k) => k.revokedAt === null && (k.id === idOrName || k.name === idOrName));
  if (matches.length === 0) console.log(`no active key ${idOrName}`);
  if (matches.length > 1) console.log(`${matches.length} active keys are named ${idOrName}; give its id (smarthost keys list)`);
  return matches.length === 1 ? matches[0] : undefined;
}

export function registerKeys(program: Command): void {
  const cmd = program.command('keys').description('API keys for the HTTP sending API (and SMTP, as the password with the key name as username)');

  policyOptions(
    cmd
      .command('create <name>')
      .description('create a key; it is printed once, alone on the last line')
      .option('--allow-domain <domain>', 'a sender domain or address it may use; repeat for more; * for any', collect, []),
  ).action((name: string, o: PolicyFlags & { allowDomain: string[] }) =>
    withStore(async (store) => {
      if (!requireSenders(o.allowDomain)) return;
      const policy = policyFromFlags(o);
      if (!policy) return;
      const { key, record } = await createApiKey(store, name, o.allowDomain, policy);
      console.log(`created API key ${record.name} (id ${record.id}), may send from: ${record.allowedSenders.join(', ')}`);
      if (Object.keys(policy).length) console.log(policyLine(record.name, policy));
      console.log('store it now; it is not shown again:');
      console.log(key);
    }),
  );

  cmd.command('list').description('list keys (never the secrets)').action(() =>
    withStore(async (store) => {
      for (const k of await store.listApiKeys())
        console.log(`${k.id}\t${k.name}\t${k.prefix}…\t${k.revokedAt ? `revoked ${new Date(k.revokedAt).toISOString()}` : 'active'}\t${k.allowedSenders.join(',')}\t${describePolicy(k.policy)}`);
    }),
  );

  cmd.command('revoke <id-or-name>').description('revoke a key at once').action((idOrName: string) =>
    withStore(async (store) => {
      const ok = await store.revokeApiKey(idOrName, Date.now());
      console.log(ok ? `${idOrName} revoked` : `no active key ${idOrName}`);
      return ok;
    }),
  );

  policyOptions(cmd.command('policy <id-or-name>').description('change the rate limit, quota, size cap, source networks or sandbox mode'), true)
    .action((idOrName: string, o: PolicyFlags) =>
      withStore(async (store) => {
        const k = await activeKey(store, idOrName);
        if (!k) return false;
        const policy = policyFromFlags(o, k.policy);
        if (!policy) return;
        await store.updateApiKey(k.id, { policy });
        console.log(policyLine(k.name, policy));
      }),
    );

  for (const [verb, add] of [['allow', true], ['disallow', false]] as const)
    cmd.command(`${verb} <id-or-name> <sender>`).description(`${add ? 'add' : 'remove'} an allowed sender domain or address`).action(
      (idOrName: string, sender: string) =>
        withStore(async (store) => {
          const k = await activeKey(store, idOrName);
          if (!k) return false;
          const rest = k.allowedSenders.filter((s) => s.toLowerCase() !== sender.toLowerCase());
          const allowedSenders = add ? [...rest, sender] : rest;
          await store.updateApiKey(k.id, { allowedSenders });
          console.log(`${k.name} may send from: ${allowedSenders.join(', ') || '(nothing)'}`);
        }),
    );
}
