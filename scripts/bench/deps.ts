// The benchmark's Debian dependency: postfix, which brings smtp-source and
// smtp-sink. Installed when missing the way scripts/test-deps.sh does it:
// debconf told "No configuration", so the package neither writes
// /etc/postfix/main.cf nor starts a system Postfix.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const PROGRAMS = ['/usr/sbin/postfix', '/usr/sbin/smtp-source', '/usr/sbin/smtp-sink', '/usr/sbin/postqueue'];

export function ensurePostfix(say: (line: string) => void): void {
  if (PROGRAMS.every((p) => existsSync(p))) return;
  say('installing postfix from Debian (unconfigured, not started): it brings smtp-source and smtp-sink');
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  execFileSync('bash', ['-c', [
    `echo "postfix postfix/main_mailer_type select No configuration" | ${sudo}debconf-set-selections`,
    `${sudo}apt-get update -qq`,
    `DEBIAN_FRONTEND=noninteractive ${sudo}apt-get install -y -qq --no-install-recommends postfix`,
  ].join(' && ')], { stdio: 'inherit', timeout: 600_000 });
  const missing = PROGRAMS.filter((p) => !existsSync(p));
  if (missing.length) throw new Error(`still missing after installing postfix: ${missing.join(', ')}`);
}
