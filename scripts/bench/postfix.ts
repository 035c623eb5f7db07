// A private Postfix instance for the side-by-side benchmark: its own
// config_directory (main.cf and master.cf generated here), queue and data
// directories and log file, an smtpd on 127.0.0.1:<port> (and, when asked, a
// submission smtpd with TLS and SASL on another loopback port), relaying
// everything to [<sink host>]:<sink port> with DNS off. It never reads or writes
// /etc/postfix's main.cf or master.cf (Postfix still reads its read-only
// meta files there: postfix-files, dynamicmaps.cf). Started with `postfix -c
// <dir> start`; stopped with `postfix -c <dir> stop`, then by the master's PID
// (and its children's) if it is still there: at the end of its scenario, at
// the end of the run and on Ctrl-C (the cleanup registry in processes.ts).
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { onCleanup, sleep } from './processes.ts';
import { canConnect } from '../../test/helpers/child-smarthost.ts';

const run = promisify(execFile);

export interface PostfixOptions {
  /** The instance's own directory: config/, queue/, data/ and maillog are created in it. */
  dir: string;
  smtpPort: number;
  /** The relayhost; not 127.0.0.1, which the instance would take for itself (an address literal of its own is local). */
  sinkHost: string;
  sinkPort: number;
  hostname?: string;
  /** Parallel deliveries to the one relayhost; Postfix's default is 20. */
  destinationConcurrency?: number;
  /** Set in every daemon's environment (import_environment), e.g. slow-fsync.ts's LD_PRELOAD. */
  environment?: Record<string, string>;
  /** Scenario 3's counterpart of smarthost's 587: STARTTLS required, then AUTH PLAIN or LOGIN for this one user. */
  submission?: { port: number; user: string; password: string };
}

export interface PostfixFiles {
  mainCf: string;
  masterCf: string;
}

