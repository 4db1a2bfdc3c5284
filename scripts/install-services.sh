#!/usr/bin/env bash
# Installs the server binaries the harness's `local` backend launches (harness/src/services):
#   - redis-server (Debian package `redis-server`), always needed;
#   - PostgreSQL 15 (Debian package `postgresql-15`), when /usr/lib/postgresql/15/bin/initdb is
#     missing (the standard build image already has it);
#   - xmllint (Debian package `libxml2-utils`), with which the tests validate the conformance
#     suite's JUnit report against Jenkins' schema.
#
# Idempotent: when all three are present, nothing is installed and apt is not called. Quiet on
# success: apt output is kept in a temporary log and shown only when apt fails. Needs root (or
# sudo) only when something is missing.
set -euo pipefail

readonly PG_INITDB="/usr/lib/postgresql/15/bin/initdb"

die() {
    echo "install-services: $*" >&2
    exit 1
}

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=("redis-server")
[[ -x "${PG_INITDB}" ]] || missing+=("postgresql-15")
command -v xmllint >/dev/null 2>&1 || missing+=("libxml2-utils")

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

command -v apt-get >/dev/null 2>&1 \
    || die "missing ${missing[*]} and apt-get is not available; install them with your package manager"

sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 \
        || die "missing ${missing[*]}; run this script as root (or install sudo) to install them"
    sudo_cmd=(sudo)
fi

log="$(mktemp)"
trap 'rm -f "${log}"' EXIT

run_apt() {
    if ! DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get "$@" >>"${log}" 2>&1; then
        cat "${log}" >&2
        die "apt-get $* failed (output above)"
    fi
}

# One `apt-get update` per run: the package lists in a fresh container are empty.
run_apt update -q
run_apt install -y -q --no-install-recommends "${missing[@]}"

# Debian's postinst starts a system-wide redis-server on 6379 where an init system runs; the
# harness starts its own on a free port, so leave any system instance alone but do not rely on it.
command -v redis-server >/dev/null 2>&1 || die "redis-server is still missing after apt-get install"
[[ -x "${PG_INITDB}" ]] || die "${PG_INITDB} is still missing after apt-get install"
command -v xmllint >/dev/null 2>&1 || die "xmllint is still missing after apt-get install"
