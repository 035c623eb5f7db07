#!/usr/bin/env bash
# Installs the third-party peers the integration tests talk to, from Debian's
# packages: swaks (submission client), Postfix's smtp-sink/smtp-source (a real
# MX and load source; Postfix is installed unconfigured and never started as the
# system's mail server; the benchmark's tests run a private instance, with Cyrus
# SASL's sasldb for its submission service), openssl s_client, python3-dkim (an independent DKIM verifier), strace (which thread syncs the WAL), a C compiler (the fsync shim), Chromium (the dashboard's
# browser tests drive /usr/bin/chromium through playwright-core). Idempotent; needs root (or sudo) when something is missing.
set -euo pipefail

need=()
command -v swaks >/dev/null || need+=(swaks)
# swaks speaks TLS only with Net::SSLeay, which it merely recommends.
perl -MNet::SSLeay -e1 2>/dev/null || need+=(libnet-ssleay-perl)
{ command -v smtp-sink >/dev/null || [ -x /usr/sbin/smtp-sink ]; } || need+=(postfix)
# The benchmark's Postfix authenticates its submission clients with Cyrus SASL (scripts/bench/postfix-submission.test.ts).
[ -x /usr/sbin/saslpasswd2 ] || need+=(sasl2-bin)
ls /usr/lib/*/sasl2/libplain.so.2 >/dev/null 2>&1 || need+=(libsasl2-modules)
command -v openssl >/dev/null || need+=(openssl)
command -v strace >/dev/null || need+=(strace)
# The fsync shim (test/helpers/fsync-shim.c: slow or failing syncs) is built with cc.
command -v cc >/dev/null || need+=(gcc libc6-dev)
/usr/bin/python3 -c 'import dkim' 2>/dev/null || need+=(python3-dkim)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0

echo "installing test peers: ${need[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# Postfix must not be configured or started by the package: the tests run their own processes.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
