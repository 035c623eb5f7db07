import type { Command } from 'commander';
import { generatePassword, hashPassword } from '../../credentials/password.ts';
import { withStore } from '../with-store.ts';

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerCredentials(program: Command): void {
  const cmd = program.command('credentials').description('SMTP credentials (username, password, allowed sender domains)');

  cmd
    .command('add <username>')
    .description('create or replace a credential; prints a generated password when none is given')
    .option('--password <password>', 'the password (default: generate one)')
    .option('--allow-domain <domain>', 'a sender domain or address it may use; repeat for more; * for any', collect, [])
    .action((username: string, o: { password?: string; allowDomain: string[] }) =>
      withStore(async (store) => {
        if (o.allowDomain.length === 0) {
          console.error('give at least one --allow-domain (a domain, an address, or * to allow any sender)');
          process.exitCode = 2;
          return;
        }
        const password = o.password ?? generatePassword();
        const existing = await store.getCredential(username);
        await store.upsertCredential({
          username, passwordHash: await hashPassword(password), allowedSenders: o.allowDomain, disabled: false,
          createdAt: existing?.createdAt ?? Date.now(),
        });
        console.log(`${existing ? 'updated' : 'created'} ${username}, may send from: ${o.allowDomain.join(', ')}`);
        if (!o.password) console.log(`password: ${password}`);
      }),
    );

  cmd.command('list').description('list credentials').action(() =>
    withStore(async (store) => {
      for (const c of await store.listCredentials())
        console.log(`${c.username}\t${c.disabled ? 'disabled' : 'enabled'}\t${c.allowedSenders.join(',')}\t${new Date(c.createdAt).toISOString()}`);
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
