"""Candidates/s per core of the full best-mapping search: exhaustive (driver._best_mappings) vs
pruned (model.training.pruned_search.best_mapping_indices), and whether they agree.

Candidates: the random H100-SXM perturbations of benchmarks/eval_throughput.py (4096
accelerators). One process (one core). Prints one line per workload:

    <workload> mappings=<m> candidates=<n> mismatches=<k> exhaustive_per_s=<x> pruned_per_s=<y>

With ``--batches K`` (K > 1) the pruned search then runs on K - 1 further batches of the same size
(other seeds) in the same process, as a shard evaluation does, and prints their rate as
``warm_pruned_per_s`` (the per-key tables are cached across batches; checked against the
exhaustive search only on the first batch), and the rate of the last batch alone as
``last_batch_per_s`` (with many batches: the rate once the cache holds the keys a process needs).
The same three rates per CPU-second of the process (``time.process_time``: other jobs on the
machine do not lower them) follow as ``cpu_pruned_per_s``, ``cpu_warm_per_s`` and ``cpu_last_per_s``.

With ``--no-exhaustive`` the exhaustive search is skipped (``mismatches=unchecked``): the first
pruned batch then runs in a fresh process, as in an evaluate job. ``--keep-freed-memory`` applies
the evaluate stage's malloc settings first (:func:`archsweep.workflow.allocator.keep_freed_memory`:
freed arrays stay in the process, fewer page faults; glibc only).

The mappings are those a study searches on ``--software`` (default megatron-core, a study's default stack:
what its ``parallelism`` block and ``tp_comm_overlap`` give; ``none``: the model's whole enumeration, no stack).

Usage: python benchmarks/mapping_search.py [--candidates 1000 100 100] [--batches 1] [--workloads A B C]
       [--no-exhaustive] [--keep-freed-memory] [--software megatron-core]
"""

from __future__ import annotations

import argparse
import time

from eval_throughput import _candidates

from archsweep.load.calibration import load_calibration
from archsweep.load.stack_parallelism import load_stack_parallelism
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import _best_mappings
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.pruned_search import best_mapping_indices

TECH = load_technology()

WORKLOADS = ("llama3-70b", "mixtral-8x7b", "deepseek-v3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), help="workload names (default " + ", ".join(WORKLOADS) + ")")
    parser.add_argument("--candidates", type=int, nargs="+", default=[1000, 100, 100], help="per workload, in order")
    parser.add_argument("--batches", type=int, default=1, help="batches per workload (the first also runs the exhaustive search)")
    parser.add_argument("--no-exhaustive", action="store_true", help="skip the exhaustive search (and the check)")
    parser.add_argument("--keep-freed-memory", action="store_true", help="the evaluate stage's malloc settings")
    parser.add_argument("--software", default="megatron-core", help="the study's software stack, or none (default megatron-core)")
    args = parser.parse_args()
    if args.keep_freed_memory:
        from archsweep.workflow.allocator import keep_freed_memory

        keep_freed_memory()
    if len(args.candidates) != len(args.workloads):
        parser.error(f"--candidates needs one count per workload ({len(args.workloads)}), got {len(args.candidates)}")
    cal = load_calibration()
    for name, n in zip(args.workloads, args.candidates):
        wl = load_workload(name)
        kind = TrainingJobKind(wl, cal, parallelism=None if args.software == "none" else load_stack_parallelism(args.software))
        mappings, fixed_dp = kind.mappings(), kind.fixed_dp
        hw = _candidates(n, 1)
        start = time.perf_counter()
        want = None if args.no_exhaustive else _best_mappings(kind, hw, mappings, "step_time_s", TECH)
        t_exh = time.perf_counter() - start
        start, cpu = time.perf_counter(), time.process_time()
        got = best_mapping_indices(hw, wl, mappings, fixed_dp, cal, "step_time_s")
        t_pruned, c_pruned = time.perf_counter() - start, time.process_time() - cpu
        warm, cpu_rates = "", f" cpu_pruned_per_s={n / c_pruned:.0f}"
        if args.batches > 1:
            start, cpu = time.perf_counter(), time.process_time()
            for seed in range(2, args.batches + 1):
                last, last_cpu = time.perf_counter(), time.process_time()
                best_mapping_indices(_candidates(n, seed), wl, mappings, fixed_dp, cal, "step_time_s")
            end, end_cpu = time.perf_counter(), time.process_time()
            warm = (f" warm_pruned_per_s={n * (args.batches - 1) / (end - start):.0f}"
                    f" last_batch_per_s={n / (end - last):.0f}")
            cpu_rates += (f" cpu_warm_per_s={n * (args.batches - 1) / (end_cpu - cpu):.0f}"
                          f" cpu_last_per_s={n / (end_cpu - last_cpu):.0f}")
        checked = "unchecked" if want is None else str(int((want != got).sum()))
        exhaustive = "" if want is None else f" exhaustive_per_s={n / t_exh:.0f}"
        print(f"{name} mappings={len(mappings)} candidates={n} mismatches={checked}"
              f"{exhaustive} pruned_per_s={n / t_pruned:.0f}{warm}{cpu_rates}")


if __name__ == "__main__":
    main()
