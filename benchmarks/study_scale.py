"""A large study end to end (space, evaluate, collect, Pareto, report) under /usr/bin/time -v.

Runs ``archsweep run STUDY --cores N`` in the current directory (results under
``results/<study name>/``), then prints the wall time and peak RSS of the whole run (GNU time:
the largest single process, Snakemake or one job), the rows in the database, and per stage the
jobs, summed and longest wall time, CPU time and peak RSS from Snakemake's ``benchmark:`` files
(``results/<study>/benchmarks/*.tsv``), and the machine's load average before and after (the
development machines are shared: a load above the core count means the figures are slower than
an idle machine's).

Usage (from the repository root):

    python benchmarks/study_scale.py                                  # benchmarks/spaces/scale-1m.yaml
    python benchmarks/study_scale.py path/to/study.yaml --cores 2
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb

from archsweep.load.study import load_study

HERE = Path(__file__).resolve().parent


def _time_v(stderr: str) -> dict[str, str]:
    """Fields of GNU time's ``-v`` report."""
    fields = {}
    for line in stderr.splitlines():
        match = re.match(r"\s+(Elapsed \(wall clock\) time.*|Maximum resident set size.*|Exit status|"
                         r"User time.*|System time.*|Percent of CPU.*): (.*)$", line)
        if match:
            fields[match.group(1)] = match.group(2).strip()
    return fields


def _stage_rows(bench_dir: Path) -> list[tuple[str, int, float, float, float, float]]:
    """(stage, jobs, summed s, longest s, summed cpu_time s, peak max_rss MB) per stage."""
    stages: dict[str, list[dict[str, str]]] = {}
    for path in sorted(bench_dir.rglob("*.tsv")):
        stage = path.parent.name if path.parent != bench_dir else path.stem
        with path.open() as handle:
            stages.setdefault(stage, []).extend(csv.DictReader(handle, delimiter="\t"))
    out = []
    for stage, rows in stages.items():
        def number(row: dict[str, str], key: str) -> float:
            value = row.get(key, "-")
            return float(value) if value not in ("-", "", "NA") else 0.0
        out.append((stage, len(rows), sum(number(r, "s") for r in rows), max(number(r, "s") for r in rows),
                    sum(number(r, "cpu_time") for r in rows), max(number(r, "max_rss") for r in rows)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", nargs="?", default=str(HERE / "spaces" / "scale-1m.yaml"))
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    study = load_study(args.study)
    load_before = os.getloadavg()
    run = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "archsweep.cli", "run", args.study,
                          "--cores", str(args.cores)], capture_output=True, text=True, check=False)
    load_after = os.getloadavg()
    fields = _time_v(run.stderr)
    print(f"study {study.name}: {len(study.workloads)} workload(s), shards {study.shards}, cores {args.cores}, "
          f"exit {run.returncode}")
    for key, value in fields.items():
        print(f"  {key}: {value}")
    print(f"  load average (1/5/15 min) before {load_before}, after {load_after}")
    if run.returncode != 0:
        print(run.stderr[-3000:])
        return run.returncode
    results = Path("results") / study.name
    con = duckdb.connect(str(results / "archsweep.duckdb"), read_only=True)
    rows, feasible = con.execute("SELECT count(*), count(*) FILTER (WHERE feasible) FROM evaluations").fetchone() or (0, 0)
    ranked, front = con.execute("SELECT count(rank), count(*) FILTER (WHERE rank = 0) FROM pareto").fetchone() or (0, 0)
    con.close()
    print(f"  rows: {rows:,} evaluations, {feasible:,} feasible, {ranked:,} ranked (ranks 0..3), {front:,} on the front")
    print("  stage     jobs  sum_s   max_s   cpu_s   peak_rss_MB")
    for stage, jobs, total, longest, cpu, rss in _stage_rows(results / "benchmarks"):
        print(f"  {stage:<9} {jobs:>4} {total:>7.1f} {longest:>7.1f} {cpu:>7.1f} {rss:>8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
