import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configuredProviders } from '../delivery/transports/providers/index.ts';
import { ConfigError, loadConfig } from './load.ts';

test('no provider variables: no providers, default timeout', () => {
  const c = loadConfig({});
  assert.deepEqual(c.providers, {});
  assert.equal(c.providerTimeout, 30_000);
  assert.deepEqual(configuredProviders(c.providers), []);
});

test('each provider from its SMARTHOST_<PROVIDER>_* variables, with default and overridden base URLs', () => {
  const c = loadConfig({
    SMARTHOST_RESEND_API_KEY: 're_1',
    SMARTHOST_POSTMARK_SERVER_TOKEN: 'pm', SMARTHOST_POSTMARK_MESSAGE_STREAM: 'outbound',
    SMARTHOST_SENDGRID_API_KEY: 'SG.1',
    SMARTHOST_MAILGUN_API_KEY: 'key-1', SMARTHOST_MAILGUN_DOMAIN: 'mg.example.com', SMARTHOST_MAILGUN_API_URL: 'https://api.eu.mailgun.net',
    SMARTHOST_SES_REGION: 'eu-west-1', SMARTHOST_SES_ACCESS_KEY_ID: 'AKID', SMARTHOST_SES_SECRET_ACCESS_KEY: 'secret',
    SMARTHOST_SES_SESSION_TOKEN: 'tok', SMARTHOST_SES_CONFIGURATION_SET: 'tracking',
    SMARTHOST_PROVIDER_TIMEOUT: '10s',
  });
  assert.equal(c.providers.resend?.apiKey, 're_1');
  assert.equal(c.providers.resend?.apiUrl.href, 'https://api.resend.com/');
  assert.deepEqual({ ...c.providers.postmark, apiUrl: c.providers.postmark?.apiUrl.href },
    { serverToken: 'pm', messageStream: 'outbound', apiUrl: 'https://api.postmarkapp.com/' });
  assert.equal(c.providers.sendgrid?.apiUrl.href, 'https://api.sendgrid.com/');
  assert.equal(c.providers.mailgun?.domain, 'mg.example.com');
  assert.equal(c.providers.mailgun?.apiUrl.href, 'https://api.eu.mailgun.net/');
  assert.deepEqual(c.providers.ses, { region: 'eu-west-1', accessKeyId: 'AKID', secretAccessKey: 'secret', sessionToken: 'tok', configurationSet: 'tracking' });
  assert.equal(c.providerTimeout, 10_000);
  assert.deepEqual(configuredProviders(c.providers), ['resend', 'postmark', 'sendgrid', 'mailgun', 'ses']);
});

test('http:// API URLs only on loopback; half-configured providers are reported by their variable names', () => {
  assert.equal(loadConfig({ SMARTHOST_RESEND_API_KEY: 'k', SMARTHOST_RESEND_API_URL: 'http://127.0.0.1:8025' }).providers.resend?.apiUrl.href, 'http://127.0.0.1:8025/');
  assert.equal(loadConfig({ SMARTHOST_RESEND_API_KEY: 'k', SMARTHOST_RESEND_API_URL: 'http://[::1]:8025' }).providers.resend?.apiUrl.host, '[::1]:8025');
  assert.throws(() => loadConfig({
    SMARTHOST_RESEND_API_KEY: 'k', SMARTHOST_RESEND_API_URL: 'http://api.resend.com',
    SMARTHOST_MAILGUN_API_KEY: 'k',
    SMARTHOST_SES_REGION: 'moon', SMARTHOST_SES_ACCESS_KEY_ID: 'AKID', SMARTHOST_SES_SECRET_ACCESS_KEY: 's',
    SMARTHOST_POSTMARK_API_URL: 'https://api.postmarkapp.com',
  }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems.map((p) => p.replace(/:.*$/, '')).sort(), [
      'SMARTHOST_MAILGUN_DOMAIN', 'SMARTHOST_POSTMARK_SERVER_TOKEN', 'SMARTHOST_RESEND_API_URL', 'SMARTHOST_SES_REGION',
    ]);
    assert.ok(err.problems.includes('SMARTHOST_RESEND_API_URL: must be https:// (http:// only on loopback), got http://api.resend.com'));
    return true;
  });
});

test('the config file holds providers too; the environment wins field by field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smarthost-providers-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ providers: { mailgun: { apiKey: 'from-file', domain: 'mg.example.com' }, sendgrid: { apiUrl: 'ftp://x' } } }));
  const c = loadConfig({ SMARTHOST_CONFIG: file, SMARTHOST_MAILGUN_API_KEY: 'from-env', SMARTHOST_SENDGRID_API_KEY: 'k', SMARTHOST_SENDGRID_API_URL: 'https://sg.test' });
  assert.equal(c.providers.mailgun?.apiKey, 'from-env');
  assert.equal(c.providers.mailgun?.domain, 'mg.example.com');
  assert.equal(c.providers.sendgrid?.apiUrl.href, 'https://sg.test/');
  assert.throws(() => loadConfig({ SMARTHOST_CONFIG: file }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems, [
      `${file}: providers.sendgrid.apiKey: is required`,
      `${file}: providers.sendgrid.apiUrl: must be https:// (http:// only on loopback), got ftp://x`,
    ]);
    return true;
  });
});

test('a misspelt provider or field in the config file is reported, not ignored', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smarthost-providers-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ providers: { mailjet: {}, resend: { apikey: 'x', apiKey: 'k' } } }));
  assert.throws(() => loadConfig({ SMARTHOST_CONFIG: file }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems, [
      `${file}: providers.resend: Unrecognized key: "apikey"`,
      `${file}: providers: Unrecognized key: "mailjet"`,
    ]);
    return true;
  });
});
