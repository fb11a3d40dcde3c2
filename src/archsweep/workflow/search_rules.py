"""The search rules of ``rules/search.smk``: ``python -m archsweep.workflow
search-create|search-worker|search-export --study FILE ...`` create the Optuna study, run a
worker, export the trials (see :mod:`archsweep.workflow.__main__`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from archsweep.spec.errors import ArchsweepError

__all__ = ["main"]

# ---------------------------------------------------------------------------------------
# Command line: python -m archsweep.workflow search-create|search-worker|search-export --study FILE ...
# ---------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m archsweep.workflow search-",
                                     description="Optuna search: create the study, run a worker, export trials")
    sub = parser.add_subparsers(dest="verb", required=True)
    for verb in ("create", "worker", "export"):
        p = sub.add_parser(verb, prog=f"python -m archsweep.workflow search-{verb}")
        p.add_argument("--study", required=True, help="study YAML file")
        p.add_argument("--results", default="results", help="results root (default results/)")
        if verb == "create":
            p.add_argument("--marker", help="file written once the study exists")
        if verb == "worker":
            p.add_argument("--worker", type=int, required=True)
            p.add_argument("--marker", help="file written when this worker's share is done")
        if verb == "export":
            p.add_argument("--trials", required=True)
            p.add_argument("--hypervolume", required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Each verb imports what it runs (as archsweep.workflow.stages does): a create job needs Optuna's
    # storage, not the model that the worker and the export evaluate trials with. No cycle: nothing in
    # the package imports archsweep.workflow.
    try:
        if args.verb == "create":
            from archsweep.load.study import load_study
            from archsweep.search.storage import create_search_study

            study = load_study(args.study)
            ostudy = create_search_study(study, results=args.results)
            _marker(args.marker, f"study {ostudy.study_name}\n")
        elif args.verb == "worker":
            from archsweep.search.worker import run_search_worker

            report = run_search_worker(args.study, args.worker, results=args.results)
            _marker(args.marker, f"{report}\n")
        else:
            from archsweep.search.export import export_search

            export_search(args.study, args.trials, args.hypervolume, results=args.results)
    except ArchsweepError as exc:
        print(f"archsweep: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _marker(path: str | None, text: str) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)


if __name__ == "__main__":
    sys.exit(main())

