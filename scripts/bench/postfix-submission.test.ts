// The benchmark's private Postfix with its submission service (scenario 3's
// counterpart of smarthost's 587), started for real and driven by swaks:
// mail goes through only after STARTTLS and AUTH with the bench user's password.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from '../../test/helpers/ports.ts';
import { requireProgram, run, skipWithout } from '../../test/helpers/run.ts';
import { startPostfix, type PostfixInstance } from './postfix.ts';
import { startSmtpSink, type Sink } from './smtp-sink.ts';

// Outside CI a missing program skips these with its name; under CI=true skipWithout returns false and they fail.
const skip = skipWithout('postfix', 'smtp-sink', 'saslpasswd2', 'swaks', 'openssl');
const USER = 'bench';
const PASSWORD = 'not-a-secret-7';
let work: string;
let postfix: PostfixInstance;
let sink: Sink;
let submissionPort: number;

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(os.tmpdir(), 'pf-submission-'));
  // The daemons run as postfix and reach their queue through this directory.
  chmodSync(work, 0o755);
  const sinkPort = await freePort('127.0.0.2');
  sink = await startSmtpSink('127.0.0.2', sinkPort, work);
  submissionPort = await freePort();
  postfix = await startPostfix({
    dir: join(work, 'postfix'), smtpPort: await freePort(), sinkHost: '127.0.0.2', sinkPort,
    submission: { port: submissionPort, user: USER, password: PASSWORD },
  }, join(work, 'postfix.log'));
});

after(async () => {
  if (skip) return;
  await postfix?.stop();
  await sink?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function swaks(args: string[]): Promise<string> {
  const r = await run(requireProgram('swaks'), ['--server', `127.0.0.1:${submissionPort}`, '--helo', 'client.test',
    '--from', 'app@example.com', '--to', 'rcpt@[127.0.0.2]', ...args], { timeoutMs: 20_000 });
  assert.ok(!r.timedOut, `swaks timed out:\n${r.stdout}${r.stderr}`);
  return r.stdout + r.stderr;
}

test('after STARTTLS, AUTH PLAIN with the bench user relays the message to the sink', { skip: skip }, async () => {
  sink.reset();
  const t = await swaks(['--tls', '--auth', 'PLAIN', '--auth-user', USER, '--auth-password', PASSWORD]);
  assert.match(t, /<~\s+235 2\.7\.0 Authentication successful/);
  assert.match(t, /<~\s+250 2\.0\.0 Ok: queued as/);
  assert.ok(await sink.waitFor(1, 20_000), 'the sink received the message');
});

test('AUTH LOGIN works too; a wrong password gets 535 5.7.8', { skip: skip }, async () => {
  assert.match(await swaks(['--tls', '--auth', 'LOGIN', '--auth-user', USER, '--auth-password', PASSWORD]), /<~\s+235 2\.7\.0/);
  assert.match(await swaks(['--tls', '--auth', 'PLAIN', '--auth-user', USER, '--auth-password', 'wrong']), /<~\*?\s+535 5\.7\.8/);
});

test('without STARTTLS: no AUTH offered and no mail taken', { skip: skip }, async () => {
  const t = await swaks(['--quit-after', 'MAIL']);
  assert.match(t, /<-  250-STARTTLS/);
  assert.doesNotMatch(t, /250[- ]AUTH/);
  assert.match(t, /<\*\* 530 5\.7\.0 Must issue a STARTTLS command first/);
});

test('over TLS but unauthenticated: relaying refused', { skip: skip }, async () => {
  const t = await swaks(['--tls']);
  assert.match(t, /<~\*?\s+554 5\.7\.1 <rcpt@\[127\.0\.0\.2\]>: Recipient address rejected: Access denied/);
});
