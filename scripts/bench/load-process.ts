// The latency client in a process of its own. In the harness's process it would
// share an event loop with the reading of smtp-sink's counters (one line per
// event, a few per delivered message), and every chunk read there delays a reply
// being timed, for either relay. Same runLoad; the result comes back as JSON.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLoad, type LoadOptions, type LoadResult } from './load-client.ts';
import { spawnTracked } from './processes.ts';

const SELF = fileURLToPath(import.meta.url);

/** runLoad in a child process; `workDir` holds its result file and log. */
export async function runLoadApart(o: LoadOptions, workDir: string): Promise<LoadResult> {
  const out = join(workDir, `load-${process.hrtime.bigint()}.json`);
  const child = spawnTracked(process.execPath, ['--import', 'tsx', SELF, out, JSON.stringify(o)], join(workDir, 'load-client.log'), process.env);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the load client exited with ${code} (see ${join(workDir, 'load-client.log')})`);
  return JSON.parse(readFileSync(out, 'utf8')) as LoadResult;
}

if (process.argv[1] === SELF) {
  const [out, options] = process.argv.slice(2) as [string, string];
  const result = await runLoad(JSON.parse(options) as LoadOptions);
  writeFileSync(out, JSON.stringify(result));
}
