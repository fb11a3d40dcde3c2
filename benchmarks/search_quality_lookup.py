"""Search quality without the model: samplers screened on the stored exhaustive grid (issue 14).

Same study, grid cache, reference point and measure as ``benchmarks/search_quality.py`` (run that
first with ``--grid-cache FILE.npz``; this script only reads the cache), and the same sampler
(:func:`archsweep.search.storage.make_sampler` on the study's search section with the given
sampler, seed and budget), deduplication (a point already seen is told its stored values and not
counted) and batches of 16 asked before any is told. The model evaluation is replaced by the grid's
stored values and constraint values (a cache without them: -1 / +1 by feasibility, which is all
that every sampler but ``surrogate_share`` reads), so a run costs the sampler's time only. On the rows run both ways
(``nsga2``, ``nsga2:local_search_start=0.5``, ``tpe:multivariate=true,local_search_start=0.5``)
the ratios equal the real worker's to 4 digits.

Prints per seed the hypervolume ratio at 200, 400, 800 (, 2,000, 4,000) and a quarter, half and all
of ``BUDGET`` distinct evaluations and
how many exhaustive-front points were found, then ``SUMMARY`` mean (worst) and ``MEDIAN`` median (worst)
over seeds.

Usage::

    python benchmarks/search_quality_lookup.py GRID.npz SAMPLER SEEDS [BUDGET [STUDY]]
    python benchmarks/search_quality_lookup.py /tmp/s4q-grid.npz nsga2:local_search_start=0.5 0,1,2 4000
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from search_quality import DEFAULT_STUDY, _grid_key, grid_axes, grid_index, parse_sampler

from archsweep.load.study import load_study
from archsweep.results.hypervolume import hypervolume
from archsweep.results.pareto import non_dominated_mask, to_minimization
from archsweep.search.dedup import finite_or_cap
from archsweep.search.designobjectives import DesignObjectives
from archsweep.search.mappingattrs import MAPPING_ATTR, MAPPING_KEYS, RECOMPUTE_LEVELS
from archsweep.search.storage import distributions, make_sampler
from archsweep.search.worker import batch_context, design_objectives
from archsweep.spec.search import SamplerSpec
from archsweep.spec.study import Study


def mapping_attr(rows: np.ndarray, workloads: list[str]) -> dict[str, dict[str, Any] | None]:
    """The worker's ``MAPPING_ATTR`` value from one grid point's rows of the cache's ``mapping`` table."""
    out: dict[str, dict[str, Any] | None] = {}
    for name, row in zip(workloads, rows):
        out[name] = None if not np.all(np.isfinite(row)) else {
            **{k: int(v) for k, v in zip(MAPPING_KEYS, row)},
            "recompute": RECOMPUTE_LEVELS[int(row[-1])] if int(row[-1]) < len(RECOMPUTE_LEVELS) else "other"}
    return out


def _checked_design(study: Study, axes: list[tuple[str, list[Any]]], values: np.ndarray) -> DesignObjectives:
    """The worker's design objectives of ``study`` (``surrogate_exact_design``), checked against the grid's stored
    values (minimised, grid order): every design-only column must equal them to the last bit on every point the
    model gave a number for."""
    design = design_objectives(batch_context(study))
    sizes = [len(v) for _, v in axes]
    index = np.unravel_index(np.arange(len(values)), sizes)
    exact = design.values({name: np.asarray(levels)[i] for (name, levels), i in zip(axes, index)})
    columns = np.flatnonzero(design.exact)
    stored = values[:, columns]
    told = np.isfinite(stored)  # a point the model gave no number for is told nothing
    if not np.array_equal(exact[:, columns][told], stored[told]):
        sys.exit(f"the design objectives (columns {columns.tolist()}) differ from the grid's stored values: a cache "
                 "of another model; run benchmarks/search_quality.py --grid-cache again")
    return design


