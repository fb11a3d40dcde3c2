"""The study report: ``results/<study>/report/report.md`` and its PNG plots.

Plots (matplotlib, Agg backend, no display needed), per workload:

- ``pareto_<workload>_<a>__<b>.png`` for every pair (a, b) of objectives: the feasible
  candidates (grey, at most :data:`MAX_BACKGROUND_POINTS` drawn) and the Pareto front
  (rank 0 over all objectives, coloured) projected on (a, b);
- ``breakdown_<workload>.png``: stacked bars of the step-time breakdown columns
  (``<part>_time_s`` and ``<part>_exposed_s`` returned by the model) of the front members with the best first objective
  (at most :data:`MAX_BREAKDOWN_BARS`).

The Markdown gives, per workload: candidates, feasible, on the front; the best candidate per
objective with its varied hardware parameters and its mapping; links to the plots.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import store
from .study import Study

__all__ = ["MAPPING_COLUMNS", "MAX_BACKGROUND_POINTS", "MAX_BREAKDOWN_BARS", "plot_names", "breakdown_columns",
           "write_report"]

#: Mapping columns shown with a design, when the model returns them.
MAPPING_COLUMNS: tuple[str, ...] = ("tp", "pp", "dp", "cp", "ep", "vpp", "micro_batch", "recompute", "zero_stage",
                                    "sequence_parallel")
MAX_BACKGROUND_POINTS = 20_000
MAX_BREAKDOWN_BARS = 12
_BREAKDOWN = re.compile(r"^(?!step_time_s$)[a-z0-9_]+_(time|exposed)_s$")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _pairs(study: Study) -> list[tuple[str, str]]:
    return list(itertools.combinations([o.column for o in study.objectives], 2))


def plot_names(study: Study) -> list[str]:
    """File names of the plots the report writes (next to report.md); known before running."""
    names = []
    for workload in study.workloads:
        names += [f"pareto_{_safe(workload)}_{a}__{b}.png" for a, b in _pairs(study)]
        names.append(f"breakdown_{_safe(workload)}.png")
    return names


def breakdown_columns(columns: Sequence[str]) -> list[str]:
    """Step-time breakdown columns among ``columns``: ``<part>_time_s`` (compute, recompute,
    bubble, optimizer) and ``<part>_exposed_s`` (exposed communication), not ``step_time_s``."""
    return [c for c in columns if _BREAKDOWN.match(c)]


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, (np.floating,)):
        return _fmt(float(value))
    return str(value)


def _figure(width_in: float = 6.4) -> tuple[Figure, object]:
    fig = Figure(figsize=(width_in, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _plot_pair(con: duckdb.DuckDBPyConnection, study: Study, workload: str, a: str, b: str, path: Path) -> None:
    fig, ax = _figure()
    background = con.execute(
        f'SELECT "{a}", "{b}" FROM evaluations WHERE study = ? AND workload = ? AND feasible '
        f"USING SAMPLE {MAX_BACKGROUND_POINTS} ROWS (reservoir, 0)", [study.name, workload]).fetchnumpy()
    front = con.execute(
        f'SELECT "{a}", "{b}" FROM pareto WHERE study = ? AND workload = ? AND rank = 0 ORDER BY "{a}"',
        [study.name, workload]).fetchnumpy()
    if len(background[a]):
        ax.scatter(background[a], background[b], s=4, c="0.75", label="feasible", rasterized=True)
        ax.scatter(front[a], front[b], s=14, c="tab:red", label="Pareto front (all objectives)")
        ax.legend(loc="best", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no feasible candidate", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    ax.set_title(f"{study.name} / {workload}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)


def _plot_breakdown(con: duckdb.DuckDBPyConnection, study: Study, workload: str, parts: list[str], path: Path) -> None:
    fig, ax = _figure(width_in=9.0)
    first = study.objectives[0]
    order = "DESC" if first.direction == "maximize" else "ASC"
    selected = "".join(f', e."{p}"' for p in parts)
    rows = con.execute(
        f"SELECT e.candidate_id{selected} FROM pareto p JOIN evaluations e "
        "USING (study, workload, candidate_id) WHERE p.study = ? AND p.workload = ? AND p.rank = 0 "
        f'ORDER BY p."{first.column}" {order}, p.candidate_id LIMIT {MAX_BREAKDOWN_BARS}',
        [study.name, workload]).fetchnumpy() if parts else {}
    if parts and len(rows["candidate_id"]):
        labels = [str(c) for c in rows["candidate_id"]]
        positions = np.arange(len(labels))
        bottom = np.zeros(len(labels))
        for part in parts:
            values = np.nan_to_num(np.asarray(rows[part], dtype=np.float64))
            ax.bar(positions, values, bottom=bottom, label=part)
            bottom += values
        ax.set_xticks(positions, labels)
        ax.set_ylabel("time per step, s")
        ax.set_xlabel(f"front members (best {first.column} first), candidate id")
        ax.tick_params(axis="x", labelrotation=60, labelsize=7)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    else:
        reason = "no front member" if parts else "the model returns no <part>_time_s breakdown columns"
        ax.text(0.5, 0.5, reason, ha="center", va="center", transform=ax.transAxes)
    ax.set_title(f"step-time breakdown, {study.name} / {workload}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)


def _best_rows(con: duckdb.DuckDBPyConnection, study: Study, workload: str, shown: list[str]) -> list[str]:
    lines = []
    select = ", ".join(f'"{c}"' for c in ["candidate_id", *shown])
    for objective in study.objectives:
        order = "DESC" if objective.direction == "maximize" else "ASC"
        row = con.execute(
            f'SELECT "{objective.column}", {select} FROM evaluations WHERE study = ? AND workload = ? AND feasible '
            f'AND "{objective.column}" IS NOT NULL AND NOT isnan("{objective.column}") '
            f'ORDER BY "{objective.column}" {order}, candidate_id LIMIT 1', [study.name, workload]).fetchone()
        if row is None:
            lines.append(f"| {objective.direction} {objective.column} | - | - | no feasible candidate |")
            continue
        details = ", ".join(f"{name}={_fmt(v)}" for name, v in zip(shown, row[2:]))
        lines.append(f"| {objective.direction} {objective.column} | {_fmt(row[0])} | `{row[1]}` | {details} |")
    return lines


def write_report(study: Study, db: str | Path, out: Path) -> list[Path]:
    """Write ``out`` (Markdown) and the plots of :func:`plot_names` next to it; return their paths."""
    out.parent.mkdir(parents=True, exist_ok=True)
    con = store.connect(db, read_only=True)
    try:
        columns = list(store.table_columns(con, "evaluations"))
        parts = breakdown_columns(columns)
        shown = [c for c in (*study.varied, *MAPPING_COLUMNS) if c in columns]
        run = con.execute("SELECT run_id, model_version, git_commit, timestamp_utc FROM runs WHERE study = ? "
                          "ORDER BY timestamp_utc DESC LIMIT 1", [study.name]).fetchone() \
            if store.table_exists(con, "runs") else None
        lines = [f"# archsweep report: {study.name}", ""]
        if study.description:
            lines += [study.description.strip(), ""]
        if run:
            lines += [f"Run `{run[0]}`, model version {run[1]}, commit {run[2] or 'n/a'}, collected {run[3]} UTC.", ""]
        objectives = ", ".join(f"{o.direction} `{o.column}`" for o in study.objectives)
        constraints = ", ".join(f"`{c.column}`" + (f" <= {c.max:g}" if c.max is not None else "")
                                + (f" >= {c.min:g}" if c.min is not None else "") for c in study.constraints)
        lines += [f"Objectives: {objectives}. Constraints: {constraints or 'none'} (plus the model's own).", "",
                  "## Summary", "", "| workload | candidates | feasible | on the Pareto front |", "|---|---:|---:|---:|"]
        for workload in study.workloads:
            total, feasible = con.execute(
                "SELECT count(*), count(*) FILTER (WHERE feasible) FROM evaluations WHERE study = ? AND workload = ?",
                [study.name, workload]).fetchone()
            front = con.execute("SELECT count(*) FROM pareto WHERE study = ? AND workload = ? AND rank = 0",
                                [study.name, workload]).fetchone()[0]
            lines.append(f"| {workload} | {total} | {feasible} | {front} |")
        written = [out]
        names = iter(plot_names(study))
        for workload in study.workloads:
            lines += ["", f"## {workload}", "", "Best feasible candidate per objective:", "",
                      "| objective | value | candidate | design and mapping |", "|---|---:|---|---|",
                      *_best_rows(con, study, workload, shown), "", "Plots:", ""]
            for a, b in _pairs(study):
                path = out.parent / next(names)
                _plot_pair(con, study, workload, a, b, path)
                lines.append(f"- [{b} vs {a}]({path.name})")
                written.append(path)
            path = out.parent / next(names)
            _plot_breakdown(con, study, workload, parts, path)
            lines.append(f"- [step-time breakdown of front members]({path.name})")
            written.append(path)
    finally:
        con.close()
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(out)
    return written
