import type { Command } from 'commander';
import { withStore } from '../with-store.ts';

export function registerSuppressions(program: Command): void {
  const cmd = program.command('suppressions').description('addresses that are never attempted (hard bounces, manual)');
  cmd.command('list').action(() =>
    withStore(async (store) => {
      for (const s of await store.listSuppressions()) console.log(`${s.address}\t${new Date(s.createdAt).toISOString()}\t${s.reason}`);
    }),
  );
  cmd.command('add <address>').option('--reason <text>', 'why', 'added by operator').action((address: string, o: { reason: string }) =>
    withStore(async (store) => {
      await store.addSuppression({ address, reason: o.reason, createdAt: Date.now() });
      console.log(`${address.toLowerCase()} suppressed`);
    }),
  );
  cmd.command('remove <address>').action((address: string) =>
    withStore(async (store) => {
      const ok = await store.removeSuppression(address);
      console.log(ok ? `${address.toLowerCase()} removed` : `${address} is not suppressed`);
      return ok;
    }),
  );
}
