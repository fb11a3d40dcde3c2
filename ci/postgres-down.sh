#!/usr/bin/env bash
# Stop the cluster started by ci/postgres-up.sh and delete its directory (it holds test data
# only). Idempotent: nothing running is not an error.
#
# Environment: ARCHSWEEP_PG_DIR (default /tmp/archsweep-ci-postgres), as for postgres-up.sh.
set -uo pipefail

dir="${ARCHSWEEP_PG_DIR:-/tmp/archsweep-ci-postgres}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -n "$bin" ] && [ -s "$dir/data/postmaster.pid" ]; then
    echo "postgres-down: stopping the server in $dir/data" >&2
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
fi
rm -rf "$dir"
exit 0
