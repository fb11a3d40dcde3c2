"""The fixed overhead of one workflow job (issue 14: "a job's fixed overhead well under 0.5 s").

Every rule of ``rules/*.smk`` runs ``python -m archsweep.workflow <stage> --study FILE ...`` in a
fresh process. Before a job does any work it pays for the interpreter start, the imports of
``archsweep.workflow`` and of its stage (the stage's function-level imports included), and
loading and validating the study (schema, catalog, calibration, workloads). This benchmark times
exactly that part, per stage, on the real command line:

- each run is a fresh ``python`` process that installs a stop in
  :func:`archsweep.load.study.load_study` (the stage's first call that touches its inputs: every
  stage loads the study first, before it reads a shard or a database), then runs
  ``archsweep.workflow`` as ``__main__`` with the stage's arguments, as ``python -m`` does. When
  the study is loaded and validated, the stop raises ``SystemExit(0)``: the process ends the
  normal way (interpreter teardown included, as a real job pays it) and does no work;
- this process measures the child's wall time (spawn to exit) and CPU time (user + system, from
  ``os.wait4``); the medians of ``--runs`` runs are printed per stage, with ``python -c pass``
  (the bare interpreter) as a floor.

The input files named on the command line need not exist (the stop comes first). The study
files are the repository's small ones: ``spaces/tiny.yaml`` for the sweep stages,
``spaces/search-example.yaml`` for the search stages. The load average before and after is
printed: on a shared machine the figures are higher than an idle machine's.

Usage (from the repository root; the package is imported from ``PYTHONPATH`` or the install):

    python benchmarks/job_overhead.py                  # every stage, 7 runs each
    python benchmarks/job_overhead.py --runs 11 --stages evaluate report
    python benchmarks/job_overhead.py --importtime     # also: the slowest imports of each stage (one run)
    python benchmarks/job_overhead.py --no-cache       # without the workflow's document cache

As in the workflow, the jobs share a document cache (``ARCHSWEEP_CACHE_DIR``, which the rules set to
``results/.cache``; :mod:`archsweep.load.document_cache`): the parsed input files and their passed schema
checks, left by the first process that read them (in a run, Snakemake's own load of the study when it
builds the DAG). The benchmark warms a scratch cache the same way, one load of each study file, before it
times anything; ``--no-cache`` times every job parsing and checking every file itself (as before s28-O).

The figures depend on whether the package's bytecode is cached (``__pycache__``): an installed package
has it (``pip install`` compiles it), a source tree gets it on its first import unless
``PYTHONDONTWRITEBYTECODE`` is set, and without it every job compiles the package's ~200 modules from
source. The line ``bytecode: ...`` says which case was measured; ``python -m compileall -q src`` writes
the bytecode of a source tree.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Code run by each child: stop in load_study once it returns, then run the stage as ``python -m``.
_CHILD = """
import runpy, sys
import archsweep.load.study as study_module
real = study_module.load_study
def stop_after_load(*args, **options):
    real(*args, **options)
    sys.stdout.write("loaded\\n")
    raise SystemExit(0)
