#!/usr/bin/env bash
# Installs, on a fresh Debian machine, the real parts the tests run against.
# `make test` (and so .ci/run) calls it first; it does nothing when all are
# present. Needs root.
set -euo pipefail

# install PACKAGE...: apt-get install without letting the packages start their
# services (dockerd, postgresql, rsyslog): the tests start their own daemons on
# temporary sockets and directories and stop them, and CI must not leave
# processes behind.
install() {
  echo "installing $*"
  local guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$guard"
    chmod 0755 "$guard"
  fi
  local rc=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } || rc=$?
  if [ -n "$guard" ]; then rm -f "$guard"; fi
  return "$rc"
}

# The end-to-end suite (test/e2e) runs a real dockerd and imports a busybox image.
if ! command -v dockerd >/dev/null || ! command -v busybox >/dev/null; then
  install docker.io busybox-static
fi

# The fleet test (test/e2e/fleet_e2e_test.go) starts its own PostgreSQL
# cluster from Debian's server binaries; the packaged cluster is not used.
if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
  install postgresql
fi

# The audit report is rendered in headless Chromium (report_e2e_test.go); the
# central trail is collected by a real rsyslogd with its TLS driver
# (rsyslog_e2e_test.go starts its own on a temp config).
if ! command -v chromium >/dev/null || ! command -v rsyslogd >/dev/null || ! dpkg -s rsyslog-gnutls >/dev/null 2>&1; then
  install chromium rsyslog rsyslog-gnutls
fi

# The systemd units are checked with `systemd-analyze verify`, and
# `make install` is tested (cmd/docker-authz/install_test.go).
if ! command -v systemd-analyze >/dev/null || ! command -v make >/dev/null; then
  install systemd make
fi
