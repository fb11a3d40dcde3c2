"""The report's matplotlib plots (Agg backend, no display): Pareto projections, the step-time
breakdown of front members, and the serving throughput vs per-user speed curve."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np

from archsweep.results import store
from archsweep.spec.study import Study

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["MAX_BACKGROUND_POINTS", "MAX_BREAKDOWN_BARS", "figure", "no_data", "save_figure", "sweep_only", "plot_pair",
           "plot_serving_curve", "serving_envelope", "plot_breakdown"]

#: Feasible candidates drawn behind the front in a projection plot: the first in ``hash(candidate_id)``
#: order (a top-N in bounded memory, a pseudo-random sample that does not depend on the table's
#: physical row order, which the collector does not preserve).
MAX_BACKGROUND_POINTS = 20_000
#: Front members shown in the step-time breakdown bars.
MAX_BREAKDOWN_BARS = 12


def figure(width_in: float = 6.4) -> tuple[Figure, Axes]:
    # matplotlib (~0.2 s to import) only here: the workflow imports this module at DAG time for plot_names.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def no_data(ax: Axes, reason: str) -> None:
    """Write ``reason`` (why there is nothing to draw) in the middle of an empty plot."""
    ax.text(0.5, 0.5, reason, ha="center", va="center", transform=ax.transAxes)


def save_figure(fig: Figure, ax: Axes, path: Path, title: str, *, xlabel: str | None = None,
                ylabel: str | None = None) -> None:
    """Label the axes (where given), title the plot (font size 10), lay it out and write it to ``path``
    (format by its suffix)."""
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)


def sweep_only(con: duckdb.DuckDBPyConnection, prefix: str = "") -> str:
    """SQL condition keeping the sweep's rows of ``pareto`` (tables made before searches had no ``source``)."""
    return f" AND {prefix}source = 'sweep'" if "source" in store.table_columns(con, "pareto") else ""


def plot_pair(con: duckdb.DuckDBPyConnection, study: Study, workload: str, a: str, b: str, path: Path) -> None:
    fig, ax = figure()
    background = con.execute(
        f'SELECT "{a}", "{b}" FROM evaluations WHERE study = ? AND workload = ? AND feasible '
        f"ORDER BY hash(candidate_id), candidate_id LIMIT {MAX_BACKGROUND_POINTS}", [study.name, workload]).fetchnumpy()
    front = con.execute(
        f'SELECT "{a}", "{b}" FROM pareto WHERE study = ? AND workload = ? AND rank = 0{sweep_only(con)} '
        f'ORDER BY "{a}"', [study.name, workload]).fetchnumpy()
    if len(background[a]):
        ax.scatter(background[a], background[b], s=4, c="0.75", label="feasible", rasterized=True)
        ax.scatter(front[a], front[b], s=14, c="tab:red", label="Pareto front (all objectives)")
        ax.legend(loc="best", fontsize=8)
    else:
        no_data(ax, "no feasible candidate")
    save_figure(fig, ax, path, f"{study.name} / {workload}", xlabel=a, ylabel=b)


def serving_envelope(con: duckdb.DuckDBPyConnection, study: str, workload: str) -> tuple[np.ndarray, np.ndarray]:
    """Upper-right envelope of the feasible (tokens/s per user, tokens/s per accelerator) points of
    ``evaluations``: the points that no other point matches or beats in both, sorted by per-user
    speed. Computed in DuckDB as a running maximum of throughput in descending per-user speed."""
    x_col, y_col = "tokens_per_s_per_user", "tokens_per_s_per_accelerator"
    env = con.execute(
        f'SELECT x, y FROM (SELECT "{x_col}" AS x, "{y_col}" AS y, max("{y_col}") OVER '
        f'(ORDER BY "{x_col}" DESC, "{y_col}" DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS above '
        f'FROM evaluations WHERE study = ? AND workload = ? AND feasible AND isfinite("{x_col}") '
        f'AND isfinite("{y_col}")) WHERE above IS NULL OR y > above ORDER BY x', [study, workload]).fetchnumpy()
    return np.asarray(env["x"], dtype=float), np.asarray(env["y"], dtype=float)


def plot_serving_curve(con: duckdb.DuckDBPyConnection, study: Study, workload: str, path: Path) -> None:
    """Output tokens/s per accelerator vs tokens/s per user (1 / TPOT) of the feasible candidates'
    best configurations (at most :data:`MAX_BACKGROUND_POINTS`, sampled as :func:`plot_pair` does),
    with the upper-right envelope of ALL feasible candidates (no other design is both faster per
    user and higher in throughput per accelerator) drawn as the curve of the best designs. The
    envelope is computed in DuckDB (a running maximum in descending per-user speed), so only its
    points reach Python."""
    fig, ax = figure()
    x_col, y_col = "tokens_per_s_per_user", "tokens_per_s_per_accelerator"
    where = f'study = ? AND workload = ? AND feasible AND isfinite("{x_col}") AND isfinite("{y_col}")'
    pts = con.execute(f'SELECT "{x_col}", "{y_col}" FROM evaluations WHERE {where} '
                      f"ORDER BY hash(candidate_id), candidate_id LIMIT {MAX_BACKGROUND_POINTS}",
                      [study.name, workload]).fetchnumpy()
    env_x, env_y = serving_envelope(con, study.name, workload)
    x, y = np.asarray(pts[x_col], dtype=float), np.asarray(pts[y_col], dtype=float)
    if x.size:
        ax.scatter(x, y, s=6, c="0.7", label="feasible designs (best configuration each)", rasterized=True)
        ax.plot(env_x, env_y, "-o", ms=4, c="tab:red", label="best designs (envelope)")
        ax.legend(loc="best", fontsize=8)
    else:
        no_data(ax, "no feasible candidate")
    save_figure(fig, ax, path, f"{study.name} / {workload}: throughput vs per-user speed",
                xlabel="tokens/s per user (1 / TPOT)", ylabel="output tokens/s per accelerator")


def plot_breakdown(con: duckdb.DuckDBPyConnection, study: Study, workload: str, parts: list[str], path: Path) -> None:
    fig, ax = figure(width_in=9.0)
    first = study.objectives[0]
    order = "DESC" if first.direction == "maximize" else "ASC"
    selected = "".join(f', e."{p}"' for p in parts)
    rows = con.execute(
        f"SELECT e.candidate_id{selected} FROM pareto p JOIN evaluations e "
        f"USING (study, workload, candidate_id) WHERE p.study = ? AND p.workload = ? AND p.rank = 0{sweep_only(con, 'p.')} "
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
        no_data(ax, reason)
    save_figure(fig, ax, path, f"step-time breakdown, {study.name} / {workload}")
