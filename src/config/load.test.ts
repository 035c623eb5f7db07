import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './load.ts';

test('no settings gives the documented defaults', () => {
  const c = loadConfig({});
  assert.equal(c.dataDir, './data');
  assert.equal(c.submissionPort, 587);
  assert.equal(c.smtpsPort, 465);
  assert.equal(c.altPort, 2525);
  assert.deepEqual(c.trustedNetworks, []);
  assert.equal(c.allowInsecureAuth, false);
  assert.equal(c.maxMessageSize, 25 * 1024 * 1024);
  assert.equal(c.maxRecipients, 100);
  assert.equal(c.mxPort, 25);
  assert.equal(c.maxQueueLifetime, 5 * 86_400_000);
  assert.equal(c.relayUrl, undefined);
  assert.ok(c.hostname.length > 0);
});

test('environment values are parsed: ports, lists, booleans, durations, relay URL', () => {
  const c = loadConfig({
    SMARTHOST_ALT_PORT: '0',
    SMARTHOST_TRUSTED_NETWORKS: '10.0.0.0/8, 127.0.0.1 ::1/128',
    SMARTHOST_ALLOW_INSECURE_AUTH: 'true',
    SMARTHOST_MAX_QUEUE_LIFETIME: '2h',
    SMARTHOST_RELAY_URL: 'smtps://u:p%40ss@relay.example.org:465',
    SMARTHOST_DNS_SERVERS: '127.0.0.1:5353,::1',
  });
  assert.equal(c.altPort, 0);
  assert.deepEqual(c.trustedNetworks, ['10.0.0.0/8', '127.0.0.1', '::1/128']);
  assert.equal(c.allowInsecureAuth, true);
  assert.equal(c.maxQueueLifetime, 7_200_000);
  assert.equal(c.relayUrl?.protocol, 'smtps:');
  assert.equal(decodeURIComponent(c.relayUrl!.password), 'p@ss');
  assert.deepEqual(c.dnsServers, ['127.0.0.1:5353', '::1']);
});

test('every bad value is reported at once, by its environment name', () => {
  assert.throws(
    () =>
      loadConfig({
        SMARTHOST_SUBMISSION_PORT: '70000',
        SMARTHOST_TRUSTED_NETWORKS: '10.0.0.0/33',
        SMARTHOST_RELAY_URL: 'http://x',
        SMARTHOST_MAX_QUEUE_LIFETIME: 'forever',
        SMARTHOST_LISTEN: 'everywhere',
      }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const text = err.problems.join('\n');
      for (const name of ['SUBMISSION_PORT', 'TRUSTED_NETWORKS', 'RELAY_URL', 'MAX_QUEUE_LIFETIME', 'LISTEN'])
        assert.match(text, new RegExp(`SMARTHOST_${name}:`));
      assert.equal(err.problems.length, 5);
      return true;
    },
  );
});

test('a config file carries the same settings; the environment wins', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smarthost-config-'));
  const file = join(dir, 'smarthost.json');
  writeFileSync(file, JSON.stringify({ altPort: 2626, maxRecipients: 7, hostname: 'mx.example.org' }));
  const c = loadConfig({ SMARTHOST_CONFIG: file, SMARTHOST_MAX_RECIPIENTS: '9' });
  assert.equal(c.altPort, 2626);
  assert.equal(c.maxRecipients, 9);
  assert.equal(c.hostname, 'mx.example.org');
  writeFileSync(file, JSON.stringify({ altPrt: 1 }));
  assert.throws(() => loadConfig({ SMARTHOST_CONFIG: file }), /unknown setting "altPrt"/);
});

