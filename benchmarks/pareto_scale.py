"""Pareto filtering and ranking at scale: 1M and 10M rows x 3 objectives of correlated data.

Data: a latent design "size" drives all three objectives as in a real sweep (faster designs
cost and draw more): time ~ size^-1, cost ~ size^0.8, power ~ size^0.6, each with independent
lognormal noise (sigma 0.3), so the front is a few hundred to a few thousand rows, not the
trivial front of independent or anti-correlated data. All minimised.

Prints, per size: seconds for the front (archsweep.results.pareto.non_dominated_mask), for the
ranks to the report's depth (pareto_ranks(max_rank=PARETO_RANK_DEPTH)), and the front size.

Usage: python benchmarks/pareto_scale.py [--rows 1000000 10000000] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from archsweep.results.fronts import PARETO_RANK_DEPTH
from archsweep.results.pareto import non_dominated_mask, pareto_ranks


def correlated(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0.0, 1.0, n)
    noise = rng.lognormal(0.0, 0.3, (n, 3))
    return np.column_stack([size ** -1.0, size ** 0.8, size ** 0.6]) * noise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for n in args.rows:
        values = correlated(n, args.seed)
        start = time.perf_counter()
        front = non_dominated_mask(values)
        t_front = time.perf_counter() - start
        start = time.perf_counter()
        ranks = pareto_ranks(values, ["minimize"] * 3, max_rank=PARETO_RANK_DEPTH)
        t_rank = time.perf_counter() - start
        print(f"rows={n} objectives=3 front_rows={int(front.sum())} front_s={t_front:.2f} "
              f"ranks_0..{PARETO_RANK_DEPTH}_rows={int((ranks <= PARETO_RANK_DEPTH).sum())} rank_s={t_rank:.2f}")


if __name__ == "__main__":
    main()