/** main.cf and master.cf for a relay-only instance (pure: tested in postfix.test.ts). */
export function postfixConfig(o: PostfixOptions): PostfixFiles {
  const main: Record<string, string | number> = {
    compatibility_level: '3.6',
    queue_directory: join(o.dir, 'queue'),
    data_directory: join(o.dir, 'data'),
    mail_owner: 'postfix',
    setgid_group: 'postdrop',
    myhostname: o.hostname ?? 'postfix.bench.test',
    mydomain: 'bench.test',
    myorigin: '$myhostname',
    // Relay only: nothing is local, no aliases, no local delivery agent.
    mydestination: '',
    local_recipient_maps: '',
    local_transport: 'error:5.1.1 no local delivery in the benchmark instance',
    alias_maps: '',
    alias_database: '',
    relay_domains: '',
    relayhost: `[${o.sinkHost}]:${o.sinkPort}`,
    inet_interfaces: '127.0.0.1',
    inet_protocols: 'ipv4',
    mynetworks: '127.0.0.0/8',
    smtpd_relay_restrictions: 'permit_mynetworks, reject',
    smtpd_recipient_restrictions: '',
    disable_dns_lookups: 'yes',
    smtp_dns_support_level: 'disabled',
    smtp_host_lookup: 'native',
    smtp_tls_security_level: 'none',
    smtpd_tls_security_level: 'none',
    default_destination_concurrency_limit: o.destinationConcurrency ?? 20,
    biff: 'no',
    append_dot_mydomain: 'no',
    // No syslog here: log to a file through postlogd (master.cf below).
    maillog_file: join(o.dir, 'maillog'),
    maillog_file_prefixes: o.dir,
    import_environment: ['MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME',
      ...Object.entries(o.environment ?? {}).map(([k, v]) => `${k}=${v}`)].join(' '),
    syslog_name: 'postfix-bench',
    message_size_limit: 104857600,
    // The benchmark's messages carry no DSN requests; nothing should bounce to a real sender.
    notify_classes: '',
    ...(o.submission && {
      // Cyrus SASL with its own sasldb (no saslauthd), configured in <dir>/config/sasl/smtpd.conf (saslConfig below):
      // Debian's Postfix looks there ($config_directory/sasl) whatever this says; other builds follow this.
      cyrus_sasl_config_path: join(o.dir, 'config', 'sasl'),
      smtpd_sasl_local_domain: SASL_REALM,
      smtpd_tls_cert_file: join(o.dir, 'tls', 'cert.pem'),
      smtpd_tls_key_file: join(o.dir, 'tls', 'key.pem'),
    }),
  };
  const mainCf = Object.entries(main).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n';
  // service type private unpriv chroot wakeup maxproc command: Debian's master.cf minus local delivery, pipes and
  // chroot (a chroot needs files copied into the queue directory).
  const services = [
    [`127.0.0.1:${o.smtpPort}`, 'inet', 'n', '-', 'n', '-', '-', 'smtpd'],
    ['pickup', 'unix', 'n', '-', 'n', '60', '1', 'pickup'],
    ['cleanup', 'unix', 'n', '-', 'n', '-', '0', 'cleanup'],
    ['qmgr', 'unix', 'n', '-', 'n', '300', '1', 'qmgr'],
    ['rewrite', 'unix', '-', '-', 'n', '-', '-', 'trivial-rewrite'],
    ['bounce', 'unix', '-', '-', 'n', '-', '0', 'bounce'],
    ['defer', 'unix', '-', '-', 'n', '-', '0', 'bounce'],
    ['trace', 'unix', '-', '-', 'n', '-', '0', 'bounce'],
    ['verify', 'unix', '-', '-', 'n', '-', '1', 'verify'],
    ['flush', 'unix', 'n', '-', 'n', '1000?', '0', 'flush'],
    ['proxymap', 'unix', '-', '-', 'n', '-', '-', 'proxymap'],
    ['smtp', 'unix', '-', '-', 'n', '-', '-', 'smtp'],
    ['relay', 'unix', '-', '-', 'n', '-', '-', 'smtp'],
    ['showq', 'unix', 'n', '-', 'n', '-', '-', 'showq'],
    ['error', 'unix', '-', '-', 'n', '-', '-', 'error'],
    ['retry', 'unix', '-', '-', 'n', '-', '-', 'error'],
    ['discard', 'unix', '-', '-', 'n', '-', '-', 'discard'],
    ['anvil', 'unix', '-', '-', 'n', '-', '1', 'anvil'],
    ['scache', 'unix', '-', '-', 'n', '-', '1', 'scache'],
    ['postlog', 'unix-dgram', 'n', '-', 'n', '-', '1', 'postlogd'],
  ];
  if (o.submission) {
    // As Debian's master.cf `submission` entry: TLS before anything, AUTH only over TLS, relaying only for
    // authenticated clients (mynetworks does not count here).
    services.splice(1, 0, [`127.0.0.1:${o.submission.port}`, 'inet', 'n', '-', 'n', '-', '-', ['smtpd',
      '-o syslog_name=postfix-bench/submission', '-o smtpd_tls_security_level=encrypt', '-o smtpd_sasl_auth_enable=yes',
      '-o smtpd_tls_auth_only=yes', '-o smtpd_relay_restrictions=permit_sasl_authenticated,reject'].join(' ')]);
    // smtpd's TLS needs tlsmgr (its PRNG seed and session cache), as in Debian's master.cf.
    services.push(['tlsmgr', 'unix', '-', '-', 'n', '1000?', '1', 'tlsmgr']);
  }
  const masterCf = services.map((columns) => columns.join('\t')).join('\n') + '\n';
  return { mainCf, masterCf };
}

const SASL_REALM = 'bench.test';

/** Cyrus SASL's smtpd.conf: PLAIN and LOGIN checked against the instance's own sasldb. */
export function saslConfig(dir: string): string {
  return ['pwcheck_method: auxprop', 'auxprop_plugin: sasldb', 'mech_list: PLAIN LOGIN', `sasldb_path: ${join(dir, 'config', 'sasl', 'sasldb2')}`, ''].join('\n');
}

/** The submission service's files: a self-signed RSA 2048 certificate (as smarthost's own) and the sasldb with the one user. */
async function prepareSubmission(dir: string, user: string, password: string): Promise<void> {
  const tls = join(dir, 'tls');
  const sasl = join(dir, 'config', 'sasl');
  mkdirSync(tls, { recursive: true });
  mkdirSync(sasl, { recursive: true });
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', '/CN=postfix.bench.test',
    '-keyout', join(tls, 'key.pem'), '-out', join(tls, 'cert.pem')]);
  writeFileSync(join(sasl, 'smtpd.conf'), saslConfig(dir));
  const db = join(sasl, 'sasldb2');
  await new Promise<void>((resolve, reject) => {
    const child = execFile('saslpasswd2', ['-p', '-c', '-f', db, '-u', SASL_REALM, user], (err) => (err ? reject(err) : resolve()));
    child.stdin!.end(password);
  });
  // smtpd runs as the postfix user and opens the sasldb itself (with any lock file its backend keeps beside it).
  await run('chown', ['-R', 'postfix', sasl]);
}

