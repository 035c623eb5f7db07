import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../config/load.ts';
import { buildRouteTable } from './route-table.ts';

const config = (env: Record<string, string>) => loadConfig({ SMARTHOST_HOSTNAME: 'relay.test', ...env });
const RELAY = { SMARTHOST_RELAY_URL: 'smtp://u:p@relay.example.net:587' };

test('without SMARTHOST_ROUTE the default is what it always was: the relay when configured, else mx', () => {
  assert.deepEqual(buildRouteTable(config({})).default, ['mx']);
  const withRelay = buildRouteTable(config(RELAY));
  assert.deepEqual(withRelay.default, ['relay']);
  assert.deepEqual([...withRelay.transports.keys()], ['relay']);
});

test('SMARTHOST_ROUTE wins over routes.default; rules name their own lists; each transport is made once', () => {
  const table = buildRouteTable(config({
    ...RELAY, SMARTHOST_ROUTE: 'relay,mx',
    SMARTHOST_ROUTES: JSON.stringify({ default: ['mx'], rules: [{ recipientDomain: 'Example.NET', routes: ['mx', 'relay'] }] }),
  }));
  assert.deepEqual(table.default, ['relay', 'mx']);
  assert.deepEqual(table.rules, [{ recipientDomain: ['example.net'], routes: ['mx', 'relay'] }]);
  assert.deepEqual([...table.transports.keys()], ['relay', 'mx']);
  assert.equal(table.describe('relay'), 'through the relay relay.example.net:587');
  assert.equal(table.describe('mx'), "directly to each recipient's MX on port 25");
});

test('auto probes every configured route by default, or SMARTHOST_AUTO_ROUTES in its order', () => {
  assert.deepEqual(buildRouteTable(config({ SMARTHOST_ROUTE: 'auto' })).autoCandidates, ['mx']);
  assert.deepEqual(buildRouteTable(config({ ...RELAY, SMARTHOST_ROUTE: 'auto' })).autoCandidates, ['mx', 'relay']);
  const table = buildRouteTable(config({ ...RELAY, SMARTHOST_ROUTE: 'auto', SMARTHOST_AUTO_ROUTES: 'relay,mx' }));
  assert.deepEqual(table.autoCandidates, ['relay', 'mx']);
  assert.deepEqual([...table.transports.keys()], ['relay', 'mx']);
  assert.equal(buildRouteTable(config({ SMARTHOST_ROUTE: 'mx' })).autoCandidates, undefined);
});

test('a route that is named but unknown or not configured stops the start, every problem listed', () => {
  const problems = (env: Record<string, string>) => {
    try {
      buildRouteTable(config(env));
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems;
    }
    assert.fail('no ConfigError');
  };
  assert.deepEqual(problems({
    SMARTHOST_ROUTE: 'relay,carrier-pigeon',
    SMARTHOST_ROUTES: JSON.stringify({ rules: [{ senderDomain: 'example.com', routes: ['mx'] }, { recipientDomain: 'example.org', routes: ['relay'] }] }),
  }), [
    'SMARTHOST_ROUTE: route "relay" is not configured: set SMARTHOST_RELAY_URL',
    'SMARTHOST_ROUTE: unknown route "carrier-pigeon" (known: mx, relay, resend, postmark, sendgrid, mailgun, ses, auto)',
    'routes.rules[1].routes: route "relay" is not configured: set SMARTHOST_RELAY_URL',
  ]);
  assert.deepEqual(problems({ SMARTHOST_ROUTE: 'auto', SMARTHOST_AUTO_ROUTES: 'mx,relay' }), [
    'SMARTHOST_AUTO_ROUTES: route "relay" is not configured: set SMARTHOST_RELAY_URL',
  ]);
  assert.deepEqual(problems({ SMARTHOST_ROUTE: 'mailgun,ses' }), [
    'SMARTHOST_ROUTE: route "mailgun" is not configured: set SMARTHOST_MAILGUN_API_KEY and SMARTHOST_MAILGUN_DOMAIN',
    'SMARTHOST_ROUTE: route "ses" is not configured: set SMARTHOST_SES_REGION and SMARTHOST_SES_ACCESS_KEY_ID and SMARTHOST_SES_SECRET_ACCESS_KEY',
  ]);
});

test('configured providers are routes: auto probes them after mx and relay, each with its transport', () => {
  const table = buildRouteTable(config({ SMARTHOST_ROUTE: 'auto', SMARTHOST_POSTMARK_SERVER_TOKEN: 'pm', SMARTHOST_RESEND_API_KEY: 're_x' }));
  assert.deepEqual(table.autoCandidates, ['mx', 'resend', 'postmark']);
  assert.deepEqual([...table.transports.values()].map((t) => t.name), ['mx', 'resend', 'postmark']);
  assert.equal(table.describe('postmark'), 'through postmark over HTTPS');
});

test('the route settings themselves are checked by the config schema, with the part that is wrong', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      return (err as ConfigError).problems;
    }
    assert.fail('no ConfigError');
  };
  assert.deepEqual(problems({ SMARTHOST_ROUTE: 'auto,mx' }), ['SMARTHOST_ROUTE: "auto" picks a route itself and cannot be combined with others']);
  assert.deepEqual(problems({ SMARTHOST_ROUTE: 'Relay' }), ['SMARTHOST_ROUTE [0]: route names are lower-case, e.g. mx, relay, resend']);
  assert.deepEqual(problems({ SMARTHOST_ROUTES: '{"rules":[{"routes":["mx"]}]}' }), ['SMARTHOST_ROUTES rules[0]: a rule needs recipientDomain or senderDomain']);
  assert.deepEqual(problems({ SMARTHOST_ROUTES: '{"rules":[{"domain":"x","routes":["mx"]}]}' }), [
    'SMARTHOST_ROUTES rules[0]: Unrecognized key: "domain"',
    'SMARTHOST_ROUTES rules[0]: a rule needs recipientDomain or senderDomain',
  ]);
  assert.deepEqual(problems({ SMARTHOST_ROUTES: 'relay' }), ['SMARTHOST_ROUTES: not JSON: use {"default":["mx"],"rules":[{"recipientDomain":"example.org","routes":["relay"]}]}']);
});