def main() -> None:
    grid_file, sampler_text, seeds_text = sys.argv[1:4]
    budget = int(sys.argv[4]) if len(sys.argv) > 4 else 800
    study_file = Path(sys.argv[5]) if len(sys.argv) > 5 else DEFAULT_STUDY
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = load_study(study_file)
    assert study.search is not None
    axes, directions = grid_axes(study), [o.direction for o in study.objectives]
    stored = np.load(grid_file)
    if str(stored["key"]) != _grid_key(Path(study_file), study, None):
        sys.exit(f"{grid_file}: computed with another study, data or model; run benchmarks/search_quality.py "
                 f"--grid-cache {grid_file} first")
    natural, feasible = stored["values"], stored["feasible"]
    # each workload's chosen mapping, told as the worker tells it (a cache written before it was stored: none)
    mapping_table = stored["mapping"] if "mapping" in stored else None
    mapping_workloads = [str(w) for w in stored["mapping_workloads"]] if mapping_table is not None else []
    # the worker's constraint values (a cache written before they were stored: -1 / +1 by feasibility)
    names = [str(n) for n in stored["constraint_names"]] if "constraints" in stored else ["limit"]
    limits = stored["constraints"] if "constraints" in stored else np.where(feasible, -1.0, 1.0)[:, None]
    values = to_minimization(natural, directions)
    kept = np.flatnonzero(feasible & np.all(np.isfinite(values), axis=1))
    on_front = kept[non_dominated_mask(values[kept])]
    front = set(on_front.tolist())
    reference = values[on_front].max(axis=0)
    exact = hypervolume(values[on_front], reference)
    space = distributions(study.search)
    parsed = parse_sampler(sampler_text)
    design = _checked_design(study, axes, values) if parsed.get("options", {}).get("surrogate_exact_design") else None
    if parsed.get("options", {}).get("surrogate_mapping", "off") != "off" and mapping_table is None:
        sys.exit(f"{grid_file}: holds no chosen mappings (written before they were stored), which surrogate_mapping "
                 f"reads; delete it and run benchmarks/search_quality.py --grid-cache {grid_file} again")
    counts = sorted({k for k in (200, 400, 800, 2000, 4000) if k <= budget} | {budget // 4, budget // 2, budget})
    rows = []
    for seed in (int(s) for s in seeds_text.split(",")):
        spec = dataclasses.replace(study.search, trials=budget, seed=seed, sampler=SamplerSpec(
            parsed["name"], tuple(sorted(parsed.get("options", {}).items()))))
        ostudy = optuna.create_study(directions=directions, sampler=make_sampler(spec, 0, objectives=len(directions),
                                                                                    design=design))
        order: list[int] = []
        seen: set[int] = set()
        while len(order) < budget:
            for trial in [ostudy.ask(space) for _ in range(16)]:
                g = int(grid_index(axes, [trial.params])[0])
                for name, limit in zip(names, limits[g]):
                    trial.set_constraint(name, finite_or_cap(float(limit)))
                if mapping_table is not None:
                    trial.set_user_attr(MAPPING_ATTR, mapping_attr(mapping_table[g], mapping_workloads))
                if g not in seen and len(order) < budget:
                    seen.add(g)
                    order.append(g)
                ostudy.tell(trial, natural[g].tolist())
        at = np.asarray(order)

        def ratio(k: int, at: np.ndarray = at) -> float:
            points = values[at[:k]][feasible[at[:k]]]
            return hypervolume(points[non_dominated_mask(points)], reference) / exact

        rows.append([ratio(k) for k in counts])
        print(f"seed={seed} hv_ratio " + " ".join(f"{k}:{r:.4f}" for k, r in zip(counts, rows[-1]))
              + f" front_points_found={len(front & seen)}", flush=True)
    table = np.asarray(rows)
    print(f"SUMMARY {sampler_text} " + " ".join(f"{k}:{m:.4f} ({w:.4f})" for k, m, w in
                                                zip(counts, table.mean(axis=0), table.min(axis=0))))
    print(f"MEDIAN {sampler_text} " + " ".join(f"{k}:{m:.4f} ({w:.4f})" for k, m, w in
                                               zip(counts, np.median(table, axis=0), table.min(axis=0))))


if __name__ == "__main__":
    main()
