"""The interactive report: ``results/<study>/report/report.html``, one self-contained file.

No network is needed to open it: the data (JSON) and the script (vanilla JavaScript drawing
SVG, :file:`html_report.js`) are inline, sensitivity charts are inline PNG. It shows:

- a Pareto scatter (any two objectives or output columns; hover a point: its design, mapping
  and step-time breakdown; filter by workload and scenario; front only);
- a parallel-coordinates view of the front (objectives and varied numeric parameters);
- step-time breakdown bars of the front (best first objective first);
- the sensitivity tornado charts and heatmaps (when ``archsweep sensitivity`` has run);
- the search history (hypervolume after each trial, when the study searched).

Rows: every front member and a sample of at most :data:`MAX_BACKGROUND_ROWS` other feasible rows
per workload, the first in ``hash(candidate_id)`` order (the plot stays responsive for large
sweeps; the sample does not depend on the table's physical row order).
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from archsweep.results import store
from archsweep.spec.columns import MAPPING_COLUMNS
from archsweep.spec.study import Study

__all__ = ["MAX_BACKGROUND_ROWS", "report_data", "write_html_report"]

MAX_BACKGROUND_ROWS = 2_000
_BREAKDOWN = re.compile(r"^(?!step_time_s$)[a-z0-9_]+_(time|exposed)_s$")  # as report.breakdown_columns

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>archsweep: {title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 1000px; }}
h2 {{ margin-top: 1.6em; border-bottom: 1px solid #ddd; }}
svg {{ background: #fcfcfc; border: 1px solid #eee; }}
#tip {{ position: absolute; display: none; background: #fff; border: 1px solid #888; padding: 6px;
        font-size: 12px; max-width: 480px; box-shadow: 2px 2px 6px #aaa; pointer-events: none; }}
.controls label {{ margin-right: 1em; font-size: 13px; }}
img {{ max-width: 48%; margin: 0.3em; border: 1px solid #eee; }}
</style></head>
<body>
<h1>archsweep report: {title}</h1>
<p>{description}</p>
<p>Objectives: {objectives}. Constraints: {constraints}. {counts}</p>
<div class="controls">
<label>workload <select id="workload"></select></label>
<label id="scenario-box">scenario <select id="scenario"></select></label>
<label>x <select id="xcol"></select></label><label>y <select id="ycol"></select></label>
<label><input type="checkbox" id="frontonly"> front only</label>
</div>
<h2>Pareto front</h2>
<p>Grey: feasible designs (a sample); coloured: the Pareto front over all objectives. Hover a point for its design,
mapping and step-time breakdown.</p>
<svg id="scatter" width="760" height="460"></svg>
<h2>Front in parallel coordinates</h2>
<p>One line per front member: objectives, then the varied parameters (each axis from its minimum, bottom, to maximum,
top).</p>
<svg id="parallel" width="960" height="380"></svg>
<h2>Step-time breakdown of the front</h2>
<svg id="breakdown" width="960" height="200"></svg>
{sensitivity}
{history}
<div id="tip"></div>
<script type="application/json" id="archsweep-data">{data}</script>
<script>{script}</script>
</body></html>
"""


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def _rows_query(con: duckdb.DuckDBPyConnection, study: Study, wanted: list[str]) -> tuple[str, list[object]]:
    """SQL and parameters of the page's rows: the ``wanted`` columns and ``front`` of every feasible
    front member and of the first :data:`MAX_BACKGROUND_ROWS` feasible rows per workload in
    ``hash(candidate_id)`` order, sorted by (workload, candidate_id).

    Bounded memory on 10M rows: the sample is one top-N per workload (a heap of N rows, not a window
    over every row), and the front and the sample are small hash-join build sides probed by one scan.
    """
    empty = "SELECT NULL::VARCHAR AS workload, NULL::VARCHAR AS candidate_id WHERE false"
    front, params = empty, []
    if store.table_exists(con, "pareto"):
        source = " AND source = 'sweep'" if "source" in store.table_columns(con, "pareto") else ""
        front, params = f"SELECT DISTINCT workload, candidate_id FROM pareto WHERE study = ? AND rank = 0{source}", [study.name]
    workloads = [w for (w,) in con.execute("SELECT DISTINCT workload FROM evaluations WHERE study = ? ORDER BY workload",
                                           [study.name]).fetchall()]
    sample = " UNION ALL ".join(
        "(SELECT workload, candidate_id FROM evaluations WHERE study = ? AND workload = ? AND feasible "
        f"ORDER BY hash(candidate_id), candidate_id LIMIT {MAX_BACKGROUND_ROWS})" for _ in workloads) or empty
    for workload in workloads:
        params += [study.name, workload]
    select = ", ".join(f'e."{c}"' for c in wanted)
    sql = (f"SELECT {select}, f.candidate_id IS NOT NULL AS front FROM evaluations e "
           f"LEFT JOIN ({front}) f ON f.workload = e.workload AND f.candidate_id = e.candidate_id "
           f"LEFT JOIN ({sample}) s ON s.workload = e.workload AND s.candidate_id = e.candidate_id "
           "WHERE e.study = ? AND e.feasible AND (f.candidate_id IS NOT NULL OR s.candidate_id IS NOT NULL) "
           "ORDER BY e.workload, e.candidate_id")
    return sql, [*params, study.name]


