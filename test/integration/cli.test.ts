// The `smarthost` command line against a real data directory.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { verifyPassword } from '../../src/credentials/password.ts';
import { newMessageId } from '../../src/store/ids.ts';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';

const ROOT = join(import.meta.dirname, '../..');

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

const dataDir = () => ({ SMARTHOST_DATA_DIR: mkdtempSync(join(tmpdir(), 'smarthost-cli-')) });

test('credentials: add prints a generated password that works; list, allow, disable, remove', async () => {
  const env = dataDir();
  const add = await cli(['credentials', 'add', 'grafana', '--allow-domain', 'example.com'], env);
  assert.equal(add.code, 0, add.stderr);
  const password = /^password: (\S+)$/m.exec(add.stdout)?.[1];
  assert.ok(password && password.length >= 20);
  const store = openSqliteStore(env.SMARTHOST_DATA_DIR);
  const stored = await store.getCredential('grafana');
  await store.close();
  assert.ok(stored && (await verifyPassword(password, stored.passwordHash)), 'the printed password verifies');
  assert.ok(!stored.passwordHash.includes(password), 'stored in clear');

  assert.equal((await cli(['credentials', 'allow', 'grafana', 'alerts@other.org'], env)).stdout.trim(), 'grafana may send from: example.com, alerts@other.org');
  assert.match((await cli(['credentials', 'list'], env)).stdout, /^grafana\tenabled\texample\.com,alerts@other\.org\t/m);
  assert.equal((await cli(['credentials', 'disable', 'grafana'], env)).stdout.trim(), 'grafana disabled');
  assert.match((await cli(['credentials', 'list'], env)).stdout, /^grafana\tdisabled\t/m);
  assert.equal((await cli(['credentials', 'remove', 'grafana'], env)).stdout.trim(), 'grafana removed');
  const gone = await cli(['credentials', 'remove', 'grafana'], env);
  assert.equal(gone.code, 1);
  assert.equal(gone.stdout.trim(), 'no credential grafana');
});

test('credentials add with --password stores that password and prints none; without --allow-domain it refuses', async () => {
  const env = dataDir();
  const add = await cli(['credentials', 'add', 'wp', '--password', 's3cret-pass', '--allow-domain', 'a.test', '--allow-domain', 'b.test'], env);
  assert.equal(add.stdout.trim(), 'created wp, may send from: a.test, b.test');
  const none = await cli(['credentials', 'add', 'x'], env);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /give at least one --allow-domain/);
});

test('a bad configuration lists every problem at once and exits 2', async () => {
  const r = await cli(['serve'], { ...dataDir(), SMARTHOST_SUBMISSION_PORT: 'abc', SMARTHOST_RELAY_URL: 'http://x', SMARTHOST_TRUSTED_NETWORKS: '10.0.0.0/99' });
  assert.equal(r.code, 2);
  for (const name of ['SMARTHOST_SUBMISSION_PORT', 'SMARTHOST_RELAY_URL', 'SMARTHOST_TRUSTED_NETWORKS']) assert.match(r.stderr, new RegExp(`- ${name}: `));
});

