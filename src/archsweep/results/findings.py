"""What a sweep found, in a few sentences: which constraints bind, which designs win and why.

For each workload of a study, from tables ``evaluations`` and ``pareto`` (sweep rows):

- how many candidates each violation column rules out (the study's constraints and the
  model's own limits), so a reader sees which limits bind;
- the Pareto front's members grouped by their *bottleneck*: the largest part of their step
  time (compute, pipeline bubble, exposed TP/EP/DP communication, ...);
- what the front has in common: for each varied parameter, the values its members use;
- the winner of each objective with its bottleneck and the share of step time it takes.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import duckdb
import numpy as np

from archsweep.results import store
from archsweep.spec.study import Study

__all__ = ["PART_LABELS", "bottleneck", "front_findings"]

#: Step-time part column -> the words a reviewer uses for it.
PART_LABELS: dict[str, str] = {
    "compute_time_s": "compute", "recompute_time_s": "activation recompute", "bubble_time_s": "pipeline bubble",
    "tp_comm_exposed_s": "exposed tensor-parallel communication",
    "cp_comm_exposed_s": "exposed context-parallel communication",
    "ep_comm_exposed_s": "exposed expert-parallel (all-to-all) communication",
    "pp_comm_exposed_s": "exposed pipeline communication", "dp_comm_exposed_s": "exposed data-parallel communication",
    "optimizer_time_s": "optimizer step",
}


def bottleneck(parts: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Largest step-time part of every row and its share of the parts' sum.

    Args:
        parts: part column -> seconds per step (rows aligned; NaN counts as 0).

    Returns:
        (name of the largest part per row, its fraction of the summed parts in [0, 1]).
    """
    names = list(parts)
    values = np.nan_to_num(np.vstack([np.asarray(parts[n], dtype=np.float64) for n in names]))
    idx = np.argmax(values, axis=0)
    total = values.sum(axis=0)
    share = np.where(total > 0, values[idx, np.arange(values.shape[1])] / np.where(total > 0, total, 1.0), 0.0)
    return np.asarray(names, dtype=object)[idx], share


def _label(part: str) -> str:
    return PART_LABELS.get(part, part.removesuffix("_s").replace("_", " "))


def _fmt(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return "nan" if math.isnan(float(value)) else f"{float(value):.4g}"
    return str(value)


def _binding(con: duckdb.DuckDBPyConnection, study: Study, workload: str, columns: Sequence[str]) -> str:
    violations = [c for c in columns if c.startswith("violation_")]
    if not violations:
        return ""
    counts = con.execute("SELECT count(*), " + ", ".join(f'count(*) FILTER (WHERE "{c}" > 0)' for c in violations)
                         + " FROM evaluations WHERE study = ? AND workload = ?", [study.name, workload]).fetchone()
    if counts is None:
        return ""
    total, hits = counts[0], dict(zip(violations, counts[1:], strict=True))
    bound = [f"`{c.removeprefix('violation_')}` rules out {n} of {total}" for c, n in
             sorted(hits.items(), key=lambda kv: -kv[1]) if n]
    idle = [f"`{c.removeprefix('violation_')}`" for c, n in hits.items() if not n]
    text = "Binding limits: " + ("; ".join(bound) if bound else "none") + "."
    return text + (f" Never binding: {', '.join(idle)}." if idle else "")


def front_findings(con: duckdb.DuckDBPyConnection, study: Study, workload: str, parts: Sequence[str]) -> list[str]:
    """Markdown lines saying which limits bind, which designs win on ``workload`` and why."""
    columns = list(store.table_columns(con, "evaluations"))
    binding = _binding(con, study, workload, columns)
    lines = ["### Findings", "", *([binding, ""] if binding else [])]
    source = " AND p.source = 'sweep'" if "source" in store.table_columns(con, "pareto") else ""
    varied = [c for c in study.varied if c in columns]
    objectives = [o.column for o in study.objectives]
    select = ", ".join(f'e."{c}"' for c in dict.fromkeys(["candidate_id", *parts, *varied, *objectives]))
    front = con.execute(f"SELECT {select} FROM pareto p JOIN evaluations e USING (study, workload, candidate_id) "
                        f"WHERE p.study = ? AND p.workload = ? AND p.rank = 0{source} ORDER BY e.candidate_id",
                        [study.name, workload]).fetchnumpy()
    n = len(front["candidate_id"]) if front else 0
    if n == 0 or not parts:
        return [*lines, "", "No feasible candidate: no front to explain." if n == 0 else
                "The model returns no step-time breakdown.", ""]
    names, share = bottleneck({p: front[p] for p in parts})
    groups = Counter(names.tolist())
    by = "; ".join(f"{_label(p)} in {k} (median share {np.median(share[names == p]):.0%})"
                   for p, k in groups.most_common())
    lines += [f"The front has {n} design(s). Largest step-time part: {by}."]
    common = []
    for name in varied:
        tally = Counter(_fmt(v) for v in front[name].tolist())
        if len(tally) == 1:
            common.append(f"`{name}` = {next(iter(tally))} (all)")
        else:
            top, k = tally.most_common(1)[0]
            if k / n >= 0.75:
                common.append(f"`{name}` = {top} ({k} of {n})")
    if common:
        lines.append("Shared by the front: " + ", ".join(common) + ".")
    for objective in study.objectives:
        values = np.asarray(front[objective.column], dtype=np.float64)
        # rows in candidate_id order: a tie goes to the lowest id, as in the report's best-candidate table
        i = int(np.nanargmax(values) if objective.direction == "maximize" else np.nanargmin(values))
        design = ", ".join(f"{c}={_fmt(front[c][i])}" for c in varied)
        lines.append(f"- best `{objective.column}` = {_fmt(values[i])}: `{front['candidate_id'][i]}` ({design}); "
                     f"bottleneck: {_label(names[i])}, {share[i]:.0%} of the step.")
    return [*lines, ""]
