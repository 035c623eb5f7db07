import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from '../../test/helpers/ports.ts';
import { requireProgram, skipWithout } from '../../test/helpers/run.ts';
import { tempDir } from '../../test/helpers/temp-dir.ts';
import { postfixConfig, startPostfix } from './postfix.ts';
import { slowFsyncEnv } from './slow-fsync.ts';

const run = promisify(execFile);


test('the shim makes each fsync and fdatasync of a process it is loaded into wait the delay', async (t) => {
  const dir = tempDir(t, 'smarthost-slow-fsync');
  const env = slowFsyncEnv(dir, 30);
  // Three of each, timed in the child, with and without the shim: the difference is the delay.
  const script = `const fs = require('node:fs'); const fd = fs.openSync(${JSON.stringify(join(dir, 'f'))}, 'w');
    const t0 = process.hrtime.bigint(); for (let i = 0; i < 3; i++) { fs.writeSync(fd, 'x'); fs.fsyncSync(fd); fs.fdatasyncSync(fd); }
    console.log(Number(process.hrtime.bigint() - t0) / 1e6);`;
  const timed = async (extra: Record<string, string>) => Number((await run(process.execPath, ['-e', script], { env: { ...process.env, ...extra } })).stdout);
  const without = await timed({});
  const withShim = await timed(env);
  assert.ok(withShim - without >= 6 * 30 * 0.9, `6 syncs took ${withShim} ms with the shim, ${without} ms without`);
});

test('main.cf: the environment reaches every Postfix daemon through import_environment', () => {
  const { mainCf } = postfixConfig({ dir: '/d', smtpPort: 1, sinkHost: '127.0.0.2', sinkPort: 2, environment: { LD_PRELOAD: '/w/fsync-shim.so', BENCH_FSYNC_DELAY_US: '2000' } });
  const line = mainCf.split('\n').find((l) => l.startsWith('import_environment = '))!;
  assert.deepEqual(line.split(' ').slice(-2), ['LD_PRELOAD=/w/fsync-shim.so', 'BENCH_FSYNC_DELAY_US=2000']);
  assert.ok(line.includes('MAIL_CONFIG'), 'the defaults stay');
});

test('a private Postfix started with the shim has it loaded in its daemons', { skip: skipWithout('postfix') }, async (t) => {
  requireProgram('postfix');
  const dir = tempDir(t, 'smarthost-slow-fsync');
  chmodSync(dir, 0o755); // Postfix's daemons (user postfix) reach their queue through it
  const pf = await startPostfix({ dir: join(dir, 'pf'), smtpPort: await freePort(), sinkHost: '127.0.0.2', sinkPort: await freePort(),
    environment: slowFsyncEnv(dir, 1) }, join(dir, 'postfix.log'));
  t.after(() => pf.stop());
  const children = pf.pids().filter((pid) => pid !== pf.masterPid);
  assert.ok(children.length > 0, 'no Postfix daemons');
  for (const pid of children) {
    // A daemon just forked may still be in the dynamic loader: wait (bounded) until libc is mapped.
    let maps = '';
    for (const deadline = Date.now() + 5_000; !/libc[.-]/.test(maps) && Date.now() < deadline; await new Promise((r) => setTimeout(r, 50)))
      maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    assert.match(maps, /fsync-shim\.so/, `daemon ${pid}`);
  }
});
