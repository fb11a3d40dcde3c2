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

A study with a ``search`` section gets a search section (rows of table ``pareto`` with
``source = 'search'``, tables ``trials`` and ``hypervolume_history``): trials done and
feasible, the final hypervolume and its reference point, the front with the searched
parameters, and the plots ``search_pareto_<a>__<b>.png`` (all feasible trials and the front,
objectives combined over workloads as the sampler saw them) and ``search_hypervolume.png``
(hypervolume after each completed trial). A search-only study has no per-workload sections.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np

from archsweep.results import store
from archsweep.results.findings import front_findings
from archsweep.results.fronts import search_front_label, search_objectives
from archsweep.results.html_report import write_html_report
from archsweep.results.plots import (
    MAX_BACKGROUND_POINTS,
    MAX_BREAKDOWN_BARS,
    figure,
    no_data,
    plot_breakdown,
    plot_pair,
    plot_serving_curve,
    save_figure,
    sweep_only,
)
from archsweep.results.roadmap import roadmap_plot_names, roadmap_section
from archsweep.spec.columns import MAPPING_COLUMNS
from archsweep.spec.study import Study

if TYPE_CHECKING:
    pass

__all__ = ["MAPPING_COLUMNS", "MAX_BACKGROUND_POINTS", "MAX_BREAKDOWN_BARS", "MAX_FRONT_ROWS", "plot_names",
           "search_plot_names", "breakdown_columns", "search_summary", "SearchSummary", "write_report"]

#: Front members listed in the report's search section (best first objective first).
MAX_FRONT_ROWS = 50
_BREAKDOWN = re.compile(r"^(?!step_time_s$)[a-z0-9_]+_(time|exposed)_s$")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _pairs(study: Study) -> list[tuple[str, str]]:
    return list(itertools.combinations([o.column for o in study.objectives], 2))


def search_plot_names(study: Study) -> list[str]:
    """File names of the search section's plots (empty without a ``search`` section)."""
    if study.search is None:
        return []
    return [f"search_pareto_{a}__{b}.png" for a, b in _pairs(study)] + ["search_hypervolume.png"]


def plot_names(study: Study) -> list[str]:
    """File names of the plots the report writes (next to report.md); known before running."""
    names = []
    for workload in study.workloads if study.sampling_method is not None else ():
        names += [f"pareto_{_safe(workload)}_{a}__{b}.png" for a, b in _pairs(study)]
        names.append(f"breakdown_{_safe(workload)}.png")
        if study.serving_workload(workload) is not None:
            names.append(f"serving_curve_{_safe(workload)}.png")
    return names + roadmap_plot_names(study) + search_plot_names(study)


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


@dataclass(frozen=True)
class SearchSummary:
    """What a search did, read from the database (tables trials, hypervolume_history, pareto).

    Attributes:
        budget: the trial budget of the study's ``search`` section.
        trials: trials exported (counted: COMPLETE, or FAIL after evaluation).
        feasible: COMPLETE trials feasible on every workload.
        hypervolume: hypervolume after the last trial (minimised objectives; NaN if none).
        reference: the reference point, (objective column, value in its natural direction).
        front_columns: column names of ``front_rows``: candidate_id, trial_number, the
            objectives (combined over workloads), the searched parameters (SI).
        front_rows: the search's Pareto front (rank 0), best first objective first.
    """

    budget: int
    trials: int
    feasible: int
    hypervolume: float
    reference: tuple[tuple[str, float], ...]
    front_columns: tuple[str, ...]
    front_rows: tuple[tuple[object, ...], ...]


