// A loopback port that behaves like a firewalled one: TCP connects time out.
// A child process listens with a backlog of 1 and then blocks its event loop,
// so it never accepts; once two connections fill the kernel's accept queue,
// Linux drops further SYNs and a client's connect() waits until it gives up —
// what a client sees when a cloud silently drops outbound port 25.
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';

const LISTENER = `
const server = require('node:net').createServer();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  require('node:fs').writeSync(1, server.address().port + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000); // never accept
});`;

export async function startFilteredPort(t: TestContext): Promise<number> {
  const child = spawn(process.execPath, ['-e', LISTENER], { stdio: ['ignore', 'pipe', 'ignore'] });
  const fillers: Socket[] = [];
  t.after(() => {
    for (const s of fillers) s.destroy();
    child.kill('SIGKILL');
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('filtered-port listener did not start in 5 s')), 5000);
    child.stdout!.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve(Number(String(d).trim()));
    });
    child.once('exit', () => reject(new Error('filtered-port listener exited')));
  });
  // A backlog of 1 leaves room for two queued connections; take both.
  for (let i = 0; i < 2; i++) {
    await new Promise<void>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve());
      s.once('error', reject);
      fillers.push(s);
    });
  }
  return port;
}
