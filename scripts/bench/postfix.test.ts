import assert from 'node:assert/strict';
import { test } from 'node:test';
import { postfixConfig, saslConfig } from './postfix.ts';

const parseMain = (text: string): Record<string, string> => Object.fromEntries(text.trim().split('\n').map((l) => {
  const [k, ...v] = l.split(' = ');
  return [k, v.join(' = ')];
}));

test('main.cf: a relay-only private instance on loopback, DNS off, everything under its own directory', () => {
  const main = parseMain(postfixConfig({ dir: '/tmp/pf-x', smtpPort: 10025, sinkHost: '127.0.0.2', sinkPort: 10026 }).mainCf);
  assert.equal(main.queue_directory, '/tmp/pf-x/queue');
  assert.equal(main.data_directory, '/tmp/pf-x/data');
  assert.equal(main.maillog_file, '/tmp/pf-x/maillog');
  assert.equal(main.maillog_file_prefixes, '/tmp/pf-x');
  assert.equal(main.mail_owner, 'postfix');
  assert.equal(main.relayhost, '[127.0.0.2]:10026');
  assert.equal(main.inet_interfaces, '127.0.0.1');
  assert.equal(main.mynetworks, '127.0.0.0/8');
  assert.equal(main.smtpd_relay_restrictions, 'permit_mynetworks, reject');
  assert.equal(main.disable_dns_lookups, 'yes');
  assert.equal(main.smtp_dns_support_level, 'disabled');
  assert.equal(main.smtp_tls_security_level, 'none');
  assert.equal(main.mydestination, '');
  assert.equal(main.default_destination_concurrency_limit, '20');
  assert.ok(!Object.values(main).some((v) => v.includes('/etc/postfix')), 'nothing points into /etc/postfix');
});

test('main.cf: the destination concurrency follows the option', () => {
  const main = parseMain(postfixConfig({ dir: '/d', smtpPort: 1, sinkHost: '127.0.0.2', sinkPort: 2, destinationConcurrency: 7 }).mainCf);
  assert.equal(main.default_destination_concurrency_limit, '7');
});

test('master.cf: smtpd only on 127.0.0.1:<port>, no chroot, no local delivery, postlogd for the log file', () => {
  const lines = postfixConfig({ dir: '/d', smtpPort: 10025, sinkHost: '127.0.0.2', sinkPort: 10026 }).masterCf.trim().split('\n').map((l) => l.split('\t'));
  assert.ok(lines.every((l) => l.length === 8), 'eight columns per service');
  assert.deepEqual(lines[0], ['127.0.0.1:10025', 'inet', 'n', '-', 'n', '-', '-', 'smtpd']);
  assert.equal(lines.filter((l) => l[1] === 'inet').length, 1);
  assert.ok(lines.every((l) => l[4] === 'n'), 'no service is chrooted');
  const commands = lines.map((l) => l[7]);
  for (const needed of ['qmgr', 'cleanup', 'smtp', 'trivial-rewrite', 'bounce', 'postlogd', 'showq', 'flush'])
    assert.ok(commands.includes(needed), needed);
  assert.ok(!commands.includes('local') && !commands.includes('pipe'));
});

test('submission: TLS required, AUTH only over TLS and only for authenticated relaying, against the instance\'s own sasldb', () => {
  const o = { dir: '/d', smtpPort: 10025, sinkHost: '127.0.0.2', sinkPort: 10026, submission: { port: 10587, user: 'u', password: 'p' } };
  const { mainCf, masterCf } = postfixConfig(o);
  const main = parseMain(mainCf);
  assert.equal(main.cyrus_sasl_config_path, '/d/config/sasl');
  assert.equal(main.smtpd_tls_cert_file, '/d/tls/cert.pem');
  assert.equal(main.smtpd_tls_key_file, '/d/tls/key.pem');
  assert.equal(main.smtpd_tls_security_level, 'none', 'the trusted listener stays as it was');
  assert.equal(main.smtpd_relay_restrictions, 'permit_mynetworks, reject');
  const lines = masterCf.trim().split('\n').map((l) => l.split('\t'));
  const submission = lines.find((l) => l[0] === '127.0.0.1:10587');
  assert.ok(submission, 'a listener on the submission port');
  assert.deepEqual(submission.slice(1, 7), ['inet', 'n', '-', 'n', '-', '-']);
  const options = submission[7]!.split(' -o ').slice(1);
  for (const o of ['smtpd_tls_security_level=encrypt', 'smtpd_sasl_auth_enable=yes', 'smtpd_tls_auth_only=yes', 'smtpd_relay_restrictions=permit_sasl_authenticated,reject'])
    assert.ok(options.includes(o), o);
  assert.ok(lines.some((l) => l[7] === 'tlsmgr'), 'tlsmgr, which smtpd needs for TLS');
  assert.deepEqual(saslConfig('/d').trim().split('\n'), ['pwcheck_method: auxprop', 'auxprop_plugin: sasldb', 'mech_list: PLAIN LOGIN', 'sasldb_path: /d/config/sasl/sasldb2']);
});

test('no submission service unless asked for', () => {
  const { mainCf, masterCf } = postfixConfig({ dir: '/d', smtpPort: 10025, sinkHost: '127.0.0.2', sinkPort: 10026 });
  assert.ok(!mainCf.includes('sasl') && !mainCf.includes('tls_cert'));
  assert.equal(masterCf.split('\n').filter((l) => l.includes('\tinet\t')).length, 1);
  assert.ok(!masterCf.includes('tlsmgr'));
});
