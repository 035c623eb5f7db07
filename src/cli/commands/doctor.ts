// `smarthost doctor` and its `smtp` and `dns` subcommands: options in, report out, exit 1 on a failed check.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { openStore } from '../../store/open-store.ts';
import type { Config } from '../../config/schema.ts';
import { AUTH_METHODS, type AuthMethod, type Credentials } from '../../doctor/auth.ts';
import { doctorDns, sendingRoute } from '../../doctor/dns.ts';
import { DEFAULT_PORTS, parsePorts } from '../../doctor/ports.ts';
import { renderText, silent, type Progress, type Report } from '../../doctor/report.ts';
import { selfCheck } from '../../doctor/self-check.ts';
import { doctorSmtp } from '../../doctor/smtp.ts';

interface GlobalOptions {
  json?: boolean;
  timeout: number;
}

const seconds = (v: string): number => {
  const n = Number(v);
  if (!(n > 0 && n <= 300)) throw new InvalidArgumentError('seconds between 0 and 300, e.g. 5 or 1.5');
  return n * 1000;
};
const collect = (v: string, all: string[]) => [...all, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

function print(report: Report, o: GlobalOptions): void {
  process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : renderText(report));
  if (!report.ok) process.exitCode = 1;
}

const progressFor = (o: GlobalOptions): Progress => (o.json ? silent : (line) => process.stderr.write(line + '\n'));

function usage(message: string): never {
  console.error(message);
  process.exit(2);
}

export function registerDoctor(program: Command): void {
  const doctor = program
    .command('doctor')
    .description('check this smarthost (no argument), an SMTP server (smtp <host>) or a domain\'s mail DNS (dns <domain>); exit 1 when a check fails')
    .option('--json', 'print the report as JSON (same content)')
    .addOption(new Option('--timeout <seconds>', 'limit for each step: TCP connect, greeting, each reply, TLS handshake, DNS query')
      .argParser(seconds).default(5000, '5'))
    .option('--mx-probe <domain>', 'without a relay: the domain whose MX tests outbound port 25', 'gmail.com')
    .configureHelp({ showGlobalOptions: true })
    .action(async (o: GlobalOptions & { mxProbe: string }) =>
      print(await selfCheck(process.env, { timeoutMs: o.timeout, mxProbeDomain: o.mxProbe, progress: progressFor(o) }), o));

  doctor
    .command('smtp <host>')
    .description('probe an SMTP server port by port: connect, banner, EHLO, TLS, AUTH, MAIL/RCPT; recommends the settings to use')
    .option('--port <list>', 'ports, comma-separated; add :tls or :starttls to name the mode (465 is implicit TLS)', DEFAULT_PORTS)
    .option('--user <name>', 'try AUTH with this username')
    .option('--password <password>', 'the password or API key (or set SMARTHOST_DOCTOR_PASSWORD, kept out of the process list)')
    .option('--oauth-token <token>', 'an OAuth 2.0 access token: AUTH XOAUTH2')
    .option('--auth-method <method>', `force a mechanism: ${AUTH_METHODS.join(', ')}`)
    .option('--from <address>', 'try MAIL FROM with this sender')
    .option('--to <address>', 'try RCPT TO (repeatable, or comma-separated)', collect, [] as string[])
    .option('--send', 'also send DATA: a short test message is really delivered')
    .option('--ehlo <name>', 'EHLO name (default: this host name)')
    .option('--ca <file>', 'also trust this CA certificate (PEM), for a private relay')
    .option('--dns <servers>', 'resolve the host with these servers (ip[:port], comma-separated) instead of the system resolver')
    .action(async (host: string, o: SmtpOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      let ports;
      try {
        ports = parsePorts(o.port);
      } catch (err) {
        usage((err as Error).message);
      }
      print(await doctorSmtp(host, {
        ports, timeoutMs: g.timeout, credentials: credentials(o), envelope: envelope(o), ehloName: o.ehlo,
        dnsServers: o.dns?.split(',').map((s) => s.trim()).filter(Boolean), ca: o.ca ? [readFileSync(o.ca)] : undefined, progress: progressFor(g),
      }), g);
    });

  doctor
    .command('dns <domain>')
    .description('check the MX, SPF, DKIM, DMARC and MTA-STS records of a sending domain')
    .option('--selector <name>', 'DKIM selector to check (repeatable); default: the ones smarthost signs this domain with, else the usual ones', collect, [] as string[])
    .option('--ip <address>', 'check SPF for this sending address (repeatable); default: from the configured route', collect, [] as string[])
    .option('--dns <servers>', 'resolvers (ip[:port], comma-separated); default SMARTHOST_DNS_SERVERS or the system')
    .action(async (domain: string, o: { selector: string[]; ip: string[]; dns?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      let config: Config | undefined;
      try {
        config = loadConfig();
      } catch {
        config = undefined; // the route is then unknown; sendingRoute says so
      }
      const dnsServers = o.dns ? o.dns.split(',').map((s) => s.trim()).filter(Boolean) : (config?.dnsServers ?? []);
      const { route, problem } = await sendingRoute(config, o.ip, dnsServers, g.timeout, domain);
      const selectors = o.selector.length ? o.selector : await knownSelectors(config, domain);
      print(await doctorDns(domain, { dnsServers, timeoutMs: g.timeout, selectors, route, routeProblem: problem, progress: progressFor(g) }), g);
    });
}

/** The selectors smarthost signs this domain with (smarthost domains add): they must be published. */
async function knownSelectors(config: Config | undefined, domain: string): Promise<string[]> {
  if (!config) return [];
  const store = await openStore(config).catch(() => undefined);
  if (!store) return [];
  try {
    return (await store.listDomainKeys(domain.toLowerCase())).map((k) => k.selector);
  } finally {
    await store.close();
  }
}

interface SmtpOptions {
  port: string;
  user?: string;
  password?: string;
  oauthToken?: string;
  authMethod?: string;
  from?: string;
  to: string[];
  send?: boolean;
  ehlo?: string;
  ca?: string;
  dns?: string;
}

function credentials(o: SmtpOptions): Credentials | undefined {
  const password = o.password ?? process.env.SMARTHOST_DOCTOR_PASSWORD;
  const method = o.authMethod?.toUpperCase();
  if (method && !(AUTH_METHODS as readonly string[]).includes(method)) usage(`--auth-method must be one of ${AUTH_METHODS.join(', ')}`);
  if (!o.user) {
    if (password || o.oauthToken || method) usage('--password, --oauth-token and --auth-method need --user');
    return undefined;
  }
  if (!password && !o.oauthToken) usage('--user needs --password (or SMARTHOST_DOCTOR_PASSWORD) or --oauth-token');
  return { user: o.user, ...(password ? { password } : {}), ...(o.oauthToken ? { oauthToken: o.oauthToken } : {}), ...(method ? { method: method as AuthMethod } : {}) };
}

function envelope(o: SmtpOptions) {
  if (!o.from && !o.to.length) return o.send ? usage('--send needs --from and --to') : undefined;
  if (!o.from || !o.to.length) usage('--from and --to go together');
  // An address is one token: whitespace, brackets or a line break would change the command sent.
  if ([o.from, ...o.to].some((a) => /[\s<>]/.test(a))) usage('--from and --to take bare addresses, e.g. app@example.com');
  return { from: o.from, to: o.to, send: !!o.send };
}
