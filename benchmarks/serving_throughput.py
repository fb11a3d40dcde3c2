"""(hardware x serving configuration) evaluations per second of the serving model.

Usage: ``PYTHONPATH=src taskset -c 0,1 python benchmarks/serving_throughput.py [n_candidates]``
with ``OMP_NUM_THREADS=1`` etc. (numpy is single-threaded for these element-wise ops; the second
core is left to the OS). Evaluates n hardware candidates (H200 with perturbed HBM bandwidth,
capacity and clock) against every enumerated configuration of Llama 3 70B on 8 accelerators,
through the job-agnostic driver (:func:`archsweep.model.driver.evaluate_job` with the serving job
kind: the chunked search, full model for every pair + argmin, then power/area/cost and DVFS on the
chosen rows) and through ``serving_performance`` alone; reports pairs per second for each.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.serving_calibration import load_serving_calibration
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_job
from archsweep.model.inference import (
    ServingJob,
    ServingJobKind,
    enumerate_serving_configs,
    serving_performance,
)
from archsweep.spec.hardware import HardwareArrays


def main(n: int = 2000) -> None:
    rng = np.random.default_rng(0)
    base = get_accelerator("H200").design.replace(accelerator_count=8)
    cols = HardwareArrays.from_designs(base).columns()
    cols = {k: np.repeat(np.asarray(v)[None], n) for k, v in cols.items()}
    cols["hbm_bw_per_stack_bytes_per_s"] = cols["hbm_bw_per_stack_bytes_per_s"] * rng.uniform(0.5, 2.0, n)
    cols["hbm_capacity_per_stack_bytes"] = cols["hbm_capacity_per_stack_bytes"] * rng.uniform(0.5, 2.0, n)
    cols["clock_hz"] = cols["clock_hz"] * rng.uniform(0.7, 1.3, n)
    hw = HardwareArrays.from_columns(cols)
    wl = load_workload("llama3-70b")
    job = ServingJob(1024, 256, weight_precision="fp8", activation_precision="fp8", kv_precision="fp8",
                     ttft_max_s=2.0, tpot_max_s=0.05)
    cal, scal = load_calibration(), load_serving_calibration()
    cfg = enumerate_serving_configs(wl, job, 8)
    m = len(cfg)
    kind = ServingJobKind(wl, job, cfg, scal, cal)
    tech = load_technology()
    objective = "output_tokens_per_s_per_accelerator"
    evaluate_job(HardwareArrays.from_columns({k: v[:10] for k, v in cols.items()}), kind, tech=tech, objective=objective)
    t0 = time.perf_counter()
    evaluate_job(hw, kind, tech=tech, objective=objective)
    t_best = time.perf_counter() - t0
    chunk = max(1, (1 << 19) // m)
    hw2 = HardwareArrays.from_columns({k: v[:chunk] for k, v in cols.items()})
    hw2 = HardwareArrays(**{k: v[:, None] for k, v in hw2.columns().items()})
    cfg2 = cfg.reshape((1, m))
    t0 = time.perf_counter()
    serving_performance(hw2, wl, cfg2, job, scal, cal)
    t_perf = time.perf_counter() - t0
    print(f"configurations per candidate: {m}")
    print(f"evaluate_job (serving kind): {n} candidates x {m} configs = {n * m:,} pairs in {t_best:.2f} s "
          f"-> {n * m / t_best:,.0f} evaluations/s")
    print(f"serving_performance: {chunk} x {m} = {chunk * m:,} pairs in {t_perf:.3f} s -> {chunk * m / t_perf:,.0f} evaluations/s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
