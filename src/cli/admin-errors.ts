// How the CLI reports an admin operation's refusal (src/admin/admin-error.ts):
// bad input on stderr with exit code 2, the rest on stdout with exit code 1.
import { AdminError } from '../admin/admin-error.ts';

export async function reportRefusal(run: () => Promise<boolean | void>): Promise<boolean | void> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof AdminError)) throw err;
    if (err.kind === 'invalid') {
      console.error(err.message);
      process.exitCode = 2;
      return;
    }
    console.log(err.message);
    return false;
  }
}
