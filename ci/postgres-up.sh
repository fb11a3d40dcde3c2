#!/usr/bin/env bash
# Start a private PostgreSQL cluster for the tests, as root: initdb into a state directory as
# the postgres user, pg_ctl on a port, a role and a database. Installs the server from Debian
# (postgresql-15) only when no initdb is found. Idempotent: a running cluster is reused.
# Stop with ci/postgres-down.sh.
#
# Environment: ARCHSWEEP_PG_DIR   cluster directory (default /tmp/archsweep-ci-postgres)
#              ARCHSWEEP_PG_PORT  TCP port on 127.0.0.1 (default 55432)
# Output: one line on stdout, the storage URL (postgresql://archsweep:archsweep@127.0.0.1:PORT/archsweep).
# Exit status: 0 when the database answers, 1 otherwise (with the reason on stderr).
set -euo pipefail

log() { echo "postgres-up: $*" >&2; }
dir="${ARCHSWEEP_PG_DIR:-/tmp/archsweep-ci-postgres}"
port="${ARCHSWEEP_PG_PORT:-55432}"
url="postgresql://archsweep:archsweep@127.0.0.1:${port}/archsweep"

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (runs initdb and the server as the postgres user)"; exit 1
fi

find_bin() {  # the newest PostgreSQL server binary directory
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}
bin="$(find_bin)"
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    log "installing postgresql-15"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
    bin="$(find_bin)"
fi
as_pg() { runuser -u postgres -- "$@"; }

install -d -o postgres -g postgres -m 0700 "$dir"
if [ ! -s "$dir/data/PG_VERSION" ]; then
    log "initdb $dir/data"
    as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log"
fi
if ! as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    log "starting the server on 127.0.0.1:$port"
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
fi

psql_pg() { as_pg "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtAc "$1"; }
if [ -z "$(psql_pg "SELECT 1 FROM pg_roles WHERE rolname = 'archsweep'")" ]; then
    psql_pg "CREATE ROLE archsweep LOGIN PASSWORD 'archsweep'"
fi
if [ -z "$(psql_pg "SELECT 1 FROM pg_database WHERE datname = 'archsweep'")" ]; then
    psql_pg "CREATE DATABASE archsweep OWNER archsweep"
fi
log "up: $url"
echo "$url"
