import type { Command } from 'commander';
import { generatePassword, hashPassword } from '../../credentials/password.ts';
import { describePolicy } from '../../credentials/policy.ts';
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
    withStore(async (store) => {
      if (!requireSenders(o.allowDomain)) return;
      const policy = policyFromFlags(o);
      if (!policy) return;
      const password = o.password ?? generatePassword();
      const existing = await store.getCredential(username);
      await store.upsertCredential({
        username, passwordHash: await hashPassword(password), allowedSenders: o.allowDomain, disabled: false,
        createdAt: existing?.createdAt ?? Date.now(), policy,
      });
      console.log(`${existing ? 'updated' : 'created'} ${username}, may send from: ${o.allowDomain.join(', ')}`);
      if (Object.keys(policy).length) console.log(policyLine(username, policy));
      if (!o.password) console.log(`password: ${password}`);
    }),
  );

  policyOptions(cmd.command('policy <username>').description('change the rate limit, quota, size cap, source networks or sandbox mode'), true)
    .action((username: string, o: PolicyFlags) =>
      withStore(async (store) => {
        const c = await store.getCredential(username);
        if (!c) return void console.log(`no credential ${username}`), false;
        const policy = policyFromFlags(o, c.policy);
        if (!policy) return;
        await store.upsertCredential({ ...c, policy });
        console.log(policyLine(username, policy));
      }),
    );

  cmd.command('list').description('list credentials').action(() =>
    withStore(async (store) => {
      for (const c of await store.listCredentials())
        console.log(`${c.username}\t${c.disabled ? 'disabled' : 'enabled'}\t${c.allowedSenders.join(',')}\t${new Date(c.createdAt).toISOString()}\t${describePolicy(c.policy)}`);
    }),
  );

  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const)
    cmd.command(`${verb} <username>`).description(`${verb} a credential`).action((username: string) =>
      withStore(async (store) => {
        const ok = await store.setCredentialDisabled(username, disabled);
        console.log(ok ? `${username} ${verb}d` : `no credential ${username}`);
        return ok;
      }),
    );

  cmd.command('remove <username>').description('delete a credential').action((username: string) =>
    withStore(async (store) => {
      const ok = await store.removeCredential(username);
      console.log(ok ? `${username} removed` : `no credential ${username}`);
      return ok;
    }),
  );

  for (const [verb, add] of [['allow', true], ['disallow', false]] as const)
    cmd.command(`${verb} <username> <sender>`).description(`${add ? 'add' : 'remove'} an allowed sender domain or address`).action(
      (username: string, sender: string) =>
        withStore(async (store) => {
          const c = await store.getCredential(username);
          if (!c) return void console.log(`no credential ${username}`), false;
          const rest = c.allowedSenders.filter((s) => s.toLowerCase() !== sender.toLowerCase());
          await store.upsertCredential({ ...c, allowedSenders: add ? [...rest, sender] : rest });
          console.log(`${username} may send from: ${(add ? [...rest, sender] : rest).join(', ') || '(nothing)'}`);
        }),
    );
}
