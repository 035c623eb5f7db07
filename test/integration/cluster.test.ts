// Several nodes on one PostgreSQL (DESIGN.md, Scale): three `smarthost serve`
// processes share a fresh database, clients spread ~600 messages over them the
// way a TCP load balancer would, one node is SIGKILLed mid-run, and every
// message that got a 250 must reach the recipient's MX at least once — the
// dead node's claimed work through lease expiry on the others. Duplicates are
// allowed (at-least-once), counted and printed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import nodemailer from 'nodemailer';
import { spawnSmarthost, type ChildSmarthost } from '../helpers/child-smarthost.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startFakeMx, type FakeMessage } from '../helpers/fake-mx.ts';
import { freePort } from '../helpers/ports.ts';
import { adminQuery, createDatabase, postgresSkip } from '../helpers/postgres.ts';

const NODES = 3;
const TARGET_ACCEPTED = 600;
const KILL_AFTER_ACCEPTED = 200;
const KILLED = 2;
/** Concurrent submissions, spread round-robin over the live nodes. */
const CLIENTS = 9;
const LOAD_DEADLINE_MS = 30_000;
/** Lease (3 s) + the scheduler's idle poll (5 s) bound the dead node's work; the rest is slack. */
const DELIVERY_DEADLINE_MS = 30_000;
const SIGTERM_EXIT_MS = 15_000;

const SENDER = 'app@example.com';
const RCPT = 'rcpt@example.org';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const messageFor = (token: string) =>
  [`From: <${SENDER}>`, `To: <${RCPT}>`, `Subject: ${token}`, `Message-ID: <${token}@client.test>`, '', `This is ${token}.`, ''].join('\r\n');

const tokenOf = (m: FakeMessage) => /^Subject: (cluster-\d{6})\r?$/m.exec(m.raw.toString('latin1'))?.[1];

const deliveredBy = (node: ChildSmarthost) => node.logs.filter((l) => l.event === 'delivery' && l.status === 'delivered').length;

