"""The report's roadmap section: the best designs per technology generation, side by side.

For a study with ``scenarios`` (fronts per (workload, scenario), :mod:`archsweep.results.fronts`):

- per workload, a table with one row per (objective, scenario): the best feasible value, its
  change against the first scenario, the candidate and its design (varied parameters, process
  node, HBM generation, scale-up and scale-out bandwidth) and mapping;
- a finding per objective: how much the best value moves from the first to the last scenario;
- ``roadmap_<workload>_<a>__<b>.png``: each scenario's Pareto front projected on (a, b), one
  colour per scenario, so a reviewer sees how the front moves with the technology.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import duckdb
import numpy as np

from archsweep.results.plots import figure, no_data, save_figure, sweep_only
from archsweep.spec.columns import MAPPING_COLUMNS, SCENARIO_COLUMN
from archsweep.spec.study import Study

__all__ = ["DESIGN_COLUMNS", "roadmap_plot_names", "roadmap_section", "best_per_scenario"]

#: Technology-dependent parameters shown with every best design (besides the varied ones).
DESIGN_COLUMNS = ("process_node", "hbm_generation", "scaleup_bw_bytes_per_s", "scaleout_bw_bytes_per_s",
                  "scaleup_domain_size")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _pairs(study: Study) -> list[tuple[str, str]]:
    return list(itertools.combinations([o.column for o in study.objectives], 2))


def roadmap_plot_names(study: Study) -> list[str]:
    """File names of the roadmap plots (empty without scenarios or without a sweep)."""
    if not study.scenarios or study.sampling_method is None:
        return []
    return [f"roadmap_{_safe(w)}_{a}__{b}.png" for w in study.workloads for a, b in _pairs(study)]


def _fmt(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return "nan" if math.isnan(float(value)) else f"{float(value):.4g}"
    return str(value)


def best_per_scenario(con: duckdb.DuckDBPyConnection, study: Study, workload: str, column: str,
                      direction: str, shown: list[str]) -> list[tuple[str, object, str, tuple[object, ...]] | None]:
    """Per scenario (study order): (scenario, best value, candidate id, values of ``shown``), or None
    when the scenario has no feasible candidate on ``workload``."""
    order = "DESC" if direction == "maximize" else "ASC"
    select = ", ".join(f'"{c}"' for c in shown) or "NULL"
    out: list[tuple[str, object, str, tuple[object, ...]] | None] = []
    for scenario in study.scenarios:
        row = con.execute(
            f'SELECT "{column}", candidate_id, {select} FROM evaluations WHERE study = ? AND workload = ? '
            f'AND {SCENARIO_COLUMN} = ? AND feasible AND "{column}" IS NOT NULL AND NOT isnan("{column}") '
            f'ORDER BY "{column}" {order}, candidate_id LIMIT 1', [study.name, workload, scenario.name]).fetchone()
        out.append(None if row is None else (scenario.name, row[0], str(row[1]), tuple(row[2:]) if shown else ()))
    return out


def _plot(con: duckdb.DuckDBPyConnection, study: Study, workload: str, a: str, b: str, path: Path) -> None:
    fig, ax = figure()
    drawn = 0
    for scenario in study.scenarios:
        front = con.execute(
            f'SELECT "{a}", "{b}" FROM pareto WHERE study = ? AND workload = ? AND {SCENARIO_COLUMN} = ? '
            f'AND rank = 0{sweep_only(con)} ORDER BY "{a}"', [study.name, workload, scenario.name]).fetchnumpy()
        if len(front[a]):
            ax.plot(front[a], front[b], "o-", ms=4, lw=0.8, label=f"{scenario.name} ({len(front[a])} on the front)")
            drawn += 1
    if drawn:
        ax.legend(loc="best", fontsize=8, title="scenario", title_fontsize=8)
    else:
        no_data(ax, "no feasible candidate in any scenario")
    save_figure(fig, ax, path, f"{study.name} / {workload}: Pareto front per scenario", xlabel=a, ylabel=b)


def _change(first: object, value: object) -> str:
    a, b = float(first), float(value)  # type: ignore[arg-type]
    return "-" if a == 0 or math.isnan(a) or math.isnan(b) else f"{(b / a - 1) * 100:+.0f} %"


def roadmap_section(con: duckdb.DuckDBPyConnection, study: Study, columns: list[str],
                    folder: Path) -> tuple[list[str], list[Path]]:
    """Markdown lines and plots of the roadmap section (nothing without scenarios)."""
    if not study.scenarios or study.sampling_method is None:
        return [], []
    shown = [c for c in dict.fromkeys((*study.varied, *DESIGN_COLUMNS, *MAPPING_COLUMNS)) if c in columns]
    lines = ["", "## Roadmap scenarios", "",
             "Fronts are ranked per (workload, scenario): each generation's best designs under its own technology "
             "(hardware values, allowed nodes and HBM, prices, packaging limit). Scenarios: "
             + "; ".join(f"`{s.name}` ({s.description})" for s in study.scenarios) + "."]
    names = iter(roadmap_plot_names(study))
    written: list[Path] = []
    first, last = study.scenarios[0].name, study.scenarios[-1].name
    for workload in study.workloads:
        lines += ["", f"### {workload}: best design per scenario", "",
                  f"| objective | scenario | best | vs {first} | candidate | design and mapping |",
                  "|---|---|---:|---:|---|---|"]
        findings = []
        for objective in study.objectives:
            best = best_per_scenario(con, study, workload, objective.column, objective.direction, shown)
            base = best[0][1] if best[0] is not None else math.nan
            for scenario, entry in zip(study.scenarios, best):
                if entry is None:
                    lines.append(f"| {objective.direction} {objective.column} | {scenario.name} | - | - | - | "
                                 "no feasible candidate |")
                    continue
                design = ", ".join(f"{n}={_fmt(v)}" for n, v in zip(shown, entry[3]))
                lines.append(f"| {objective.direction} {objective.column} | {scenario.name} | {_fmt(entry[1])} | "
                             f"{_change(base, entry[1])} | `{entry[2]}` | {design} |")
            if best[0] is not None and best[-1] is not None and len(best) > 1:
                findings.append(f"- best `{objective.column}` {first} -> {last}: {_fmt(best[0][1])} -> "
                                f"{_fmt(best[-1][1])} ({_change(best[0][1], best[-1][1])})")
        lines += ["", *findings, "", "Fronts per scenario:", ""]
        for a, b in _pairs(study):
            path = folder / next(names)
            _plot(con, study, workload, a, b, path)
            lines.append(f"- [{b} vs {a}, front per scenario]({path.name})")
            written.append(path)
    return lines, written
