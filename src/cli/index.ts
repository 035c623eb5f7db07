// The `smarthost` command line.
import { Command } from 'commander';
import { registerCredentials } from './commands/credentials.ts';
import { registerDoctor } from './commands/doctor.ts';
import { registerDomains } from './commands/domains.ts';
import { registerExplain } from './commands/explain.ts';
import { registerKeys } from './commands/keys.ts';
import { registerQueue } from './commands/queue.ts';
import { registerRoutes } from './commands/routes.ts';
import { registerServe } from './commands/serve.ts';
import { registerSuppressions } from './commands/suppressions.ts';
import { registerWebhooks } from './commands/webhooks.ts';

const program = new Command()
  .name('smarthost')
  .description('Authenticated SMTP relay: submission on 587/465/2525, durable queue, MX or upstream delivery')
  .showHelpAfterError();

registerServe(program);
registerCredentials(program);
registerKeys(program);
registerDomains(program);
registerSuppressions(program);
registerQueue(program);
registerRoutes(program);
registerWebhooks(program);
registerDoctor(program);
registerExplain(program);

await program.parseAsync();