def search_summary(study: Study, con: duckdb.DuckDBPyConnection) -> SearchSummary:
    """Summarise the search of ``study`` from ``con`` (see :class:`SearchSummary`)."""

    objectives = [o.column for o in study.objectives]
    trials = search_objectives(study, con)
    hypervolume, reference = math.nan, tuple((c, math.nan) for c in objectives)
    if store.table_exists(con, "hypervolume_history"):
        refs = ", ".join(f'"reference_{c}"' for c in objectives)
        row = con.execute(f"SELECT hypervolume, {refs} FROM hypervolume_history WHERE study = ? "
                          "ORDER BY trial_number DESC LIMIT 1", [study.name]).fetchone()
        if row is not None:
            hypervolume, reference = float(row[0]), tuple(zip(objectives, map(float, row[1:])))
    params = list(getattr(study.search, "names", ()))
    columns = ("candidate_id", "trial_number", *objectives, *params)
    rows: list[tuple[object, ...]] = []
    if store.table_exists(con, "trials") and "source" in store.table_columns(con, "pareto"):
        first = study.objectives[0]
        order = "DESC" if first.direction == "maximize" else "ASC"
        selected = ", ".join([*(f'p."{c}"' for c in ("candidate_id", "trial_number", *objectives)),
                              *(f't."{c}"' for c in params)])
        rows = con.execute(
            f"SELECT {selected} FROM pareto p JOIN (SELECT * FROM trials WHERE study = ? "
            "QUALIFY row_number() OVER (PARTITION BY trial_number ORDER BY workload) = 1) t "
            "USING (study, trial_number) WHERE p.study = ? AND p.source = 'search' AND p.rank = 0 "
            f'ORDER BY p."{first.column}" {order}, p.candidate_id', [study.name, study.name]).fetchall()
    return SearchSummary(budget=int(getattr(study.search, "trials", 0)), trials=len(trials.trial_number),
                         feasible=int(trials.feasible.sum()), hypervolume=hypervolume, reference=reference,
                         front_columns=columns, front_rows=tuple(tuple(r) for r in rows))


def _plot_search_pair(study: Study, values: np.ndarray, feasible: np.ndarray, front: np.ndarray, a: int, b: int,
                      path: Path) -> None:
    fig, ax = figure()
    names = [o.column for o in study.objectives]
    if feasible.any():
        ax.scatter(values[feasible, a], values[feasible, b], s=8, c="0.7", label="feasible trials")
        order = np.argsort(values[front, a])
        ax.plot(values[front, a][order], values[front, b][order], "o", ms=4, c="tab:red",
                label="Pareto front (all objectives)")
        ax.legend(loc="best", fontsize=8)
    else:
        no_data(ax, "no feasible trial")
    combined = f" ({getattr(study.search, 'aggregate', 'mean')} over workloads)" if len(study.workloads) > 1 else ""
    save_figure(fig, ax, path, f"search {study.name} / {', '.join(study.workloads)}: trials{combined}",
                xlabel=names[a], ylabel=names[b])


def _plot_hypervolume(con: duckdb.DuckDBPyConnection, study: Study, path: Path) -> None:
    fig, ax = figure()
    data = con.execute("SELECT trial_number, hypervolume FROM hypervolume_history WHERE study = ? "
                       "ORDER BY trial_number", [study.name]).fetchnumpy() \
        if store.table_exists(con, "hypervolume_history") else {"trial_number": np.zeros(0)}
    if len(data["trial_number"]):
        ax.step(data["trial_number"], data["hypervolume"], where="post", c="tab:blue")
        ax.set_xlabel("trial number")
        ax.set_ylabel("hypervolume (minimised objectives, final reference point)")
    else:
        no_data(ax, "no completed trial")
    save_figure(fig, ax, path, f"search {study.name}: hypervolume after each trial")


