"""The ``archsweep`` command line.

Subcommands (one ``add_<command>_parser(subparsers)`` + ``cmd_<command>(args) -> int`` pair
each, listed in ``_SUBCOMMANDS``; a parser sets ``handler`` and ``accepts_extra`` defaults;
``args.extra`` holds unparsed arguments, allowed only where ``accepts_extra``):

- ``archsweep run [STUDY] [--cores N] [snakemake args...]``: validate the study, run the
  Snakemake workflow (Snakemake's own progress output), then print where the database, Pareto
  table, plots and report are, and a summary read from the database; after a search, trials
  done / feasible / hypervolume and the search's Pareto front. A run killed with ``kill -9``
  is resumed by running it again (the stale Snakemake lock is removed).
- ``archsweep query STUDY "SQL" [--csv | --json]``: one read-only statement on the study's DuckDB
  database (:mod:`archsweep.cli.query`).
- ``archsweep eval --model M --accelerator A [--count N] [--strategy ...] [--json]``: one what-if
  (:mod:`archsweep.whatif`).
- ``archsweep validate --measurements FILE.csv [--output OUT.csv]``: the model against measured
  runs (:mod:`archsweep.cli.validate`).

Every :class:`~archsweep.spec.errors.ArchsweepError` (bad study, missing database, bad SQL) is
printed as one message on stderr with exit status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from archsweep import __version__
from archsweep.cli.query import add_query_parser, cmd_query
from archsweep.cli.sensitivity import add_sensitivity_parser
from archsweep.cli.serving import add_serving_arguments, check_training_eval, cmd_eval_serving
from archsweep.cli.studies import database_path, resolve_study_path
from archsweep.cli.validate import add_validate_parser, cmd_validate
from archsweep.load.paths import repo_root
from archsweep.load.study import load_study
from archsweep.results import store
from archsweep.spec.errors import ArchsweepError
from archsweep.spec.job_option_table import JOB_OPTIONS
from archsweep.spec.study import Study

__all__ = ["build_parser", "main", "resolve_study_path", "database_path", "add_run_parser", "cmd_run",
           "add_query_parser", "cmd_query", "add_eval_parser", "cmd_eval", "add_validate_parser", "cmd_validate"]

DEFAULT_STUDY = "spaces/default.yaml"
EXIT_INPUT_ERROR = 2


# ---------------------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------------------

def add_run_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="run the workflow on a study (Snakemake)",
        description="Validate STUDY, run the Snakemake workflow in the current directory (results/<study>/), "
                    "then print where the results are and a summary. Arguments after the options go to Snakemake "
                    "unchanged (e.g. --dry-run, --forceall). The jobs share parsed input files in results/.cache/ "
                    "(ARCHSWEEP_CACHE_DIR elsewhere; safe to delete).")
    parser.add_argument("study", nargs="?", default=DEFAULT_STUDY,
                        help=f"study file or stem of spaces/ (default {DEFAULT_STUDY})")
    parser.add_argument("--cores", default="all", type=_cores,
                        help="cores Snakemake may use: a number >= 1 or 'all' (default all)")
    parser.set_defaults(handler=cmd_run, accepts_extra=True)


def _cores(text: str) -> str:
    """``--cores``: a whole number >= 1 or ``all``, checked before Snakemake starts (Snakemake waited forever at 0
    and refused a word only after loading the workflow, reported as a failed run)."""
    if text != "all" and not (text.isdigit() and int(text) >= 1):
        raise argparse.ArgumentTypeError(f"got {text!r}; allowed: a whole number of cores >= 1 or 'all'")
    return text


def _whole(text: str) -> int:
    """An integer option (``--count``, ``--global-batch``, ...): argparse's "invalid int value" said nothing of what is
    allowed; its range is checked where the value is used (the option's own message)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"got {text!r}; allowed: a whole number, e.g. 64 (no unit, no fraction, "
                                         "no suffix)") from None


def _summary(db: Path, study: Study) -> list[str]:
    con = store.connect(db, read_only=True)
    try:
        lines = []
        for workload in study.workloads:
            total, feasible = con.execute(
                "SELECT count(*), count(*) FILTER (WHERE feasible) FROM evaluations WHERE study = ? AND workload = ?",
                [study.name, workload]).fetchone()  # type: ignore[misc]  # count(*) always returns a row
            front = (con.execute("SELECT count(*) FROM pareto WHERE study = ? AND workload = ? AND rank = 0",
                                 [study.name, workload]).fetchone()[0]  # type: ignore[index]
                     if store.table_exists(con, "pareto") else 0)
            lines.append(f"  {workload}: {total} candidates evaluated, {feasible} feasible, {front} on the Pareto front")
        return lines
    finally:
        con.close()


