"""Throughput of the training model's inner search: (hardware x mapping) evaluations per second.

Evaluates a batch of hardware candidates (random perturbations of the H100-SXM design) against
every valid mapping of a workload, as the mapping search inside ``evaluate_design_batch`` does,
on all cores with one process per core. Prints the figure last:

    evaluations_per_second=<number> workload=<name> batch=<candidates>x<mappings> cores=<n>

Usage: python benchmarks/eval_throughput.py [--workload llama3-70b] [--candidates 4000] [--cores 2]
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import _best_mappings
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.spec.hardware import HardwareArrays

TECH = load_technology()


def _candidates(n: int, seed: int) -> HardwareArrays:
    rng = np.random.default_rng(seed)
    base = get_accelerator("H100-SXM").design.replace(accelerator_count=4096)
    cols = {k: np.full(n, v) if not isinstance(v, str) else np.full(n, v, dtype=object) for k, v in base.as_dict().items()}
    cols["compute_units"] = rng.integers(66, 265, n).astype(float)
    cols["clock_hz"] = rng.uniform(1.2e9, 2.2e9, n)
    cols["hbm_stacks"] = rng.integers(4, 9, n).astype(float)
    cols["scaleup_bw_bytes_per_s"] = rng.uniform(200e9, 1.8e12, n)
    cols["scaleout_bw_bytes_per_s"] = rng.uniform(25e9, 200e9, n)
    cols["scaleup_domain_size"] = rng.choice([8.0, 16.0, 72.0], n)
    return HardwareArrays.from_columns(cols)


def _work(args: tuple[str, int, int]) -> int:
    workload_name, n, seed = args
    kind = TrainingJobKind(load_workload(workload_name), load_calibration(), None)
    mappings = kind.mappings()
    _best_mappings(kind, _candidates(n, seed), mappings, "step_time_s", load_technology())
    return n * len(mappings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="llama3-70b")
    parser.add_argument("--candidates", type=int, default=4000, help="hardware candidates per core")
    parser.add_argument("--cores", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()
    n_map = len(TrainingJobKind(load_workload(args.workload), load_calibration(), None).mappings())
    _work((args.workload, 16, 0))  # warm caches (catalog, workload, calibration) in this process
    jobs = [(args.workload, args.candidates, seed) for seed in range(args.cores)]
    with ProcessPoolExecutor(max_workers=args.cores) as pool:
        list(pool.map(_work, [(args.workload, 16, 0)] * args.cores))  # warm workers
        start = time.perf_counter()
        evaluations = sum(pool.map(_work, jobs))
        elapsed = time.perf_counter() - start
    print(f"workload={args.workload} mappings_per_candidate={n_map} candidates={args.candidates * args.cores} "
          f"evaluations={evaluations} seconds={elapsed:.2f}")
    print(f"evaluations_per_second={evaluations / elapsed:.0f} workload={args.workload} "
          f"batch={args.candidates * args.cores}x{n_map} cores={args.cores}")


if __name__ == "__main__":
    main()
