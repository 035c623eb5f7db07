// `npm start` runs the compiled JavaScript (scripts/build.sh), not the sources
// through tsx: the build must compile, carry the dashboard's static files, and
// serve SMTP and HTTP with the node options package.json starts it with.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { npmStart, PROJECT_ROOT, spawnSmarthost } from '../helpers/child-smarthost.ts';
import { freePort } from '../helpers/ports.ts';

const run = promisify(execFile);

test('npm start: the compiled build serves SMTP, the API and the dashboard with its assets', async (t) => {
  const start = npmStart();
  assert.equal(start.entry, 'dist/cli/index.js');
  assert.deepEqual(start.args, ['serve']);
  assert.deepEqual(start.env, { MALLOC_ARENA_MAX: '2' });

  // Built into a directory of its own under the repository (node_modules must resolve from it).
  const out = join('.tmp', `build-${randomBytes(4).toString('hex')}`);
  t.after(() => rmSync(join(PROJECT_ROOT, out), { recursive: true, force: true }));
  await run('bash', ['scripts/build.sh', out], { cwd: PROJECT_ROOT, timeout: 120_000 });

  const data = mkdtempSync(join(tmpdir(), 'smarthost-build-'));
  t.after(() => rmSync(data, { recursive: true, force: true }));
  const [alt, http] = [await freePort(), await freePort()];
  const child = await spawnSmarthost(t, {
    SMARTHOST_DATA_DIR: data, SMARTHOST_HOSTNAME: 'build.test', SMARTHOST_LISTEN: '127.0.0.1',
    SMARTHOST_SUBMISSION_PORT: '0', SMARTHOST_SMTPS_PORT: '0', SMARTHOST_ALT_PORT: String(alt), SMARTHOST_HTTP_PORT: String(http),
    SMARTHOST_TRUSTED_NETWORKS: '127.0.0.1/32', SMARTHOST_MIN_FREE_DISK: '0', SMARTHOST_ADMIN_PASSWORD: 'build-test-password',
  }, { readyPort: http, buildDir: out });

  // npm start's environment reaches the server (glibc reads MALLOC_ARENA_MAX when the process starts).
  const environ = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
  assert.ok(environ.includes('MALLOC_ARENA_MAX=2'), 'the server runs without npm start\'s environment');
  // And its node options: one V8 helper thread (README, Choices), the heap settings.
  const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
  for (const option of ['--v8-pool-size=1', '--max-semi-space-size=8', '--heap-growing-percent=10', '--no-allocation-site-pretenuring'])
    assert.ok(argv.includes(option), `the server runs without ${option}: ${argv.join(' ')}`);

  const login = await fetch(`http://127.0.0.1:${http}/ui/login`);
  assert.equal(login.status, 200);
  const css = /href="(\/ui\/assets\/app\.css\?v=\w+)"/.exec(await login.text())?.[1];
  assert.ok(css, 'the login page links the stylesheet');
  const asset = await fetch(`http://127.0.0.1:${http}${css}`);
  assert.equal(asset.status, 200, 'the compiled build serves the dashboard stylesheet');
  assert.match(asset.headers.get('content-type') ?? '', /^text\/css/);

  // The trusted network on the alt port: accepted into the queue (delivery is not this test's business).
  const smtp = nodemailer.createTransport({ host: '127.0.0.1', port: alt, ignoreTLS: true });
  t.after(() => smtp.close());
  const info = await smtp.sendMail({ envelope: { from: 'app@build.test', to: ['someone@example.org'] }, raw: 'Subject: built\r\n\r\nHello.\r\n' });
  assert.match(info.response, /^250 .*queued as \w{26}/);
  assert.equal(child.exit, undefined, child.tail());
});