export interface PostfixInstance {
  configDir: string;
  queueDir: string;
  masterPid: number;
  /** Every process of the instance: the master and its children (for RSS). */
  pids(): number[];
  /** Messages in one of the instance's queues (incoming, active, deferred, maildrop, hold): its files. */
  queuedIn(queue: string): number;
  /** `postqueue -p` on the instance: its queue listing (what `mailq` prints). */
  listQueue(): Promise<string>;
  /** `postqueue -f`: every deferred message due now. */
  flush(): Promise<void>;
  stop(): Promise<void>;
  version: string;
}

export async function startPostfix(o: PostfixOptions, logFile: string): Promise<PostfixInstance> {
  const configDir = join(o.dir, 'config');
  mkdirSync(configDir, { recursive: true });
  // The daemons run as `postfix` without chroot: they must be able to reach the queue through o.dir.
  // Postfix wants a root-owned queue directory to exist; `check` creates everything inside it.
  chmodSync(o.dir, 0o755);
  mkdirSync(join(o.dir, 'queue'), { mode: 0o755 });
  const { mainCf, masterCf } = postfixConfig(o);
  writeFileSync(join(configDir, 'main.cf'), mainCf);
  writeFileSync(join(configDir, 'master.cf'), masterCf);
  if (o.submission) await prepareSubmission(o.dir, o.submission.user, o.submission.password);
  const env = { ...process.env, MAIL_CONFIG: configDir };
  // `check` creates the queue and data directories with Postfix's owners and modes (post-install create-missing).
  const maillog = join(o.dir, 'maillog');
  const explain = (err: Error) => {
    let tail = '';
    try {
      tail = readFileSync(maillog, 'utf8').split('\n').slice(-5).join('\n');
    } catch {
      // no log yet
    }
    throw new Error(`${err.message.trim()} (Postfix logs to ${maillog}; run it with a terminal for its errors)\n${tail}`);
  };
  await run('postfix', ['-c', configDir, 'check'], { env }).catch(explain);
  const version = (await run('postconf', ['-c', configDir, '-h', 'mail_version'], { env })).stdout.trim();
  await run('postfix', ['-c', configDir, 'start'], { env }).catch(explain);
  const masterPid = Number(readFileSync(join(o.dir, 'queue', 'pid', 'master.pid'), 'utf8').trim());
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= stopPostfix(configDir, masterPid, env));
  onCleanup(stop);
  const instance: PostfixInstance = {
    configDir,
    queueDir: join(o.dir, 'queue'),
    masterPid,
    version,
    pids: () => processTree(masterPid),
    queuedIn: (queue) => countFiles(join(o.dir, 'queue', queue)),
    listQueue: async () => (await run('postqueue', ['-c', configDir, '-p'], { env, maxBuffer: 256 * 2 ** 20 })).stdout,
    flush: async () => void (await run('postqueue', ['-c', configDir, '-f'], { env })),
    stop,
  };
  const deadline = Date.now() + 30_000;
  while (!(await canConnect(o.smtpPort)) || (o.submission && !(await canConnect(o.submission.port)))) {
    if (Date.now() > deadline) {
      const ports = [o.smtpPort, ...(o.submission ? [o.submission.port] : [])].join(' and ');
      throw new Error(`postfix did not listen on ${ports} within 30 s (see ${join(o.dir, 'maillog')})`);
    }
    await sleep(50);
  }
  return instance;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** `postfix stop` (SIGTERM to the master, which ends its children), then SIGKILL by PID after 10 s. */
async function stopPostfix(configDir: string, masterPid: number, env: NodeJS.ProcessEnv): Promise<void> {
  const tree = processTree(masterPid);
  await run('postfix', ['-c', configDir, 'stop'], { env }).catch(() => undefined);
  const deadline = Date.now() + 10_000;
  while (tree.some(alive) && Date.now() < deadline) await sleep(100);
  for (const pid of tree.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

function countFiles(dir: string): number {
  let n = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) n += e.isDirectory() ? countFiles(join(dir, e.name)) : 1;
  return n;
}

/** `pid` and all its descendants, from /proc (Postfix's master forks every daemon). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}