test('queue list, show, retry and delete; suppressions add, list, remove', async () => {
  const env = dataDir();
  const store = openSqliteStore(env.SMARTHOST_DATA_DIR);
  const id = newMessageId();
  await store.enqueue({
    id, sender: 'app@example.com', recipients: [{ address: 'a@example.org', status: 'queued' }], raw: Buffer.from('Subject: x\r\n\r\nx\r\n'),
    source: 'smtp', credential: 'app', clientAddress: '127.0.0.1', createdAt: Date.now(),
  });
  const [claimed] = await store.claimDue({ now: Date.now(), limit: 1, leaseMs: 1, owner: 'test' });
  await store.recordResults([{
    recipientId: claimed!.id, status: 'deferred', attempts: 1, nextAttemptAt: Date.now() + 3_600_000, lastReply: '451 4.7.1 Greylisted',
    event: { messageId: id, recipient: 'a@example.org', type: 'deferred', at: Date.now(), route: 'mx', reply: { code: 451, enhanced: '4.7.1', text: 'Greylisted' } },
  }], 'test');
  await store.close();

  const list = await cli(['queue', 'list', '--status', 'deferred'], env);
  assert.match(list.stdout, new RegExp(`^${id}\\t\\S+\\t<app@example\\.com>\\t\\d+B\\ta@example\\.org=deferred$`, 'm'));
  assert.equal((await cli(['queue', 'list', '--status', 'bounced'], env)).stdout, '');
  assert.equal((await cli(['queue', 'list', '--status', 'nonsense'], env)).code, 1);
  const show = await cli(['queue', 'show', id], env);
  assert.match(show.stdout, /a@example\.org\tdeferred\tattempts=1\tnext=\S+\t451 4\.7\.1 Greylisted/);
  assert.match(show.stdout, /\tdeferred\ta@example\.org\tmx\t451 4\.7\.1 Greylisted/);
  assert.equal((await cli(['queue', 'retry', id], env)).stdout.trim(), `1 recipient(s) of ${id} due now`);
  const reopened = openSqliteStore(env.SMARTHOST_DATA_DIR);
  assert.ok((await reopened.claimDue({ now: Date.now(), limit: 1, leaseMs: 1, owner: 't' })).length === 1, 'retry made it due');
  await reopened.close();
  // delete cancels what is pending and keeps the record (as DELETE /emails/{id}); --purge removes it for good.
  assert.equal((await cli(['queue', 'delete', id], env)).stdout.trim(), `1 recipient(s) of ${id} cancelled`);
  assert.match((await cli(['queue', 'show', id], env)).stdout, /a@example\.org\tcancelled\tattempts=1/);
  assert.deepEqual(await cli(['queue', 'delete', id], env), { code: 1, stdout: `message ${id} has no queued or deferred recipients\n`, stderr: '' });
  assert.deepEqual(await cli(['queue', 'retry', id], env), { code: 1, stdout: `message ${id} has no queued or deferred recipients\n`, stderr: '' });
  assert.equal((await cli(['queue', 'delete', '--purge', id], env)).stdout.trim(), `${id} deleted`);
  assert.equal((await cli(['queue', 'show', id], env)).code, 1);
  assert.deepEqual(await cli(['queue', 'retry', id], env), { code: 1, stdout: `no message ${id}\n`, stderr: '' });

  assert.equal((await cli(['suppressions', 'add', 'Bad@Example.org', '--reason', 'complaint'], env)).stdout.trim(), 'bad@example.org suppressed');
  assert.match((await cli(['suppressions', 'list'], env)).stdout, /^bad@example\.org\t\S+\tcomplaint$/m);
  assert.equal((await cli(['suppressions', 'add', 'other@example.net', '--reason', 'said "stop", twice'], env)).code, 0);
  assert.equal((await cli(['suppressions', 'list', '--search', 'EXAMPLE.NET'], env)).stdout.split('\t')[0], 'other@example.net');
  assert.match((await cli(['suppressions', 'export'], env)).stdout,
    /^email,reason,created_at\r\nbad@example\.org,complaint,\S+Z\r\nother@example\.net,"said ""stop"", twice",\S+Z\r\n$/);
  assert.equal((await cli(['suppressions', 'remove', 'bad@example.org'], env)).stdout.trim(), 'bad@example.org removed');
  assert.equal((await cli(['suppressions', 'remove', 'bad@example.org'], env)).code, 1);
});

test('policy flags: credentials add and policy, keys create, policy, allow and disallow', async () => {
  const env = dataDir();
  const add = await cli(['credentials', 'add', 'grafana', '--password', 'pw-123456', '--allow-domain', 'example.com', '--rate-limit', '60',
    '--daily-quota', '1000', '--max-size', '100000', '--source-cidr', '10.0.0.0/8', '--source-cidr', '::1', '--sandbox'], env);
  assert.equal(add.stdout, 'created grafana, may send from: example.com\ngrafana limits: 60/min, 1000/day, max 100000 B, from 10.0.0.0/8 ::1, sandbox\n');
  assert.equal((await cli(['credentials', 'policy', 'grafana', '--rate-limit', '30', '--no-sandbox'], env)).stdout,
    'grafana limits: 30/min, 1000/day, max 100000 B, from 10.0.0.0/8 ::1\n');
  assert.equal((await cli(['credentials', 'policy', 'grafana', '--clear', '--daily-quota', '5'], env)).stdout, 'grafana limits: 5/day\n');
  assert.match((await cli(['credentials', 'list'], env)).stdout, /^grafana\tenabled\texample\.com\t\S+\t5\/day$/m);
  const bad = await cli(['credentials', 'policy', 'grafana', '--rate-limit', 'abc', '--source-cidr', '10.0.0.0/99'], env);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, '--rate-limit must be a whole number above 0, got "abc"\n--source-cidr "10.0.0.0/99" is not an address or CIDR\n');
  assert.equal((await cli(['credentials', 'policy', 'nobody', '--sandbox'], env)).code, 1);

  const created = await cli(['keys', 'create', 'ci', '--allow-domain', 'example.com', '--rate-limit', '10'], env);
  const lines = created.stdout.trim().split('\n');
  assert.equal(lines[1], 'ci limits: 10/min');
  assert.match(lines[lines.length - 1]!, /^sh_\S+$/);
  assert.equal((await cli(['keys', 'policy', 'ci', '--sandbox'], env)).stdout, 'ci limits: 10/min, sandbox\n');
  assert.equal((await cli(['keys', 'allow', 'ci', 'other.org'], env)).stdout, 'ci may send from: example.com, other.org\n');
  assert.equal((await cli(['keys', 'disallow', 'ci', 'example.com'], env)).stdout, 'ci may send from: other.org\n');
  assert.match((await cli(['keys', 'list'], env)).stdout, /\tci\tsh_\S+…\tactive\tother\.org\t10\/min, sandbox\tfull_access$/m);
  const store = openSqliteStore(env.SMARTHOST_DATA_DIR);
  const [key] = await store.listApiKeys();
  await store.close();
  assert.deepEqual([key?.allowedSenders, key?.policy], [['other.org'], { ratePerMinute: 10, sandbox: true }]);

  await cli(['keys', 'create', 'ci', '--allow-domain', 'example.com'], env);
  const ambiguous = await cli(['keys', 'allow', 'ci', 'x.org'], env);
  assert.deepEqual([ambiguous.code, ambiguous.stdout], [1, '2 active keys are named ci; give its id (smarthost keys list)\n']);
  assert.equal((await cli(['keys', 'allow', key!.id, 'x.org'], env)).stdout, 'ci may send from: other.org, x.org\n');
  assert.deepEqual(await cli(['keys', 'policy', 'nope', '--clear'], env), { code: 1, stdout: 'no active key nope\n', stderr: '' });

  // Permissions: a sending_access key, refused a bad value; disable, enable, revoke.
  const sending = await cli(['keys', 'create', 'shop', '--allow-domain', 'example.com', '--permission', 'sending_access'], env);
  assert.match(sending.stdout, /^created API key shop \(id \S+, sending_access\), may send from: example\.com$/m);
  assert.match((await cli(['keys', 'list'], env)).stdout, /\tshop\tsh_\S+…\tactive\texample\.com\tno limits\tsending_access$/m);
  assert.deepEqual(await cli(['keys', 'create', 'x', '--allow-domain', '*', '--permission', 'admin'], env),
    { code: 2, stdout: '', stderr: '--permission must be full_access or sending_access, got "admin"\n' });
  assert.equal((await cli(['keys', 'disable', 'shop'], env)).stdout, 'shop disabled\n');
  assert.match((await cli(['keys', 'list'], env)).stdout, /\tshop\tsh_\S+…\tdisabled\t/m);
  assert.equal((await cli(['keys', 'enable', 'shop'], env)).stdout, 'shop enabled\n');
  assert.equal((await cli(['keys', 'revoke', 'shop'], env)).stdout, 'shop revoked\n');
  assert.deepEqual(await cli(['keys', 'revoke', 'shop'], env), { code: 1, stdout: 'no active key shop\n', stderr: '' });
});

