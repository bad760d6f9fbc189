#!/bin/sh
# Debian packages the real-server tests need: redis-server, PostgreSQL (with
# pg_stat_statements from postgresql-contrib), Chromium, and Node.js with npm for Artillery
# (only when the machine has no node of its own). The tests start and stop their own servers
# on loopback; this only installs the programs. Idempotent.
set -eu
missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql postgresql-contrib"
# A browser given by FIN_CHECK_CHROMIUM (e.g. a CI runner's Google Chrome) stands in for the package.
[ -x "${FIN_CHECK_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
else
    echo "tests need these Debian packages:$missing (install them as root)" >&2
    exit 1
fi
