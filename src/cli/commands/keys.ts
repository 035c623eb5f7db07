import type { Command } from 'commander';
import { changeKeySenders, createKey, findKey, listKeys, revokeKey, updateKey } from '../../admin/api-keys.ts';
import { replacePolicy } from '../../admin/policy-change.ts';
import { describePolicy } from '../../credentials/policy.ts';
import { API_KEY_PERMISSIONS, type ApiKeyPermission } from '../../store/store.ts';
import { reportRefusal } from '../admin-errors.ts';
import { policyFromFlags, policyLine, policyOptions, requireSenders, type PolicyFlags } from '../policy-options.ts';
import { withStore } from '../with-store.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerKeys(program: Command): void {
  const cmd = program.command('keys').description('API keys for the HTTP sending API (and SMTP, as the password with the key name as username)');

  policyOptions(
    cmd
      .command('create <name>')
      .description('create a key; it is printed once, alone on the last line')
      .option('--allow-domain <domain>', 'a sender domain or address it may use; repeat for more; * for any', collect, [])
      .option('--permission <permission>', `${API_KEY_PERMISSIONS.join(' or ')}: sending_access may only send`, 'full_access'),
  ).action((name: string, o: PolicyFlags & { allowDomain: string[]; permission: string }) =>
    withStore((store) => reportRefusal(async () => {
      if (!requireSenders(o.allowDomain)) return;
      if (!(API_KEY_PERMISSIONS as readonly string[]).includes(o.permission)) {
        console.error(`--permission must be ${API_KEY_PERMISSIONS.join(' or ')}, got ${JSON.stringify(o.permission)}`);
        process.exitCode = 2;
        return;
      }
      const policy = policyFromFlags(o);
      if (!policy) return;
      const { key, view } = await createKey(store, {
        name, allowedSenders: o.allowDomain, policy: replacePolicy(policy), permission: o.permission as ApiKeyPermission,
      });
      console.log(`created API key ${view.name} (id ${view.id}, ${view.permission}), may send from: ${view.allowedSenders.join(', ')}`);
      if (Object.keys(policy).length) console.log(policyLine(view.name, policy));
      console.log('store it now; it is not shown again:');
      console.log(key);
    })),
  );

  cmd.command('list').description('list keys (never the secrets)').action(() =>
    withStore(async (store) => {
      for (const k of await listKeys(store)) {
        const state = k.revokedAt ? `revoked ${new Date(k.revokedAt).toISOString()}` : k.disabled ? 'disabled' : 'active';
        console.log(`${k.id}\t${k.name}\t${k.prefix}…\t${state}\t${k.allowedSenders.join(',')}\t${describePolicy(k.policy)}\t${k.permission}`);
      }
    }),
  );

  cmd.command('revoke <id-or-name>').description('revoke a key at once').action((idOrName: string) =>
    withStore((store) => reportRefusal(async () => {
      await revokeKey(store, idOrName);
      console.log(`${idOrName} revoked`);
    })),
  );

  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const)
    cmd.command(`${verb} <id-or-name>`).description(`${verb} a key (a disabled key is refused until enabled)`).action((idOrName: string) =>
      withStore((store) => reportRefusal(async () => {
        await updateKey(store, idOrName, { disabled });
        console.log(`${idOrName} ${verb}d`);
      })),
    );

  policyOptions(cmd.command('policy <id-or-name>').description('change the rate limit, quota, size cap, source networks or sandbox mode'), true)
    .action((idOrName: string, o: PolicyFlags) =>
      withStore((store) => reportRefusal(async () => {
        const k = await findKey(store, idOrName);
        const policy = policyFromFlags(o, k.policy);
        if (!policy) return;
        const updated = await updateKey(store, k.id, { policy: replacePolicy(policy) });
        console.log(policyLine(updated.name, updated.policy));
      })),
    );

  for (const [verb, add] of [['allow', true], ['disallow', false]] as const)
    cmd.command(`${verb} <id-or-name> <sender>`).description(`${add ? 'add' : 'remove'} an allowed sender domain or address`).action(
      (idOrName: string, sender: string) =>
        withStore((store) => reportRefusal(async () => {
          const k = await changeKeySenders(store, idOrName, sender, add);
          console.log(`${k.name} may send from: ${k.allowedSenders.join(', ') || '(nothing)'}`);
        })),
    );
}