test('three nodes on one PostgreSQL: load is spread, SIGKILL of one loses no accepted message', { skip: await postgresSkip(), timeout: 120_000 }, async (t) => {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'smarthost-cluster-'));
  let passed = false;
  t.after(() => {
    if (passed) rmSync(work, { recursive: true, force: true });
    else t.diagnostic(`kept for debugging (node logs): ${work}`);
  });

  const databaseUrl = await createDatabase(t);
  const dns = await startDnsServer({
    'example.org': { mx: [{ exchange: 'mx.example.org', priority: 10 }] },
    'mx.example.org': { a: ['127.0.0.2'] },
  }, t);
  const mx = await startFakeMx({ host: '127.0.0.2' }, t);
  const ports = await Promise.all(Array.from({ length: NODES }, () => freePort()));

  // Started together on an empty database: migrations and the first credential race here.
  const nodes = await Promise.all(ports.map((port, i) =>
    spawnSmarthost(t, {
      SMARTHOST_DATABASE_URL: databaseUrl,
      SMARTHOST_DATA_DIR: join(work, `node${i}`), // only the generated certificate lives here
      SMARTHOST_HOSTNAME: `node${i}.relay.test`,
      SMARTHOST_LISTEN: '127.0.0.1',
      SMARTHOST_SUBMISSION_PORT: '0',
      SMARTHOST_SMTPS_PORT: '0',
      SMARTHOST_ALT_PORT: String(port),
      SMARTHOST_HTTP_PORT: '0',
      SMARTHOST_TRUSTED_NETWORKS: '127.0.0.1/32',
      SMARTHOST_DNS_SERVERS: dns.server,
      SMARTHOST_MX_PORT: String(mx.port),
      SMARTHOST_MIN_FREE_DISK: '0',
      SMARTHOST_RETRY_INITIAL: '1s',
      SMARTHOST_RETRY_MAX: '2s',
      SMARTHOST_LEASE_TIME: '3s',
      SMARTHOST_LOG_LEVEL: 'info',
    }, { readyPort: port, logFile: join(work, `node${i}.log`) })));
  const banners = nodes.filter((n) => n.lines.some((l) => l.startsWith('Created the first SMTP credential'))).length;
  assert.equal(banners, 1, 'nodes started together must create (and print) the first credential exactly once');

  // ---- load: round-robin over the live nodes, as a TCP load balancer spreads connections ----
  const transports = ports.map((port) => nodemailer.createTransport({
    host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool: true, maxConnections: CLIENTS / NODES,
    connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 10_000, disableFileAccess: true, disableUrlAccess: true,
  }));
  t.after(() => transports.forEach((tr) => tr.close()));
  const live = nodes.map((_, i) => i);
  const accepted = new Map<string, number>(); // token → node that answered 250
  const acceptedBy = nodes.map(() => 0);
  let failed = 0;
  let next = 0;
  let kill: Promise<void> | undefined;
  const loadDeadline = Date.now() + LOAD_DEADLINE_MS;

  const client = async () => {
    while (accepted.size < TARGET_ACCEPTED && Date.now() < loadDeadline) {
      const n = next++;
      const token = `cluster-${String(n).padStart(6, '0')}`;
      const node = live[n % live.length]!;
      try {
        const info = await transports[node]!.sendMail({ envelope: { from: SENDER, to: [RCPT] }, raw: messageFor(token) });
        assert.match(info.response, /^250 2\.0\.0 Ok: queued as /);
        accepted.set(token, node);
        acceptedBy[node]!++;
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        failed++; // no 250 (the killed node's open sessions): nothing is owed for this one
        await sleep(20);
      }
      if (!kill && accepted.size >= KILL_AFTER_ACCEPTED) {
        live.splice(live.indexOf(KILLED), 1); // the balancer's health check takes it out
        kill = nodes[KILLED]!.stop('SIGKILL', 5000).then((exit) => assert.equal(exit?.signal, 'SIGKILL'));
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  await kill;
  const loadMs = Date.now() - started;
  t.diagnostic(`accepted=${accepted.size} per node=${acceptedBy.join('/')} failed=${failed} load took ${loadMs} ms (node ${KILLED} killed at ${KILL_AFTER_ACCEPTED})`);
  assert.ok(kill, 'never reached the point to kill a node');
  assert.ok(accepted.size >= TARGET_ACCEPTED, `only ${accepted.size} of ${TARGET_ACCEPTED} accepted within ${LOAD_DEADLINE_MS} ms`);

  // ---- delivery: the MX has every accepted token and nothing is pending in the shared queue ----
  const copies = new Map<string, number>();
  let seen = 0;
  const scan = () => {
    for (; seen < mx.messages.length; seen++) {
      const token = tokenOf(mx.messages[seen]!);
      if (token) copies.set(token, (copies.get(token) ?? 0) + 1);
    }
  };
  const missing = () => [...accepted.keys()].filter((token) => !copies.has(token));
  const pending = async () =>
    Number((await adminQuery(`SELECT count(*) AS n FROM recipients WHERE status IN ('queued', 'deferred')`, databaseUrl)).rows[0].n);
  const deliveryStarted = Date.now();
  for (;;) {
    scan();
    if (missing().length === 0 && (await pending()) === 0) break;
    if (Date.now() - deliveryStarted > DELIVERY_DEADLINE_MS) break;
    await sleep(200);
  }
  const lost = missing();
  const duplicates = [...copies].filter(([, n]) => n > 1);
  const perNode = nodes.map(deliveredBy);
  const report = `delivered=${copies.size}/${accepted.size} missing=${lost.length} duplicates=${duplicates.length} ` +
    `(extra copies ${duplicates.reduce((sum, [, n]) => sum + n - 1, 0)}) deliveries per node=${perNode.join('/')} ` +
    `delivery wait ${Date.now() - deliveryStarted} ms, runtime ${Date.now() - started} ms`;
  t.diagnostic(report);
  if (duplicates.length) t.diagnostic(`duplicated: ${duplicates.slice(0, 30).map(([k, n]) => `${k}×${n}`).join(' ')}`);

  assert.deepEqual(lost, [], `${lost.length} message(s) got a 250 but never reached the MX, e.g. ${lost.slice(0, 10).join(' ')}\n${report}`);
  assert.equal(await pending(), 0, 'recipients still pending after every message arrived');
  perNode.forEach((n, i) => assert.ok(n > 0, `node ${i} delivered nothing: the shared queue was not spread (${report})`));

  // ---- the survivors stop cleanly: leases released, pool and LISTEN connection closed ----
  transports.forEach((tr) => tr.close()); // open client sessions would hold the shutdown grace
  const stopStarted = Date.now();
  const exits = await Promise.all(nodes.filter((_, i) => i !== KILLED).map((n) => n.stop('SIGTERM', SIGTERM_EXIT_MS)));
  t.diagnostic(`survivors stopped in ${Date.now() - stopStarted} ms`);
  for (const exit of exits) assert.deepEqual(exit, { code: 0, signal: null }, 'a node did not exit 0 on SIGTERM');
  passed = true;
});
