"""Same-silicon ceiling of the search-optimism report (issue 10 point 4, "no free lunch").

A row's best / measured above 1.25 is either a hole in the model (the search exploits an effect
the model gets wrong) or a real faster mapping that the published preset did not use. The second
shows where the SAME source measured the same job faster on a part with the same GPU die
(data/validation/die_families.yaml: B200 / GB200, B300 / GB300, H100 / H200), e.g. Megatron-Bridge
25.11 Qwen3-30B-A3B: DGX-B200 9,299 tokens/s/GPU (micro-batch 1, alltoall) and DGX-GB200 23,766
(micro-batch 4, hybridep), same count, batch and sequence.

For a row A and the fastest measured row B of the same source group and model, with the same
accelerator count, global batch, sequence length and precision class (precision and low-precision
recipe) on a part of A's die family (A's own part included):

    ceiling_A = measured_B x step_model(B's mapping on B's part) / step_model(B's mapping on A's part)

so the clock, power-cap and HBM differences between the two parts are the model's (the catalog
entries), not assumed away; a B whose mapping does not fit A's HBM in the model gives no ceiling
(the next fastest row is tried). The report adds best / max(measured, ceiling) beside best /
measured; the headline issue-10 criterion stays best / measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.paths import data_dir
from archsweep.spec.errors import ArchsweepError
from archsweep.validation.cells import cell_text
from archsweep.validation.precision import precision_of, recipe_of
from archsweep.validation.rows import calibration_stack, row_calibration
from archsweep.validation.run import evaluate_plan, plan_row
from archsweep.validation.sourced_groups import load_sourced_groups
from archsweep.validation.types import Skip

__all__ = ["Ceiling", "load_die_families", "peer_key", "precision_class", "same_silicon_ceiling", "with_ceilings"]

#: Columns of a row that the peer rows must share (besides the die family and precision class).
_PEER_COLUMNS = ("source_group", "model", "num_accels", "global_batch_seqs", "seq_len")


@dataclass(frozen=True)
class Ceiling:
    over_measured: float  # ceiling throughput / the row's measured throughput (1.0: the row itself)
    from_run: str         # the faster row the ceiling comes from ("" when none)
    part_ratio: float     # step_model(B's mapping on B's part) / step_model(same on A's part)


def load_die_families(path: str | Path | None = None) -> dict[str, str]:
    """Catalog part name -> die family name, from data/validation/die_families.yaml."""
    path = Path(path) if path is not None else data_dir() / "validation" / "die_families.yaml"
    return load_sourced_groups(path, "families", "members", "a mapping of family name -> {members, source, locator}",
                               "catalog part names", "a part in one family only")


def _part(row: Mapping[str, str]) -> str:
    return cell_text(row, "accelerator_canonical") or cell_text(row, "accelerator")


def precision_class(row: Mapping[str, str]) -> tuple[str, str] | None:
    """(precision class, scaling recipe or "") of a row as the model runs it (:func:`precision_of`,
    :func:`recipe_of`): one recipe under two names (FP8-MX / MXFP8) is one class, a stack's per-tensor FP8 default
    is its recipe; None: precision not modelled."""
    try:
        dtype = precision_of(row)
        return (dtype, recipe_of(row) if dtype == "fp8" else "")
    except Skip:
        return None


def peer_key(row: Mapping[str, str], families: Mapping[str, str]) -> tuple[str, ...] | None:
    """Rows with equal keys are the same job on the same silicon; None: precision not modelled."""
    precision = precision_class(row)
    if precision is None:
        return None
    part = _part(row)
    return (*(str(row.get(k, "")).strip().lower() for k in _PEER_COLUMNS), *precision, families.get(part, part))


def row_evaluation(row: Mapping[str, str], strategy: str, catalog: Any, tech: Any,
                   cache: dict) -> dict[str, np.ndarray] | None:
    """The model's evaluation of ``row``'s job, software and part (its plan and its stack's calibration, as
    ``validate`` reads them) with ``strategy``; None where the row cannot be planned or evaluated. Shared by the
    ceiling here and the superseded presets (validation/superseded.py)."""
    try:
        plan = plan_row(row, catalog)
        cal = row_calibration(row, load_calibration(stack=calibration_stack(row)), plan.workload.architecture)
        return evaluate_plan(plan, strategy, cache, tech, cal)
    except (Skip, ArchsweepError, ValueError, ArithmeticError, KeyError):
        return None


def _step_on(row: Mapping[str, str], strategy: str, part_row: Mapping[str, str], catalog: Any, tech: Any,
             cache: dict) -> float:
    """Modelled step time of ``row``'s job and ``strategy`` on ``part_row``'s part; NaN if it does not fit."""
    moved = dict(row)
    for key in ("accelerator_canonical", "accelerator", "system"):
        moved[key] = str(part_row.get(key, ""))
    r = row_evaluation(moved, strategy, catalog, tech, cache)
    if r is None or not bool(np.ravel(r["mapping_found"])[0]) or float(np.ravel(r["violation_memory"])[0]) > 0:
        return math.nan
    return float(np.ravel(r["step_time_s"])[0])


def same_silicon_ceiling(row: Mapping[str, str], measured_step_s: float,
                         peers: Sequence[tuple[Mapping[str, str], str, float]],
                         catalog: Any, tech: Any, cache: dict) -> Ceiling:
    """The ceiling of ``row`` (measured step ``measured_step_s``) from ``peers``: (row, its stated
    mapping as a strategy string, its measured step time), the row itself left out by the caller.
    The fastest peer whose mapping fits ``row``'s part in the model sets it; none faster: 1.0."""
    for peer, strategy, peer_step in sorted(peers, key=lambda p: p[2]):
        if not peer_step < measured_step_s:
            break
        own = _step_on(peer, strategy, peer, catalog, tech, cache)
        moved = own if _part(peer) == _part(row) else _step_on(peer, strategy, row, catalog, tech, cache)
        if not (math.isfinite(own) and math.isfinite(moved) and moved > 0):
            continue
        ratio = own / moved
        return Ceiling(measured_step_s / (peer_step / ratio), cell_text(peer, "run_id"), ratio)
    return Ceiling(1.0, "", math.nan)


def with_ceilings(results: Sequence[Any], rows: Sequence[Mapping[str, str]], catalog: Any, tech: Any,
                  cache: dict) -> list[Any]:
    """``results`` (OptimismRow) with ``ceiling`` set from the other results' rows."""
    families = load_die_families()
    by_id = {cell_text(r, "run_id"): r for r in rows}
    keyed = [(res, by_id[res.run_id], peer_key(by_id[res.run_id], families)) for res in results if res.run_id in by_id]
    groups: dict[tuple[str, ...], list[tuple[Any, Mapping[str, str]]]] = {}
    for res, row, key in keyed:
        if key is not None and res.given_strategy:
            groups.setdefault(key, []).append((res, row))
    out = []
    for res, row, key in keyed:
        peers = [(prow, pres.given_strategy, pres.measured_step_s) for pres, prow in groups.get(key, [])
                 if pres.run_id != res.run_id] if key is not None else []
        out.append(replace(res, ceiling=same_silicon_ceiling(row, res.measured_step_s, peers, catalog, tech, cache)))
    return out + [res for res in results if res.run_id not in by_id]
