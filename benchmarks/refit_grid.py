"""Grid MAPE of the fitted constants on their fit sets (the in-sample fits the calibration locators quote).

    python benchmarks/refit_grid.py                      # every constant with a grid of two or more values
    python benchmarks/refit_grid.py megatron-core-flex:moe_layer_host_overhead_s megatron-core:moe_layer_host_overhead_s

Prints one line per constant: stack:name, the loaded value, the fit-set size and ``value:MAPE %`` for each
grid value (``archsweep.validation.holdout.FITTED`` names each fit set). Refit a constant after a model change
that moves its rows, and quote the line in the constant's locator (data/calibration/*.yaml).
"""

from __future__ import annotations

import argparse
import sys

from archsweep.load.calibration import load_calibration
from archsweep.load.paths import data_dir
from archsweep.validation.cells import read_measurements
from archsweep.validation.holdout import FITTED, fit_grid, fit_set


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("constants", nargs="*", metavar="STACK:NAME", help="constants to refit (default: all with a grid)")
    args = parser.parse_args(argv)
    known = {f"{c.stack}:{c.name}" for c in FITTED}
    unknown = sorted(set(args.constants) - known)
    if unknown:
        parser.error(f"unknown constant(s) {', '.join(unknown)}; fitted constants: {', '.join(sorted(known))}")
    rows = read_measurements(data_dir() / "validation" / "training_runs.csv")
    for const in FITTED:
        key = f"{const.stack}:{const.name}"
        if len(const.grid) < 2 or (args.constants and key not in args.constants):
            continue
        current = getattr(load_calibration(stack=const.stack), const.name)
        fit = fit_grid(rows, const)
        n = len(fit_set(rows, const))
        print(f"{key} current={current:g} n={n} ({const.fit_rows}) "
              + " ".join(f"{v:g}:{m:.2f}" for v, m in fit.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
