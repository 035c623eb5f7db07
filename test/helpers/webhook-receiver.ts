// A loopback webhook endpoint that answers 204 and counts the POSTs per
// webhook-id header (one id per outbox row, the same on every send of it).
import { createServer } from 'node:http';
import type { TestContext } from 'node:test';

export async function startWebhookReceiver(t: TestContext): Promise<{ url: string; posts: (id: string) => number }> {
  const ids: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      ids.push(String(req.headers['webhook-id']));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`, posts: (id: string) => ids.filter((x) => x === id).length };
}
