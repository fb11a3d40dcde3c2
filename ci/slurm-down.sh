#!/usr/bin/env bash
# Stop the daemons started by ci/slurm-up.sh (slurmd, slurmctld, munged), by their pid files,
# and wait until they have exited. Idempotent: nothing running is not an error.
set -uo pipefail

stop() {  # stop <name> <pid file>
    local name="$1" pidfile="$2" pid
    [ -s "$pidfile" ] || return 0
    pid="$(cat "$pidfile")"
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
    echo "slurm-down: stopping $name (pid $pid)" >&2
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "slurm-down: $name did not stop in 10 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$pidfile"
}

# Jobs first, so no job step outlives its slurmd.
if command -v scancel >/dev/null && [ -s /run/slurm/slurmctld.pid ]; then
    timeout 5 scancel --user="$(id -un)" >/dev/null 2>&1 || true
fi
stop slurmd /run/slurm/slurmd.pid
stop slurmctld /run/slurm/slurmctld.pid
stop munged /run/munge/munged.pid
exit 0