test('webhooks: list flags a failing endpoint; deliveries, replay-delivery, rotate-secret; unknown ids exit 1', async () => {
  const env = { ...dataDir(), SMARTHOST_WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8' };
  const added = await cli(['webhooks', 'add', 'http://127.0.0.1:9/hooks', '--events', 'queued'], env);
  const [first, , secret] = added.stdout.trim().split('\n');
  const id = /^added (wh_[0-9a-f]+) /.exec(first!)![1]!;
  const store = openSqliteStore(env.SMARTHOST_DATA_DIR);
  for (let i = 0; i < 3; i++)
    await store.enqueue({
      id: newMessageId(), sender: 'app@example.com', recipients: [{ address: `r${i}@example.org`, status: 'queued' }], raw: Buffer.from('Subject: x\r\n\r\nx\r\n'),
      source: 'smtp', credential: 'app', clientAddress: '127.0.0.1', createdAt: Date.now(),
    });
  for (const d of await store.claimWebhookDeliveries({ now: Date.now(), limit: 10, leaseMs: 60_000, owner: 't' }))
    await store.recordWebhookAttempt({ outboxId: d.outboxId, owner: 't', at: Date.now(), status: 502, error: 'HTTP 502', outcome: 'failed' });
  const [delivery] = await store.listWebhookDeliveries(id, { limit: 1 });
  await store.close();

  assert.match((await cli(['webhooks', 'list'], env)).stdout, /\tpending=0 delivered=0 failed=3\t.*\tlast error: HTTP 502\tFAILING \(3 in a row\)$/m);
  const deliveries = (await cli(['webhooks', 'deliveries', id], env)).stdout.trim().split('\n');
  assert.equal(deliveries.length, 3);
  assert.match(deliveries[0]!, new RegExp(`^${delivery!.id}\\t\\S+Z\\temail\\.queued\\t${delivery!.messageId}\\tfailed\\tattempts=1\\t502\\tHTTP 502$`));
  assert.equal((await cli(['webhooks', 'replay-delivery', id, String(delivery!.id)], env)).stdout, `delivery ${delivery!.id} of ${id} queued again\n`);
  assert.match((await cli(['webhooks', 'deliveries', id, '--limit', '1'], env)).stdout, /\tpending\tattempts=0\t502\tHTTP 502\n$/);
  const rotated = (await cli(['webhooks', 'rotate-secret', id], env)).stdout.trim().split('\n');
  assert.equal(rotated[0], 'new signing secret (deliveries from now on are signed with it; shown once):');
  assert.match(rotated[1]!, /^whsec_/);
  assert.notEqual(rotated[1], secret);
  for (const args of [['deliveries', 'wh_nope'], ['rotate-secret', 'wh_nope'], ['replay', 'wh_nope'], ['remove', 'wh_nope']])
    assert.deepEqual(await cli(['webhooks', ...args], env), { code: 1, stdout: 'no webhook wh_nope\n', stderr: '' }, args.join(' '));
  assert.deepEqual(await cli(['webhooks', 'replay-delivery', id, '999'], env), { code: 1, stdout: `webhook ${id} has no delivery 999\n`, stderr: '' });
});
