// Load clients for the authenticated paths: SMTP submission with STARTTLS and
// AUTH PLAIN (nodemailer's SMTPConnection, one reused connection per worker),
// and the HTTP API's POST /emails (fetch, keep-alive). Each records, per
// message, the time from the start of the send to the server's success reply.
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { makeMessage } from './load-client.ts';

export interface ClientRun {
  ok: number;
  failed: number;
  latencies: number[];
  seconds: number;
  firstError?: string;
}

/**
 * `concurrency` workers share `total` items until done or past the deadline. Each worker first sets up its own
 * send function (a connection and login: part of the run's time, not of any message's latency).
 */
async function runWorkers(concurrency: number, total: number, deadlineMs: number, newWorker: () => Promise<(i: number) => Promise<void>>, r: ClientRun) {
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    const send = await newWorker();
    while (next < total && performance.now() - start < deadlineMs) {
      const i = next++;
      const begin = performance.now();
      try {
        await send(i);
        r.latencies.push(performance.now() - begin);
        r.ok++;
      } catch (err) {
        r.failed++;
        r.firstError ??= String((err as Error).message ?? err);
      }
    }
  }));
  r.seconds = (performance.now() - start) / 1000;
}

const call = <T>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));

export async function runTlsSubmission(o: {
  port: number; user: string; pass: string; messages: number; concurrency: number; size: number; from: string; to: string; deadlineMs: number;
}): Promise<ClientRun> {
  const r: ClientRun = { ok: 0, failed: 0, latencies: [], seconds: 0 };
  const open: SMTPConnection[] = [];
  const connect = async () => {
    const conn = new SMTPConnection({
      host: '127.0.0.1', port: o.port, secure: false, requireTLS: true, name: 'tls.bench.test',
      tls: { rejectUnauthorized: false }, connectionTimeout: 10_000, socketTimeout: 60_000,
    });
    conn.on('error', () => {});
    open.push(conn);
    await call<void>((cb) => conn.connect(() => cb(null)));
    await call<void>((cb) => conn.login({ user: o.user, pass: o.pass, method: 'PLAIN' } as never, (err) => cb(err)));
    return conn;
  };
  try {
    await runWorkers(o.concurrency, o.messages, o.deadlineMs, async () => {
      let conn: SMTPConnection | undefined = await connect();
      return async (i) => {
        conn ??= await connect();
        const c = conn;
        try {
          await call((cb) => c.send({ from: o.from, to: [o.to] }, makeMessage(o.size, o.from, o.to, `tls${i}`).subarray(0, -3), cb));
        } catch (err) {
          conn = undefined;
          throw err;
        }
      };
    }, r);
  } finally {
    for (const c of open) c.close();
  }
  return r;
}

export async function runHttpSend(o: {
  port: number; apiKey: string; messages: number; concurrency: number; from: string; to: string; deadlineMs: number;
}): Promise<ClientRun> {
  const r: ClientRun = { ok: 0, failed: 0, latencies: [], seconds: 0 };
  const text = 'Benchmark message body.\n'.repeat(160); // about 4 KiB, as the SMTP scenarios
  await runWorkers(o.concurrency, o.messages, o.deadlineMs, async () => async (i) => {
    const res = await fetch(`http://127.0.0.1:${o.port}/emails`, {
      method: 'POST',
      headers: { authorization: `Bearer ${o.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: o.from, to: [o.to], subject: `bench ${i}`, text }),
    });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${body.slice(0, 200)}`);
  }, r);
  return r;
}