@contextlib.contextmanager
def _run_lock(workdir: Path) -> Iterator[None]:
    """Hold ``.snakemake/archsweep-run.lock`` (``flock``) while ``archsweep run`` works in
    ``workdir``. The kernel releases it when the process dies, even by ``kill -9``.

    Raises:
        ArchsweepError: another ``archsweep run`` holds it.
    """
    import fcntl

    path = workdir / ".snakemake" / "archsweep-run.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ArchsweepError(f"another `archsweep run` is working in {workdir} ({path} is locked); "
                                 "wait for it to finish") from None
        yield


def _unlock_stale(command: Sequence[str], workdir: Path) -> None:
    """Remove Snakemake's directory lock left by a killed run (``kill -9`` leaves
    ``.snakemake/locks/*``; Snakemake would refuse to start). Called while holding
    :func:`_run_lock`, so no other ``archsweep run`` uses the directory; a Snakemake started
    by hand in the same directory at the same time is not protected."""
    locks = workdir / ".snakemake" / "locks"
    if locks.is_dir() and any(locks.iterdir()):
        print("archsweep: removing the lock a killed run left in .snakemake/locks", file=sys.stderr)
        subprocess.run([*command, "--unlock"], check=False, stdout=subprocess.DEVNULL)


def cmd_run(args: argparse.Namespace) -> int:
    """``archsweep run``: validate, run Snakemake, print where the results are and a summary."""
    study_file = resolve_study_path(args.study)
    study = load_study(study_file)
    root = repo_root()
    workdir = Path.cwd()
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(root / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(study_file), "--profile", str(root / "profiles" / "default"),
               "--cores", str(args.cores), *args.extra]
    # The jobs run `python -m archsweep.workflow ...`: this Python first on PATH, even unactivated.
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    with _run_lock(workdir):
        _unlock_stale(command, workdir)
        done = subprocess.run(command, check=False, env=env)
    if done.returncode != 0:
        print(f"archsweep: error: the workflow failed (snakemake exit status {done.returncode}); "
              f"see the messages above and results/{study.name}/logs/", file=sys.stderr)
        return done.returncode
    db = database_path(study, workdir)
    if not db.exists():  # e.g. --dry-run
        return 0
    results = db.parent
    print(f"\narchsweep: study {study.name!r} done")
    print(f"  database:     {db}")
    print(f"  Pareto table: {results / 'pareto' / 'pareto.parquet'} (table `pareto`)")
    print(f"  plots:        {results / 'report'}/*.png")
    print(f"  report:       {results / 'report' / 'report.md'}")
    if study.sampling_method is not None:
        print("\n".join(_summary(db, study)))
    table = "evaluations" if study.sampling_method is not None else "trials"
    if study.search is not None:
        print(f"  search:       {results / 'search'} (tables `trials`, `hypervolume_history`)")
        _print_search_front(db, study)
    print(f"  query with:   archsweep query {study_file} \"SELECT count(*) FROM {table}\"")
    return 0


#: Front members printed by ``archsweep run`` after a search (the report lists more).
MAX_PRINTED_FRONT = 20


def _print_search_front(db: Path, study: Study) -> None:
    """Trials done / feasible / hypervolume and the search's Pareto front as a rich table."""
    from rich.console import Console
    from rich.table import Table

    from archsweep.results.report import search_summary

    con = store.connect(db, read_only=True)
    try:
        summary = search_summary(study, con)
    finally:
        con.close()
    reference = ", ".join(f"{c}={v:.4g}" for c, v in summary.reference)
    print(f"  search: {summary.trials}/{summary.budget} trials done, {summary.feasible} feasible, "
          f"{len(summary.front_rows)} on the Pareto front; hypervolume {summary.hypervolume:.6g} "
          f"(reference point {reference})")
    shown = summary.front_rows[:MAX_PRINTED_FRONT]
    title = f"search Pareto front of {study.name}" + (
        f" (best {study.objectives[0].column} first; {len(shown)} of {len(summary.front_rows)} shown)"
        if len(shown) < len(summary.front_rows) else "")
    table = Table(*summary.front_columns, title=title)
    for row in shown:
        table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
    width = sum(max(len(c), 16 if i == 0 else 10) + 3 for i, c in enumerate(summary.front_columns)) + 1
    Console(width=max(width, 80)).print(table)


# ---------------------------------------------------------------------------------------
# eval
# ---------------------------------------------------------------------------------------