study_module.load_study = stop_after_load
sys.argv = ["python -m archsweep.workflow", *sys.argv[1:]]
runpy.run_module("archsweep.workflow", run_name="__main__", alter_sys=True)
"""

STAGES: tuple[str, ...] = ("space", "evaluate", "collect", "pareto", "report",
                           "search-create", "search-worker", "search-export")
#: The study files the stages read: the sweep stages', the search stages'.
STUDY_FILES: tuple[str, str] = (str(ROOT / "spaces" / "tiny.yaml"), str(ROOT / "spaces" / "search-example.yaml"))
#: The workflow's document cache (archsweep.load.document_cache.CACHE_DIR_ENV; not imported here, so this
#: process does not load the package it measures).
CACHE_DIR_ENV = "ARCHSWEEP_CACHE_DIR"


def stage_args(stage: str, scratch: Path) -> list[str]:
    """The arguments of ``stage`` as its rule passes them (paths under ``scratch``, not read)."""
    sweep, search = STUDY_FILES
    db, results = str(scratch / "archsweep.duckdb"), str(scratch / "results")
    args = {
        "space": ["--study", sweep, "--shards", str(scratch / "0.parquet"), str(scratch / "1.parquet")],
        "evaluate": ["--study", sweep, "--shard", str(scratch / "0.parquet"), "--out", str(scratch / "e0.parquet")],
        "collect": ["--study", sweep, "--db", db, "--evaluations", str(scratch / "e0.parquet")],
        "pareto": ["--study", sweep, "--db", db, "--out", str(scratch / "pareto.parquet")],
        "report": ["--study", sweep, "--db", db, "--out", str(scratch / "report.md")],
        "search-create": ["--study", search, "--results", results, "--marker", str(scratch / "created")],
        "search-worker": ["--study", search, "--results", results, "--worker", "0"],
        "search-export": ["--study", search, "--results", results, "--trials", str(scratch / "trials.parquet"),
                          "--hypervolume", str(scratch / "hypervolume.parquet")],
    }
    return [stage, *args[stage]]


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall s, CPU s = user + system, stdout) of one child process running ``command``."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    out = child.stdout.read() if child.stdout else ""
    err = child.stderr.read() if child.stderr else ""
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {child.returncode}:\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, out


def slowest_imports(command: list[str], env: dict[str, str], top: int) -> list[tuple[float, str]]:
    """The ``top`` top-level imports of one run of ``command`` by cumulative time (ms, module)."""
    result = subprocess.run([command[0], "-X", "importtime", *command[1:]], env=env, capture_output=True,
                            text=True, check=True)
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if cumulative.strip().isdigit() and not name.startswith("  "):  # top level: one space of indent
            rows.append((int(cumulative) / 1000.0, name.strip()))
    return sorted(rows, reverse=True)[:top]


def bytecode_state(env: dict[str, str]) -> str:
    """Whether the children run from cached bytecode: how many of ``archsweep``'s modules (as the children
    import it, from ``env``'s ``PYTHONPATH`` or the install) have a ``.pyc`` for this interpreter, and whether
    Python may write missing ones (``PYTHONDONTWRITEBYTECODE``). Without them every job compiles the package
    from source (~0.2 s CPU for an evaluate job, docs/search-quality-history.md, s27-K)."""
    probe = ("import archsweep, importlib.util, pathlib, sys; files = sorted(pathlib.Path(archsweep.__file__)"
             ".parent.rglob('*.py')); cached = sum(pathlib.Path(importlib.util.cache_from_source(str(f))).exists()"
             " for f in files); print(cached, len(files), sys.flags.dont_write_bytecode)")
    cached, total, no_write = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                                             check=True).stdout.split()
    writes = "not written (PYTHONDONTWRITEBYTECODE)" if no_write != "0" else "written on first import"
    return f"bytecode: {cached} of {total} archsweep modules cached; missing ones are {writes}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per stage (default 7); the median is printed")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--importtime", action="store_true", help="also print each stage's slowest imports")
    parser.add_argument("--no-cache", action="store_true",
                        help="run without the workflow's document cache (ARCHSWEEP_CACHE_DIR unset)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs must be >= 1, got {args.runs}")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop(CACHE_DIR_ENV, None)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; python {sys.version.split()[0]}")
    print(bytecode_state(env))
    with tempfile.TemporaryDirectory(prefix="job-overhead-") as scratch:
        if not args.no_cache:
            env[CACHE_DIR_ENV] = str(Path(scratch) / "cache")
            warm = "from archsweep.load.study import load_study\nfor study in STUDIES: load_study(study)"
            subprocess.run([sys.executable, "-c", warm.replace("STUDIES", repr(STUDY_FILES))], env=env, check=True)
        print("document cache: " + ("off (--no-cache)" if args.no_cache else "on, warmed by one load of each study"))
        floor = [run_once([sys.executable, "-c", "pass"], env) for _ in range(args.runs)]
        print(f"{'python -c pass':<16} wall_ms={statistics.median(w for w, _, _ in floor) * 1e3:6.0f} "
              f"cpu_ms={statistics.median(c for _, c, _ in floor) * 1e3:6.0f}")
        for stage in args.stages:
            command = [sys.executable, "-c", _CHILD, *stage_args(stage, Path(scratch))]
            runs = [run_once(command, env) for _ in range(args.runs)]
            if not all(out == "loaded\n" for _, _, out in runs):
                raise SystemExit(f"{stage}: the stage did not reach load_study: {runs[0][2]!r}")
            walls, cpus = [w for w, _, _ in runs], [c for _, c, _ in runs]
            print(f"{stage:<16} wall_ms={statistics.median(walls) * 1e3:6.0f} cpu_ms={statistics.median(cpus) * 1e3:6.0f}"
                  f"  (wall min {min(walls) * 1e3:.0f}, max {max(walls) * 1e3:.0f}; {args.runs} runs)")
            if args.importtime:
                for ms, name in slowest_imports(command, env, 6):
                    print(f"    {ms:7.1f} ms  {name}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
