"""``archsweep sensitivity STUDY``: tornado and 2-D grids around the study's base design."""

from __future__ import annotations

import argparse
from pathlib import Path

from archsweep.load.study import load_study_sensitivity

__all__ = ["add_sensitivity_parser", "cmd_sensitivity"]


def add_sensitivity_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sensitivity", help="tornado (one parameter at a time) and 2-D grids around a base design",
        description="Evaluate the study's `sensitivity` section (defaults: every varied parameter at its lowest and "
                    "highest value, around the base design): results/<study>/sensitivity/*.nc (netCDF, units and "
                    "descriptions as attributes), tornado charts and heatmaps, table `sensitivity` in the database.")
    parser.add_argument("study", nargs="?", default="default", help="study file or stem of spaces/ (default: default)")
    parser.add_argument("--directory", default=".", help="working directory holding results/ (default: .)")
    parser.set_defaults(handler=cmd_sensitivity, accepts_extra=False)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    study, spec = load_study_sensitivity(args.study)  # a bad section refused before matplotlib loads (font cache)
    # Imported here: matplotlib (plots) must not load for the other subcommands (start-up time, font cache).
    from archsweep.sensitivity import run_sensitivity

    results = Path(args.directory) / "results" / study.name
    written = run_sensitivity(study, spec, results)
    print(f"archsweep: sensitivity of '{study.name}' done: {len(written)} file(s) in {results / 'sensitivity'}")
    print(f"  query with:   archsweep query {study.name} \"SELECT * FROM sensitivity WHERE kind = 'tornado'\"")
    return 0
