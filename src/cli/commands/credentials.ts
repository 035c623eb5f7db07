import type { Command } from 'commander';
import { changeCredentialSenders, getCredential, listCredentials, removeCredential, saveCredential, updateCredential } from '../../admin/credentials.ts';
import { replacePolicy } from '../../admin/policy-change.ts';
import { describePolicy } from '../../credentials/policy.ts';
import { reportRefusal } from '../admin-errors.ts';
import { policyFromFlags, policyLine, policyOptions, requireSenders, type PolicyFlags } from '../policy-options.ts';
import { withStore } from '../with-store.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerCredentials(program: Command): void {
  const cmd = program.command('credentials').description('SMTP credentials (username, password, allowed sender domains, sending policy)');

  policyOptions(
    cmd
      .command('add <username>')
      .description('create or replace a credential; prints a generated password when none is given')
      .option('--password <password>', 'the password (default: generate one)')
      .option('--allow-domain <domain>', 'a sender domain or address it may use; repeat for more; * for any', collect, []),
  ).action((username: string, o: PolicyFlags & { password?: string; allowDomain: string[] }) =>
    withStore((store) => reportRefusal(async () => {
      if (!requireSenders(o.allowDomain)) return;
      const policy = policyFromFlags(o);
      if (!policy) return;
      const saved = await saveCredential(store, { username, password: o.password, allowedSenders: o.allowDomain, policy: replacePolicy(policy) }, { replace: true });
      console.log(`${saved.replaced ? 'updated' : 'created'} ${username}, may send from: ${o.allowDomain.join(', ')}`);
      if (Object.keys(policy).length) console.log(policyLine(username, policy));
      if (saved.generatedPassword) console.log(`password: ${saved.generatedPassword}`);
    })),
  );

  policyOptions(cmd.command('policy <username>').description('change the rate limit, quota, size cap, source networks or sandbox mode'), true)
    .action((username: string, o: PolicyFlags) =>
      withStore((store) => reportRefusal(async () => {
        const c = await getCredential(store, username);
        const policy = policyFromFlags(o, c.policy);
        if (!policy) return;
        console.log(policyLine(username, (await updateCredential(store, username, { policy: replacePolicy(policy) })).policy));
      })),
    );

  cmd.command('list').description('list credentials').action(() =>
    withStore(async (store) => {
      for (const c of await listCredentials(store))
        console.log(`${c.username}\t${c.disabled ? 'disabled' : 'enabled'}\t${c.allowedSenders.join(',')}\t${new Date(c.createdAt).toISOString()}\t${describePolicy(c.policy)}`);
    }),
  );

  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const)
    cmd.command(`${verb} <username>`).description(`${verb} a credential`).action((username: string) =>
      withStore((store) => reportRefusal(async () => {
        await updateCredential(store, username, { disabled });
        console.log(`${username} ${verb}d`);
      })),
    );

  cmd.command('remove <username>').description('delete a credential').action((username: string) =>
    withStore((store) => reportRefusal(async () => {
      await removeCredential(store, username);
      console.log(`${username} removed`);
    })),
  );

  for (const [verb, add] of [['allow', true], ['disallow', false]] as const)
    cmd.command(`${verb} <username> <sender>`).description(`${add ? 'add' : 'remove'} an allowed sender domain or address`).action(
      (username: string, sender: string) =>
        withStore((store) => reportRefusal(async () => {
          const c = await changeCredentialSenders(store, username, sender, add);
          console.log(`${username} may send from: ${c.allowedSenders.join(', ') || '(nothing)'}`);
        })),
    );
}
