import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configuredRoutes, spfMechanismsForRoutes } from './spf-routes.ts';

const spfFor = (relay?: string) => {
  const config = { hostname: 'relay.example.net', relayUrl: relay ? new URL(relay) : undefined };
  return spfMechanismsForRoutes(configuredRoutes(config), config, 'example.com').map((r) => [r.route, r.at, r.mechanism]);
};

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