def add_eval_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval", help="one what-if: training (or serving, --serving) on N accelerators, best (or given) mapping",
        description="Evaluate one workload on COUNT catalog accelerators: the best mapping (or the one given with "
                    "--strategy; keys left out are searched), the step-time breakdown, memory and power/area/cost.")
    parser.add_argument("--model", required=True, help="workload stem of models/ (e.g. llama3-405b) or a YAML path")
    parser.add_argument("--accelerator", required=True, help="catalog accelerator name or alias (e.g. H100-SXM)")
    parser.add_argument("--count", type=_whole, default=None, help="number of accelerators (default: catalog system size)")
    parser.add_argument("--strategy", default=None,
                        help='fixed mapping, e.g. "tp=8,pp=16,cp=1,vpp=2,mb=1,recompute=selective,zero=1,sp=on"')
    parser.add_argument("--software", default="megatron-core",
                        help="software stack whose kernel efficiencies and parallelism apply (data/calibration/software_stacks.yaml; "
                             "default megatron-core)")
    parser.add_argument("--objective", default="step_time_s",
                        help="what the mapping search minimises: step_time_s, energy_per_token_j, "
                             "usd_per_million_tokens or memory_per_accelerator_bytes (default step_time_s; tokens_per_s "
                             "and mfu are accepted: at fixed hardware they rank as step_time_s)")
    parser.add_argument("--global-batch", type=_whole, default=None, help="global batch in sequences (override; default the model file's job)")
    parser.add_argument("--seq-len", type=_whole, default=None, help="sequence length in tokens (override; default the model file's job)")
    parser.add_argument("--precision", default=None, help="training: bf16, fp16 or fp8 (override; default the model file's job); with --serving: the weights' "
                             "bf16, fp8, fp4 or int4 (default bf16)")
    for option in JOB_OPTIONS:  # the job options' flags (archsweep.spec.job_option_table)
        if option.kind == "bool":
            parser.add_argument(option.flag, action=argparse.BooleanOptionalAction, default=None, dest=option.name,
                                help=option.help)
        else:
            parser.add_argument(option.flag, type=_whole if option.kind == "count" else str, default=None, dest=option.name,
                                metavar=option.flag.lstrip("-").replace("-", "_").upper(), help=option.help)
    parser.add_argument("--mode", default=None, help="pretrain, finetune_full or finetune_lora (override; default the model file's job)")
    parser.add_argument("--lora-rank", type=_whole, default=None, help="LoRA rank, an integer > 0 (with --mode finetune_lora; required there)")
    parser.add_argument("--total-tokens", default=None, help='tokens of the whole run for time-to-train: an integer, "300B" or "15.6T" (decimal), '
                             '"16Mi" (binary) (override; default the model file\'s job)')
    parser.add_argument("--exhaustive", action="store_true",
                        help="evaluate every mapping (the reference search) instead of the exact pruned search; "
                             "same result, slower")
    parser.add_argument("--json", action="store_true", help="print one flat JSON object")
    add_serving_arguments(parser)
    parser.set_defaults(handler=cmd_eval, accepts_extra=False)


def cmd_eval(args: argparse.Namespace) -> int:
    """``archsweep eval``: :func:`archsweep.whatif.what_if`, printed as tables or one JSON object."""
    from archsweep.whatif import WorkloadOverrides, print_what_if, what_if

    if args.serving:
        return cmd_eval_serving(args)
    check_training_eval(args)
    overrides = WorkloadOverrides(global_batch_seqs=args.global_batch, seq_len=args.seq_len, precision=args.precision,
                                  mode=args.mode, lora_rank=args.lora_rank, total_tokens=args.total_tokens,
                                  **{option.name: getattr(args, option.name) for option in JOB_OPTIONS})
    result = what_if(args.model, args.accelerator, args.count, args.strategy, overrides, objective=args.objective,
                     software=args.software, exhaustive=args.exhaustive)
    if args.json:
        print(json.dumps(result))
    else:
        print_what_if(result)
    return 0


# ---------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------

_SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (add_run_parser, add_query_parser,
                                                                          add_eval_parser, add_validate_parser,
                                                                          add_sensitivity_parser)


def build_parser() -> argparse.ArgumentParser:
    """The ``archsweep`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="archsweep",
        description="Design-space exploration of AI accelerators and clusters: sweep a study with Snakemake "
                    "(or search it with Optuna), store results in DuckDB, rank them on a Pareto front, report; "
                    "evaluate one what-if, validate the model against published training and serving runs; sensitivity around a base design.")
    parser.add_argument("--version", action="version", version=f"archsweep {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status (2 for input errors, no traceback)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not args.accepts_extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        return int(args.handler(args))
    except ArchsweepError as exc:
        message = str(exc)
        print(f"archsweep: error: {message}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print("archsweep: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`archsweep validate ... | head`): stop quietly, as a Unix filter does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