def report_data(study: Study, con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The JSON the page draws: objectives, workloads, scenarios, column lists and the rows (column-wise)."""
    columns = list(store.table_columns(con, "evaluations")) if store.table_exists(con, "evaluations") else []
    parts = [c for c in columns if _BREAKDOWN.match(c)]
    params = [c for c in study.varied if c in columns]
    mapping = [c for c in MAPPING_COLUMNS if c in columns]
    objectives = [o.column for o in study.objectives]
    scenario = ["scenario"] if "scenario" in columns else []
    wanted = list(dict.fromkeys(["candidate_id", "workload", *scenario, *objectives, *params, *mapping, *parts]))
    if not store.table_exists(con, "evaluations"):  # a search-only study: no sweep rows
        names, rows = ["front"], []
    else:
        relation = con.execute(*_rows_query(con, study, wanted))
        names = [d[0] for d in relation.description]
        rows = relation.fetchall()
    data = {name: [_clean(r[k]) for r in rows] for k, name in enumerate(names)}
    data["front"] = [1 if v else 0 for v in data["front"]]
    scenarios = sorted({s for s in data.get("scenario", []) if s is not None})
    history = []
    if store.table_exists(con, "hypervolume_history"):
        history = [[int(t), _clean(float(h))] for t, h in con.execute(
            "SELECT trial_number, hypervolume FROM hypervolume_history WHERE study = ? ORDER BY trial_number",
            [study.name]).fetchall()]
    return {"study": study.name, "objectives": [{"column": o.column, "direction": o.direction} for o in study.objectives],
            "workloads": list(study.workloads), "scenarios": scenarios, "params": params, "mapping": mapping,
            "parts": parts, "rows": data, "history": history}


def _sensitivity_section(folder: Path) -> str:
    images = sorted(folder.glob("tornado_*.png")) + sorted(folder.glob("heatmap_*.png")) if folder.is_dir() else []
    if not images:
        return ("<h2>Sensitivity</h2><p>Not computed: run <code>archsweep sensitivity STUDY</code>, then the report "
                "again.</p>")
    figures = "".join(f'<img alt="{html.escape(p.stem)}" title="{html.escape(p.stem)}" '
                      f'src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}">' for p in images)
    return ("<h2>Sensitivity</h2><p>Tornado: change of each output from the base design at each parameter's low and "
            "high setting (largest swing on top). Heatmaps: outputs over two parameters, the rest at the base "
            f"(numbers in <code>sensitivity/*.nc</code> and table <code>sensitivity</code>).</p>{figures}")


def write_html_report(study: Study, con: duckdb.DuckDBPyConnection, out: Path) -> Path:
    """Write ``out`` (report.html); sensitivity charts are read from ``out.parent.parent / 'sensitivity'``."""
    data = report_data(study, con)
    on_front = list(zip(data["rows"].get("workload", []), data["rows"]["front"], strict=True))
    counts = ", ".join(f"{w}: {sum(1 for k, f in on_front if k == w and f)} "
                       "on the front" for w in study.workloads)
    history = ('<h2>Search history</h2><p>Hypervolume after each completed trial.</p>'
               '<svg id="history" width="760" height="300"></svg>') if data["history"] else ""
    constraints = ", ".join(f"{c.column}" + (f" &le; {c.max:g}" if c.max is not None else "")
                            + (f" &ge; {c.min:g}" if c.min is not None else "") for c in study.constraints) or "none"
    page = _PAGE.format(
        title=html.escape(study.name), description=html.escape((study.description or "").strip()),
        objectives=", ".join(f"{o.direction} {o.column}" for o in study.objectives), constraints=constraints,
        counts=html.escape(counts), sensitivity=_sensitivity_section(out.parent.parent / "sensitivity"),
        history=history, data=json.dumps(data, separators=(",", ":")).replace("</", "<\\/"),
        script=resources.files("archsweep.results").joinpath("html_report.js").read_text("utf-8"))
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out