test('a PostgreSQL URL from SMARTHOST_DATABASE_URL, or the platform DATABASE_URL when that is unset', () => {
  assert.equal(loadConfig({}).databaseUrl, undefined);
  assert.equal(loadConfig({ SMARTHOST_DATABASE_URL: 'postgres://u:p@db:5432/mail' }).databaseUrl, 'postgres://u:p@db:5432/mail');
  assert.equal(loadConfig({ DATABASE_URL: 'postgresql://db/mail' }).databaseUrl, 'postgresql://db/mail');
  assert.equal(loadConfig({ DATABASE_URL: 'postgres://a/x', SMARTHOST_DATABASE_URL: 'postgres://b/y' }).databaseUrl, 'postgres://b/y');
  const problems = (env: NodeJS.ProcessEnv) => {
    try {
      loadConfig(env);
    } catch (err) {
      return (err as ConfigError).problems;
    }
    return [];
  };
  assert.match(problems({ SMARTHOST_DATABASE_URL: 'mysql://db/mail' })[0] ?? '', /^SMARTHOST_DATABASE_URL: must look like postgres:\/\//);
  assert.match(problems({ DATABASE_URL: 'mysql://db/mail' })[0] ?? '', /^DATABASE_URL: must look like postgres:\/\//);
});

test('TLS policy per recipient domain: an object in the config file or domain=level pairs in SMARTHOST_TLS_POLICY', () => {
  assert.deepEqual(loadConfig({}).tlsPolicy, {});
  assert.equal(loadConfig({}).mtaSts, true);
  assert.equal(loadConfig({}).mtaStsTimeout, 10_000);
  assert.deepEqual(loadConfig({ SMARTHOST_TLS_POLICY: 'Partner.Example=verify, other.example=encrypt' }).tlsPolicy,
    { 'partner.example': 'verify', 'other.example': 'encrypt' });
  const dir = mkdtempSync(join(tmpdir(), 'smarthost-config-'));
  const file = join(dir, 'smarthost.json');
  writeFileSync(file, JSON.stringify({ tlsPolicy: { 'partner.example': 'may' }, mtaSts: false }));
  const c = loadConfig({ SMARTHOST_CONFIG: file });
  assert.deepEqual(c.tlsPolicy, { 'partner.example': 'may' });
  assert.equal(c.mtaSts, false);
  assert.throws(() => loadConfig({ SMARTHOST_TLS_POLICY: 'partner.example=strict,bare.example,=verify' }), (err: ConfigError) => {
    assert.deepEqual(err.problems, [
      'SMARTHOST_TLS_POLICY: partner.example: "strict" is not may, encrypt or verify',
      'SMARTHOST_TLS_POLICY: bare.example: "" is not may, encrypt or verify',
      'SMARTHOST_TLS_POLICY: not a domain=level entry: =verify',
    ]);
    return true;
  });
});

test('provider webhook secrets: empty is unset; a malformed secret, key or topic is reported with what to set', () => {
  const c = loadConfig({ SMARTHOST_RESEND_WEBHOOK_SECRET: '', SMARTHOST_SES_SNS_TOPIC_ARN: ' arn:aws:sns:eu-west-1:123456789012:ses-events ' });
  assert.equal(c.resendWebhookSecret, undefined);
  assert.equal(c.sesSnsTopicArn, 'arn:aws:sns:eu-west-1:123456789012:ses-events');
  assert.throws(
    () => loadConfig({
      SMARTHOST_RESEND_WEBHOOK_SECRET: 're_123', SMARTHOST_SENDGRID_WEBHOOK_PUBLIC_KEY: 'bm90IGEga2V5', SMARTHOST_SES_SNS_TOPIC_ARN: 'ses-events',
    }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [
        'SMARTHOST_RESEND_WEBHOOK_SECRET: must be the whsec_… signing secret Resend shows for the webhook',
        'SMARTHOST_SENDGRID_WEBHOOK_PUBLIC_KEY: must be the base64 ECDSA verification key SendGrid shows under Mail Settings → Signed Event Webhook',
        'SMARTHOST_SES_SNS_TOPIC_ARN: must look like arn:aws:sns:us-east-1:123456789012:ses-events',
      ]);
      return true;
    },
  );
});
