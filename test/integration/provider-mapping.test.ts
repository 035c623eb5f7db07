// Resend, Postmark and SendGrid take no raw MIME: a message with text and HTML,
// an attachment, an inline image, an 8-bit UTF-8 subject, Cc, a Bcc-only envelope
// recipient and a To: address outside the envelope must reach each API as the
// exact JSON in test/fixtures/providers/mapping.<provider>.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createProviderTransport } from '../../src/delivery/transports/providers/index.ts';
import { startFakeProvider } from '../helpers/fake-providers.ts';

const fixture = (name: string) => new URL(`../fixtures/providers/${name}`, import.meta.url);
const RAW = readFileSync(fixture('mapping.eml'));
// eve@elsewhere.test is in To: but not in this envelope: not sent to.
const RCPTS = ['bob@example.org', 'carol@example.org', 'dave@example.net'];

for (const [name, config] of [
  ['resend', { apiKey: 'k' }],
  ['postmark', { serverToken: 'k' }],
  ['sendgrid', { apiKey: 'k' }],
] as const) {
  test(`${name}: the MIME message maps to the documented JSON fields exactly`, async (t) => {
    const fake = await startFakeProvider(name, t, { key: 'k' });
    const transport = createProviderTransport(name, { ...config, apiUrl: new URL(fake.url) } as never, { ca: fake.ca, timeoutMs: 5000 });
    t.after(() => transport.close?.());
    const outcomes = await transport.send({ id: 'map-1', sender: 'ann@sender.test', raw: RAW }, RCPTS, AbortSignal.timeout(10_000));
    assert.deepEqual(fake.problems, []);
    assert.deepEqual(outcomes.map((o) => [o.rcpt, o.kind]), RCPTS.map((r) => [r, 'delivered']));
    assert.equal(fake.requests.length, 1);
    assert.deepEqual(fake.requests[0]!.json, JSON.parse(readFileSync(fixture(`mapping.${name}.json`), 'utf8')));
  });
}
