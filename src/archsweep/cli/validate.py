"""``archsweep validate --measurements FILE.csv [--output OUT.csv] [--hold-out GROUP] [--optimism]``:
the model against measured runs (:mod:`archsweep.validation.run`; search optimism:
:mod:`archsweep.validation.optimism`).

The measurements file is checked before anything is modelled
(:func:`archsweep.validation.cells.read_measurements`: required columns, at least one row,
numeric cells that are numbers, naming file, line and column), and ``--output`` before
anything is computed: a directory, or a file in a folder that does not exist, is refused.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from archsweep.spec.errors import InputError

__all__ = ["add_validate_parser", "cmd_validate", "check_output_path"]


def add_validate_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate", help="compare the model with measured training or serving runs (CSV)",
        description="Predict every row of a CSV with the columns of data/validation/training_runs.csv (or of "
                    "data/validation/inference_runs.csv: serving, told apart by its columns) with the row's "
                    "own workload, system and mapping, compare with what it measured, print a table and a summary "
                    "(training: MAPE and max error per source_group, accelerator and metric; serving: MAPE per "
                    "group and model, for each metric). Rows that cannot be modelled are 'skipped' with a reason.")
    parser.add_argument("--measurements", required=True, help="CSV of measured runs (UTF-8, a header row, each run_id once)")
    parser.add_argument("--output", default=None,
                        help="write run_id, metric, measured, predicted, error_pct, status, reason (+ extra columns; with --optimism also best_over_measured, given_over_measured, best_over_given, best_over_ceiling, best_mapping, optimism_note per row); default: none (print only)")
    parser.add_argument("--summary-only", action="store_true", help="print only the summary tables, not every row")
    parser.add_argument("--hold-out", default=None, metavar="GROUP",
                        help="training runs: refit the fitted constants without source_group GROUP and judge only "
                             "GROUP's rows (held-out error); GROUP a source_group of the CSV (the shipped set: "
                             "megatron, memory, mlperf, mpt, nemo, mcore-moe, mbridge-forward, mlperf-forward); default none")
    parser.add_argument("--optimism", action="store_true",
                        help="training runs: also run the best-mapping search for every throughput row (same model, "
                             "accelerator, count, batch, sequence, precision and software stack) and print best / "
                             "measured per source group (search optimism, the criterion; about 30 s of CPU on the public set), "
                             "beside best / max(measured, same-silicon ceiling): the fastest measured row of the same "
                             "group, model, count, batch, sequence and precision on a part of the same die "
                             "(data/validation/die_families.yaml), converted by the model's part ratio")
    parser.set_defaults(handler=cmd_validate, accepts_extra=False)


def check_output_path(output: str, measurements: str) -> Path:
    """``--output``: a file path (new or existing file) in an existing folder, not the input.

    Raises:
        InputError: a directory, a missing folder, or the measurements file itself.
    """
    path = Path(output)
    if path.is_dir():
        raise InputError("<command line>", "--output", output, "a CSV file path, not a directory")
    if not path.parent.is_dir():
        raise InputError("<command line>", "--output", output, f"a file in an existing folder ({path.parent} does not exist)")
    if path.exists() and Path(measurements).exists() and path.resolve() == Path(measurements).resolve():
        raise InputError("<command line>", "--output", output, "a file other than --measurements (it would be overwritten)")
    return path


def cmd_validate(args: argparse.Namespace) -> int:
    """``archsweep validate``: :func:`archsweep.validation.holdout.validate_file`, table, summary, optional CSV."""
    from archsweep.validation.holdout import validate_file
    from archsweep.validation.inference import is_inference_csv, validate_inference_cli
    from archsweep.validation.summary import print_report, write_results_csv

    output = check_output_path(args.output, args.measurements) if args.output else None
    if is_inference_csv(args.measurements):
        for flag, value in (("--hold-out", args.hold_out), ("--optimism", args.optimism or None)):
            if value is not None:
                raise InputError("<command line>", flag, str(value),
                                 f"no {flag} with a serving measurements file (training runs only)")
        return validate_inference_cli(args.measurements, str(output) if output is not None else None)
    if args.optimism and args.hold_out is not None:
        raise InputError("<command line>", "--optimism", "with --hold-out",
                         "--optimism without --hold-out (the search runs on the in-sample constants)")
    results = validate_file(args.measurements, hold_out=args.hold_out)
    print_report(results, summary_only=args.summary_only)
    cells = None
    if args.optimism:
        from archsweep.validation.cells import read_measurements
        from archsweep.validation.optimism import optimism_cells, print_optimism, search_optimism

        print("search optimism (best-mapping search / measured throughput; issue-10 target: median in "
              "[0.95, 1.10], no row above 1.25)")
        optimism = search_optimism(read_measurements(args.measurements))
        print_optimism(optimism)
        cells = optimism_cells(optimism)
    if output is not None:
        try:
            write_results_csv(results, output, optimism=cells)
        except OSError as exc:
            raise InputError("<command line>", "--output", args.output, f"a writable file ({exc.strerror or exc})") from None
        print(f"wrote {output}" + (" (with the search-optimism columns)" if cells is not None else ""))
    return 0
