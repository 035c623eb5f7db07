// The two relays under test behind one shape: where to send, what is still in
// flight or queued, which processes to sample for memory, how to make every
// deferred message due now, and how to stop it.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startPostfix, type PostfixInstance, type PostfixOptions } from './postfix.ts';
import { BENCH_PASSWORD, BENCH_USER, startSmarthostNode, type SmarthostNode } from './smarthost-node.ts';

export interface RelayUnderTest {
  name: 'smarthost' | 'postfix';
  /** The trusted-network SMTP listener. */
  port: number;
  /** STARTTLS + AUTH submission (scenario 3), for the bench user. */
  submission: { port: number; user: string; pass: string };
  pids(): number[];
  /** Messages accepted and not yet delivered (queued, deferred or in flight). */
  pending(): number;
  /** Messages waiting for a first attempt or in flight; 0 once everything left is deferred. */
  unsettled(): number;
  /** Every deferred message due now: `postqueue -f`, or the same UPDATE an operator's retry does. */
  flush(): Promise<void>;
  stop(): Promise<void>;
  smarthost?: SmarthostNode;
  postfix?: PostfixInstance;
}

function sqliteCount(dataDir: string, where: string): number {
  const db = new Database(join(dataDir, 'smarthost.db'), { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return (db.prepare(`SELECT COUNT(*) AS n FROM recipients WHERE ${where}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

export async function smarthostRelay(opts: Parameters<typeof startSmarthostNode>[0]): Promise<RelayUnderTest> {
  const node = await startSmarthostNode(opts);
  return {
    name: 'smarthost', port: node.altPort, smarthost: node,
    submission: { port: node.submissionPort, user: BENCH_USER, pass: BENCH_PASSWORD },
    pids: () => [node.pid],
    pending: () => sqliteCount(node.dataDir, `status IN ('queued', 'deferred')`),
    unsettled: () => sqliteCount(node.dataDir, `status = 'queued'`),
    async flush() {
      // What `smarthost queue retry <id>` does for one message (store.retryMessage), for all of them at once;
      // the scheduler finds the work at its next idle look (≤ 5 s), as it does after a CLI retry.
      const db = new Database(join(node.dataDir, 'smarthost.db'));
      try {
        db.pragma('busy_timeout = 10000');
        db.prepare(`UPDATE recipients SET next_attempt_at = ? WHERE status = 'deferred'`).run(Date.now());
      } finally {
        db.close();
      }
    },
    stop: () => node.stop(),
  };
}

/** Postfix with a SASL submission service for the bench user, as smarthost's 587. */
export async function postfixRelay(opts: Omit<PostfixOptions, 'submission'> & { submissionPort: number }, logFile: string): Promise<RelayUnderTest> {
  const { submissionPort, ...rest } = opts;
  const submission = { port: submissionPort, user: BENCH_USER, password: BENCH_PASSWORD };
  const pf = await startPostfix({ ...rest, submission }, logFile);
  const count = (queues: string[]) => queues.reduce((n, q) => n + pf.queuedIn(q), 0);
  return {
    name: 'postfix', port: opts.smtpPort, postfix: pf,
    submission: { port: submissionPort, user: BENCH_USER, pass: BENCH_PASSWORD },
    pids: () => pf.pids(),
    pending: () => count(['maildrop', 'incoming', 'active', 'deferred', 'hold']),
    unsettled: () => count(['maildrop', 'incoming', 'active']),
    flush: () => pf.flush(),
    stop: () => pf.stop(),
  };
}
