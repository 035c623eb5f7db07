// The benchmark's Debian dependencies: postfix, which brings smtp-source and
// smtp-sink, and Cyrus SASL's sasldb tool and PLAIN/LOGIN plugins for Postfix's
// side of scenario 3. Installed when missing the way scripts/test-deps.sh does it:
// debconf told "No configuration", so the package neither writes
// /etc/postfix/main.cf nor starts a system Postfix.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const PROGRAMS = ['/usr/sbin/postfix', '/usr/sbin/smtp-source', '/usr/sbin/smtp-sink', '/usr/sbin/postqueue', '/usr/sbin/saslpasswd2'];
const PACKAGES = ['postfix', 'sasl2-bin', 'libsasl2-modules'];

/** Cyrus SASL's PLAIN plugin (libsasl2-modules, only recommended by libsasl2-2) under /usr/lib/<triplet>/sasl2. */
function hasSaslPlain(): boolean {
  return readdirSync('/usr/lib').some((dir) => existsSync(`/usr/lib/${dir}/sasl2/libplain.so.2`));
}

const missingParts = () => [...PROGRAMS.filter((p) => !existsSync(p)), ...(hasSaslPlain() ? [] : ['the SASL PLAIN plugin'])];

export function ensurePostfix(say: (line: string) => void): void {
  if (missingParts().length === 0) return;
  say(`installing ${PACKAGES.join(', ')} from Debian (postfix unconfigured, not started): smtp-source, smtp-sink and SASL for Postfix`);
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  execFileSync('bash', ['-c', [
    `echo "postfix postfix/main_mailer_type select No configuration" | ${sudo}debconf-set-selections`,
    `${sudo}apt-get update -qq`,
    `DEBIAN_FRONTEND=noninteractive ${sudo}apt-get install -y -qq --no-install-recommends ${PACKAGES.join(' ')}`,
  ].join(' && ')], { stdio: 'inherit', timeout: 600_000 });
  const missing = missingParts();
  if (missing.length) throw new Error(`still missing after installing ${PACKAGES.join(', ')}: ${missing.join(', ')}`);
}
