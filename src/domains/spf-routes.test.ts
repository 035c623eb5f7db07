import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../config/load.ts';
import { configuredRoutes, spfMechanismsForRoutes } from './spf-routes.ts';

const spfIn = (env: Record<string, string>, domain = 'example.com') => {
  const config = loadConfig({ SMARTHOST_HOSTNAME: 'relay.example.net', ...env });
  return spfMechanismsForRoutes(configuredRoutes(config, domain), config, domain).map((r) => [r.route, r.at, r.mechanism]);
};
const spfFor = (relay?: string) => spfIn(relay ? { SMARTHOST_RELAY_URL: relay } : {});

test('SPF per route: this host for MX delivery, the relay host (or address), a provider SMTP endpoint its include', () => {
  assert.deepEqual(spfFor(), [['mx', 'example.com', 'a:relay.example.net']]);
  assert.deepEqual(spfFor('smtp://u:p@smtp.upstream.test:587'), [['relay smtp.upstream.test', 'example.com', 'a:smtp.upstream.test']]);
  assert.deepEqual(spfFor('smtps://u:p@192.0.2.7:465'), [['relay 192.0.2.7', 'example.com', 'ip4:192.0.2.7']]);
  assert.deepEqual(spfFor('smtp://u:p@[2001:db8::7]:587'), [['relay 2001:db8::7', 'example.com', 'ip6:2001:db8::7']]);
  assert.deepEqual(spfFor('smtp://resend:re_x@smtp.resend.com:587'), [['resend', 'send.example.com', 'include:amazonses.com']]);
  assert.deepEqual(spfFor('smtp://t:t@smtp.postmarkapp.com:587'), [['postmark', 'example.com', 'include:spf.mtasv.net']]);
  assert.deepEqual(spfFor('smtp://apikey:k@smtp.sendgrid.net:587'), [['sendgrid', 'example.com', 'include:sendgrid.net']]);
  assert.deepEqual(spfFor('smtp://u:p@smtp.eu.mailgun.org:587'), [['mailgun', 'example.com', 'include:mailgun.org']]);
  assert.deepEqual(spfFor('smtp://u:p@email-smtp.eu-west-1.amazonaws.com:587'), [['ses', 'example.com', 'include:amazonses.com']]);
});

test('SPF covers every route the mail may take: the failover list, rules for this sender domain, and what auto may pick', () => {
  const providers = { SMARTHOST_POSTMARK_SERVER_TOKEN: 'pm', SMARTHOST_RESEND_API_KEY: 're_x' };
  assert.deepEqual(spfIn({ ...providers, SMARTHOST_ROUTE: 'postmark,mx' }), [
    ['postmark', 'example.com', 'include:spf.mtasv.net'], ['mx', 'example.com', 'a:relay.example.net'],
  ]);
  const rules = JSON.stringify({ rules: [{ senderDomain: 'billing.example.com', routes: ['resend'] }] });
  assert.deepEqual(spfIn({ ...providers, SMARTHOST_ROUTE: 'postmark', SMARTHOST_ROUTES: rules }), [['postmark', 'example.com', 'include:spf.mtasv.net']]);
  assert.deepEqual(spfIn({ ...providers, SMARTHOST_ROUTE: 'postmark', SMARTHOST_ROUTES: rules }, 'billing.example.com'), [
    ['postmark', 'billing.example.com', 'include:spf.mtasv.net'], ['resend', 'send.billing.example.com', 'include:amazonses.com'],
  ]);
  assert.deepEqual(spfIn({ ...providers, SMARTHOST_ROUTE: 'auto' }).map(([route]) => route), ['mx', 'resend', 'postmark']);
});
