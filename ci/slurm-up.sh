#!/usr/bin/env bash
# Install (Debian packages) and start a single-node SLURM cluster on this machine, as root:
# munged, slurmctld and `slurmd -N localhost`, no accounting (jobs are polled with squeue).
# Idempotent: a daemon already running is left alone; packages are installed only when missing
# (one `apt-get update`). Stop with ci/slurm-down.sh. Facts behind every setting: see
# "Running SLURM and PostgreSQL locally" (single node, no systemd, Debian 12, SLURM 22.05).
#
# Environment: ARCHSWEEP_SLURM_CPUS  CPUs advertised to SLURM (default: 2 x the real cores, so
#              more one-CPU jobs run at once; SlurmdParameters=config_overrides allows it).
# Exit status: 0 when `sinfo` shows the node idle, 1 otherwise (with the reason on stderr).
set -euo pipefail

log() { echo "slurm-up: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (installs packages, starts daemons)"; exit 1
fi

# ---- packages ------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
        || ! command -v munged >/dev/null; then
    log "installing slurmctld slurmd slurm-client munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

# ---- directories and munge key -------------------------------------------------------------
install -d -o munge -g munge -m 0755 /run/munge
install -d -m 0755 /run/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /etc/slurm
if [ ! -s /etc/munge/munge.key ]; then
    log "creating /etc/munge/munge.key"
    if command -v mungekey >/dev/null; then runuser -u munge -- mungekey --create --force
    else dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; fi
    chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
fi

# ---- slurm.conf ----------------------------------------------------------------------------
real_cpus="$(slurmd -C | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p')"
real_mem="$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')"
cpus="${ARCHSWEEP_SLURM_CPUS:-$((2 * real_cpus))}"
conf=/etc/slurm/slurm.conf
cat >"$conf.new" <<CONF
# Written by archsweep ci/slurm-up.sh: one node, no accounting, jobs polled with squeue.
ClusterName=archsweep-ci
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# squeue must still list a finished job when the executor polls it (>= 3 x its init delay).
MinJobAge=300
# Without it a job with no --mem takes the whole node and jobs run one at a time.
DefMemPerCPU=1000
# A cancelled job gets SIGTERM, then SIGKILL this many seconds later (default 30).
KillWait=5
MailProg=/bin/true
ReturnToService=2
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${real_mem} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
if ! cmp -s "$conf.new" "$conf"; then mv "$conf.new" "$conf"; else rm -f "$conf.new"; fi

# ---- daemons, in order ---------------------------------------------------------------------
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

if ! running /run/munge/munged.pid; then
    log "starting munged"
    runuser -u munge -- munged
fi
if ! running /run/slurm/slurmctld.pid; then
    log "starting slurmctld"
    slurmctld -c   # -c: a clean start, no jobs left over from an earlier run
fi
if ! running /run/slurm/slurmd.pid; then
    log "starting slurmd -N localhost"
    slurmd -N localhost
fi

# ---- wait until the node takes jobs ----------------------------------------------------------
for _ in $(seq 1 60); do
    state="$(sinfo -h -N -o '%T' 2>/dev/null | head -1 || true)"
    case "$state" in
        idle|mixed|allocated) log "up: node localhost $state, ${cpus} CPUs, ${real_mem} MB"; exit 0 ;;
        down*|drain*) scontrol update NodeName=localhost State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 0.5
done
log "the node did not become idle (sinfo: '${state:-no answer}'); see /var/log/slurm/slurmctld.log"
exit 1