def _search_section(con: duckdb.DuckDBPyConnection, study: Study, folder: Path) -> tuple[list[str], list[Path]]:
    """Markdown lines and plots of the search section."""

    spec = study.search
    if spec is None:
        return [], []
    summary = search_summary(study, con)
    reference = ", ".join(f"`{c}` = {_fmt(v)}" for c, v in summary.reference)
    lines = ["", "## Search", "",
             f"Optuna sampler `{spec.sampler.name}`, seed {spec.seed}, {spec.workers} worker(s), batches of "
             f"{spec.batch_size}; objectives combined over workloads: `{search_front_label(study)}`.", "",
             f"Trials done: {summary.trials} of {summary.budget}; feasible: {summary.feasible}; "
             f"on the Pareto front: {len(summary.front_rows)}.", "",
             f"Final hypervolume: {_fmt(summary.hypervolume)} (objectives minimised, maximised ones negated), "
             f"reference point: {reference}.", "",
             f"Pareto front of the search (best {study.objectives[0].column} first"
             + (f", first {MAX_FRONT_ROWS} shown" if len(summary.front_rows) > MAX_FRONT_ROWS else "") + "):", "",
             "| " + " | ".join(summary.front_columns) + " |",
             "|---|" + "---:|" * (len(summary.front_columns) - 1)]
    for row in summary.front_rows[:MAX_FRONT_ROWS]:
        lines.append("| " + " | ".join(f"`{v}`" if i == 0 else _fmt(v) for i, v in enumerate(row)) + " |")
    trials = search_objectives(study, con)
    front = np.isin(trials.trial_number, np.asarray([r[1] for r in summary.front_rows]))
    written = []
    names = iter(search_plot_names(study))
    index = {o.column: i for i, o in enumerate(study.objectives)}
    lines += ["", "Plots:", ""]
    for a, b in _pairs(study):
        path = folder / next(names)
        _plot_search_pair(study, trials.values, trials.feasible, front, index[a], index[b], path)
        lines.append(f"- [search: {b} vs {a}]({path.name})")
        written.append(path)
    path = folder / next(names)
    _plot_hypervolume(con, study, path)
    lines.append(f"- [search: hypervolume per trial]({path.name})")
    written.append(path)
    return lines, written


def _sweep_sections(con: duckdb.DuckDBPyConnection, study: Study, folder: Path) -> tuple[list[str], list[Path]]:
    """Markdown lines and plots of the sweep: the summary table and one section per workload."""
    columns = list(store.table_columns(con, "evaluations"))
    parts = breakdown_columns(columns)
    shown = [c for c in (*study.varied, *MAPPING_COLUMNS) if c in columns]
    lines = ["## Summary", "", "| workload | candidates | feasible | on the Pareto front |", "|---|---:|---:|---:|"]
    for workload in study.workloads:
        total, feasible = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE feasible) FROM evaluations WHERE study = ? AND workload = ?",
            [study.name, workload]).fetchone()  # type: ignore[misc]  # count(*) always returns a row
        front = con.execute(f"SELECT count(*) FROM pareto WHERE study = ? AND workload = ? AND rank = 0{sweep_only(con)}",
                            [study.name, workload]).fetchone()[0]  # type: ignore[index]
        lines.append(f"| {workload} | {total} | {feasible} | {front} |")
    written = []
    names = iter(plot_names(study))
    for workload in study.workloads:
        lines += ["", f"## {workload}", "", "Best feasible candidate per objective:", "",
                  "| objective | value | candidate | design and mapping |", "|---|---:|---|---|",
                  *_best_rows(con, study, workload, shown), "",
                  *front_findings(con, study, workload, parts), "Plots:", ""]
        for a, b in _pairs(study):
            path = folder / next(names)
            plot_pair(con, study, workload, a, b, path)
            lines.append(f"- [{b} vs {a}]({path.name})")
            written.append(path)
        path = folder / next(names)
        plot_breakdown(con, study, workload, parts, path)
        lines.append(f"- [step-time breakdown of front members]({path.name})")
        written.append(path)
        if study.serving_workload(workload) is not None:
            path = folder / next(names)
            plot_serving_curve(con, study, workload, path)
            lines.append(f"- [output tokens/s per accelerator vs tokens/s per user]({path.name})")
            written.append(path)
    roadmap_lines, plots = roadmap_section(con, study, columns, folder)
    return lines + roadmap_lines, written + plots


def write_report(study: Study, db: str | Path, out: Path) -> list[Path]:
    """Write ``out`` (Markdown) and the plots of :func:`plot_names` next to it; return their paths."""
    out.parent.mkdir(parents=True, exist_ok=True)
    con = store.connect(db, read_only=True)
    try:
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
        lines += [f"Objectives: {objectives}. Constraints: {constraints or 'none'} (plus the model's own).", ""]
        written = [out]
        if study.sampling_method is not None:
            sweep_lines, plots = _sweep_sections(con, study, out.parent)
            lines += sweep_lines
            written += plots
        if study.search is not None:
            search_lines, plots = _search_section(con, study, out.parent)
            lines += search_lines
            written += plots
        written.append(write_html_report(study, con, out.with_name("report.html")))
    finally:
        con.close()
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(out)
    return written
