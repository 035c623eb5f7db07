import type { Command } from 'commander';
import { suppressionsCsv } from '../../admin/suppressions-csv.ts';
import { withStore } from '../with-store.ts';

export function registerSuppressions(program: Command): void {
  const cmd = program.command('suppressions').description('addresses that are never attempted (hard bounces, manual)');
  cmd.command('list').option('--search <text>', 'only addresses containing this').action((o: { search?: string }) =>
    withStore(async (store) => {
      for (const s of await store.listSuppressions({ search: o.search })) console.log(`${s.address}\t${new Date(s.createdAt).toISOString()}\t${s.reason}`);
    }),
  );
  cmd.command('export').description('the list as CSV on stdout (the same file as GET /suppressions.csv)').option('--search <text>', 'only addresses containing this')
    .action((o: { search?: string }) =>
      withStore(async (store) => {
        for await (const line of suppressionsCsv(store, o.search)) process.stdout.write(line);
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
