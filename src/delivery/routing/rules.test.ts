import assert from 'node:assert/strict';
import { test } from 'node:test';
import { routesFor, type RoutingRules } from './rules.ts';

const table: RoutingRules = {
  default: ['mx'],
  rules: [
    { recipientDomain: ['example.org', 'example.net'], routes: ['postmark', 'relay'] },
    { senderDomain: ['billing.example.com'], routes: ['resend'] },
    { recipientDomain: ['both.test'], senderDomain: ['example.com'], routes: ['relay'] },
    { recipientDomain: ['both.test'], routes: ['sendgrid'] },
  ],
};

test('the first matching rule wins; no rule matching gives the default list', () => {
  const cases: [sender: string, recipient: string, routes: string[]][] = [
    ['app@example.com', 'you@example.org', ['postmark', 'relay']],
    ['app@example.com', 'YOU@Example.NET', ['postmark', 'relay']],
    // Recipient rules come first here, so a billing mail to example.org still goes through postmark.
    ['invoice@billing.example.com', 'you@example.org', ['postmark', 'relay']],
    ['invoice@Billing.Example.com', 'you@elsewhere.test', ['resend']],
    // Both conditions must hold; otherwise the next rule is looked at.
    ['app@example.com', 'x@both.test', ['relay']],
    ['app@other.test', 'x@both.test', ['sendgrid']],
    // The null sender (a bounce report) has no domain: sender rules never match it.
    ['', 'x@both.test', ['sendgrid']],
    ['', 'x@billing.example.com', ['mx']],
    // Only exact domains: a subdomain is a different domain.
    ['app@example.com', 'you@sub.example.org', ['mx']],
    ['app@example.com', 'you@elsewhere.test', ['mx']],
  ];
  for (const [sender, recipient, routes] of cases)
    assert.deepEqual(routesFor(table, sender, recipient), routes, `${sender || '<>'} → ${recipient}`);
});
