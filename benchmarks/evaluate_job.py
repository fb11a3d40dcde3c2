"""The mapping search inside real evaluate jobs: the first search call's rate in a fresh process.

Writes the study's space (``python -m archsweep.workflow space``) into a scratch folder, then runs
the evaluate stage (``python -m archsweep.workflow evaluate``, what each evaluate job of the
workflow runs, with its malloc settings) ``--runs`` times on shard 0, each in a fresh process, with
every call of the pruned mapping search timed (``time.process_time``: CPU seconds of the job's
process). Prints one line per run and the medians:

    run=<k> first_call=<n candidates> first_cpu_ms=<t> first_per_cpu_s=<n / t> search_per_cpu_s=<all calls>
    job_cpu_s=<user + sys of the whole job> minor_faults=<in the first call> peak_rss_mb=<job, MiB>

The first call is what issue 14 asks of a fresh process ("first batch"): its tables (key tables,
count tables, communication coefficients) are all built in it. The load average before and after
is printed: on a shared machine the CPU rates are lower than an idle machine's.

Each evaluate process gets the environment Snakemake gives a job's shell command: the thread counts of
the linear-algebra libraries set to the job's threads (``snakemake/shell.py``: ``OMP_NUM_THREADS``,
``GOTO_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, ``VECLIB_MAXIMUM_THREADS``,
``NUMEXPR_NUM_THREADS``; ``rules/evaluate.smk`` declares no ``threads``, so 1). ``--inherit-env`` runs them
with this process's environment instead (OpenBLAS then starts a thread per core: the bound matrices'
products of the pruned search are large enough for it to use them, which costs CPU time; s10-speed).

Usage (from the repository root):

    python benchmarks/evaluate_job.py                      # benchmarks/spaces/dsv3-first-batch.yaml, 5 runs
    python benchmarks/evaluate_job.py path/to/study.yaml --runs 3
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
_TAG = "evaluate_job:"
#: What Snakemake sets to a job's threads in its shell commands (snakemake/shell.py, Snakemake 9).
_JOB_THREAD_VARIABLES = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                         "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _child(argv: list[str]) -> int:
    """Run the evaluate stage with the pruned search's calls timed; print one tagged line."""
    import archsweep.model.driver as driver
    from archsweep.workflow.__main__ import main as workflow_main

    search = driver.best_mapping_indices
    calls: list[tuple[int, float, int]] = []

    def timed(*args, **kwargs):  # the driver's own call, timed (same arguments, same answer)
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        start = time.process_time()
        out = search(*args, **kwargs)
        calls.append((len(out), time.process_time() - start, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults))
        return out

    driver.best_mapping_indices = timed
    status = workflow_main(["evaluate", *argv])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    if not calls:
        print(f"{_TAG} no pruned mapping search ran", flush=True)
        return status or 1
    n, cpu, faults = calls[0]
    print(f"{_TAG} first_call={n} first_cpu_ms={cpu * 1e3:.1f} first_per_cpu_s={n / cpu:.0f}"
          f" search_per_cpu_s={sum(c[0] for c in calls) / sum(c[1] for c in calls):.0f} calls={len(calls)}"
          f" job_cpu_s={usage.ru_utime + usage.ru_stime:.2f} minor_faults={faults}"
          f" peak_rss_mb={usage.ru_maxrss / 1024:.0f}", flush=True)
    return status


def _fields(line: str) -> dict[str, float]:
    return {k: float(v) for k, v in (item.split("=") for item in line.split()[1:])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", nargs="?", default=str(HERE / "spaces" / "dsv3-first-batch.yaml"), help="study file")
    parser.add_argument("--runs", type=int, default=5, help="fresh evaluate processes (default 5)")
    parser.add_argument("--inherit-env", action="store_true",
                        help="run the evaluate processes in this environment, not a Snakemake job's (threads 1)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs: got {args.runs}; allowed: an integer >= 1 (the medians need a run)")
    env = dict(os.environ) if args.inherit_env else {**os.environ, **{name: "1" for name in _JOB_THREAD_VARIABLES}}
    print(f"load average before: {os.getloadavg()[0]:.2f}; environment: "
          f"{'inherited' if args.inherit_env else 'a Snakemake job of 1 thread'}", flush=True)
    with tempfile.TemporaryDirectory(prefix="evaluate-job-") as scratch:
        shard, out = Path(scratch) / "space" / "0.parquet", Path(scratch) / "out.parquet"
        from archsweep.load.study import load_study

        shards = [str(Path(scratch) / "space" / f"{k}.parquet") for k in range(load_study(args.study).shards)]
        subprocess.run([sys.executable, "-m", "archsweep.workflow", "space", "--study", args.study, "--shards", *shards],
                       check=True)
        rows = []
        for k in range(args.runs):
            done = subprocess.run([sys.executable, __file__, "--child", "--study", args.study, "--shard", str(shard),
                                   "--out", str(out)], capture_output=True, text=True, env=env)
            line = next((s for s in done.stdout.splitlines() if s.startswith(_TAG)), None)
            if done.returncode != 0 or line is None or "first_call=" not in line:
                print(done.stdout[-2000:] + done.stderr[-3000:], file=sys.stderr)
                return 1
            print(f"run={k} " + line.removeprefix(_TAG).strip(), flush=True)
            rows.append(_fields(line))
    medians = {key: statistics.median(r[key] for r in rows) for key in ("first_per_cpu_s", "first_cpu_ms", "job_cpu_s")}
    print(f"median first_per_cpu_s={medians['first_per_cpu_s']:.0f} first_cpu_ms={medians['first_cpu_ms']:.1f}"
          f" job_cpu_s={medians['job_cpu_s']:.2f} (min..max first_per_cpu_s "
          f"{min(r['first_per_cpu_s'] for r in rows):.0f}..{max(r['first_per_cpu_s'] for r in rows):.0f})")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        raise SystemExit(_child(sys.argv[2:]))
    raise SystemExit(main())
