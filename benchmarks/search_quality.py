"""Search quality: Optuna samplers against the exhaustive grid's Pareto front (issue 5).

Evaluates an exhaustive grid of about a million H100-based candidates (six real hardware
parameters) with the model (fixed mapping so the grid stays computable in seconds per
workload), computes the hypervolume of its feasible Pareto front, then runs every sampler
with a fixed seed, asking/telling in batches on the same grid (each trial picks one grid
index per parameter), with a budget of ``--fraction`` of the grid. Prints, per sampler, the
hypervolume reached as a fraction of the grid's, the fraction of the grid evaluated and the
wall time. Last line: ``hypervolume_ratio=<best> evaluated_fraction=<f> sampler=<name>``.

Objectives: maximise tokens_per_s, minimise power_w (aggregate: mean over workloads);
feasible = the model's ``feasible`` on every workload. Reference point: nadir of the grid's
front plus 10 % of its range (:func:`archsweep.search.worker.reference_point`).

Usage: ``python benchmarks/search_quality.py [--workloads llama3-8b ...] [--fraction 0.01]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import optuna

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.results.hypervolume import hypervolume
from archsweep.results.pareto import non_dominated_mask, to_minimization
from archsweep.search.worker import reference_point
from archsweep.spec.hardware import HardwareArrays

STRATEGY = "tp=8,pp=1,dp=auto,mb=1,recompute=selective,zero=1"
DIRECTIONS = ("maximize", "minimize")
COLUMNS = ("tokens_per_s", "power_w")
GRID: dict[str, np.ndarray] = {
    "compute_units": np.arange(66, 266, 4, dtype=float),            # 50 values
    "clock_hz": np.linspace(1.2e9, 2.1e9, 10),                    # 10
    "hbm_stacks": np.arange(4, 9, dtype=float),                   # 5
    "hbm_generation": np.array(["HBM2e", "HBM3", "HBM3e", "HBM4"]),  # 4
    "tdp_w": np.linspace(400.0, 1300.0, 10),                      # 10
    "scaleup_bw_bytes_per_s": np.linspace(150e9, 1.8e12, 10),     # 10
}
SAMPLERS = ("nsga2", "nsga3", "tpe", "qmc", "random")


class Problem:
    """Evaluates grid index tuples (n, p) -> minimised objectives (n, 2) and feasibility."""

    def __init__(self, workloads: list[str]) -> None:
        self.base = get_accelerator("H100-SXM").as_dict()
        self.tech = load_technology()
        self.calibration = load_calibration()
        self.memories = self.tech.memories
        self.workloads = [load_workload(w) for w in workloads]

    def evaluate(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = index.shape[0]
        columns = {k: np.full(n, v) for k, v in self.base.items()}
        for j, (name, values) in enumerate(GRID.items()):
            columns[name] = values[index[:, j]]
        columns["hbm_bw_per_stack_bytes_per_s"] = np.array([self.memories[g].bw_per_stack_bytes_per_s for g in GRID["hbm_generation"]])[index[:, 3]]
        columns["hbm_capacity_per_stack_bytes"] = np.array([self.memories[g].capacity_per_stack_bytes for g in GRID["hbm_generation"]])[index[:, 3]]
        hw = HardwareArrays.from_columns(columns)
        values = np.zeros((n, len(COLUMNS)))
        feasible = np.ones(n, dtype=bool)
        for wl in self.workloads:
            out = evaluate_design_batch(hw, wl, tech=self.tech, calibration=self.calibration, strategy=STRATEGY)
            values += np.stack([np.asarray(out[c], dtype=float) for c in COLUMNS], axis=1) / len(self.workloads)
            feasible &= np.asarray(out["feasible"], dtype=bool)
        feasible &= np.all(np.isfinite(values), axis=1)
        return to_minimization(values, DIRECTIONS), feasible


def grid_front(problem: Problem, chunk: int = 200_000) -> tuple[np.ndarray, int, float]:
    sizes = [len(v) for v in GRID.values()]
    total = int(np.prod(sizes))
    started = time.perf_counter()
    fronts = []
    for start in range(0, total, chunk):
        flat = np.arange(start, min(total, start + chunk))
        index = np.stack(np.unravel_index(flat, sizes), axis=1)
        values, feasible = problem.evaluate(index)
        kept = values[feasible]
        fronts.append(kept[non_dominated_mask(kept)])
    front = np.concatenate(fronts)
    return front[non_dominated_mask(front)], total, time.perf_counter() - started


def make_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=200)
    if name == "nsga3":
        return optuna.samplers.NSGAIIISampler(seed=seed, population_size=200)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=100)
    if name == "qmc":
        return optuna.samplers.QMCSampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


def run_sampler(problem: Problem, name: str, budget: int, batch: int, seed: int) -> tuple[np.ndarray, float]:
    study = optuna.create_study(directions=list(DIRECTIONS), sampler=make_sampler(name, seed))
    dists = {k: optuna.distributions.IntDistribution(0, len(v) - 1) for k, v in GRID.items()}
    found = []
    started = time.perf_counter()
    done = 0
    while done < budget:
        k = min(batch, budget - done)
        trials = [study.ask(dists) for _ in range(k)]
        index = np.array([[t.params[p] for p in GRID] for t in trials], dtype=int)
        values, feasible = problem.evaluate(index)
        natural = to_minimization(values, DIRECTIONS)  # flipping twice restores the natural values
        for t, v, ok in zip(trials, natural, feasible):
            t.set_constraint("feasible", 0.0 if ok else 1.0)
            study.tell(t, v.tolist() if np.all(np.isfinite(v)) else None,
                       state=None if np.all(np.isfinite(v)) else optuna.trial.TrialState.FAIL)
        found.append(values[feasible])
        done += k
    return np.concatenate(found), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["llama3-8b"])
    parser.add_argument("--fraction", type=float, default=0.01)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samplers", nargs="+", default=list(SAMPLERS))
    parser.add_argument("--tpe-max-trials", type=int, default=2000,
                        help="TPE's per-ask cost grows with the trial count: cap its budget (default 2000)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = Problem(args.workloads)
    front, total, seconds = grid_front(problem)
    ref = reference_point(front)
    exact = hypervolume(front, ref)
    budget = max(1, int(args.fraction * total))
    print(f"grid: {total} candidates, front {len(front)} points, hypervolume {exact:.6g}, {seconds:.1f} s")
    best = ("none", 0.0, 0.0)
    for name in args.samplers:
        trials = min(budget, args.tpe_max_trials) if name == "tpe" else budget
        found, wall = run_sampler(problem, name, trials, args.batch, args.seed)
        ratio = hypervolume(found, ref) / exact if exact > 0 else 0.0
        print(f"sampler={name} hypervolume_ratio={ratio:.4f} evaluated_fraction={trials / total:.4f} wall_s={wall:.1f}",
              flush=True)
        if ratio > best[1]:
            best = (name, ratio, trials / total)
    print(f"hypervolume_ratio={best[1]:.4f} evaluated_fraction={best[2]:.4f} sampler={best[0]}")


if __name__ == "__main__":
    main()
