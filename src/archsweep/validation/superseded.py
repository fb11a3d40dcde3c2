"""Superseded presets in the search-optimism report (issue 10, "no free lunch"; s14-epdgx).

The issue-10 bound (no row's best / measured above :data:`OPTIMISM_BOUND`) says a row above it points at a hole
in the model that the mapping search exploits. That inference fails for a row A when the same publication
measured the same job B more than :data:`OPTIMISM_BOUND` x faster with a mapping A's own search can choose (same
part, system, model, count, global batch, sequence, precision class; a mapping B states that the model prices
the same on A's row as on B's, i.e. the model sees no software difference between the two rows): a model that
priced both runs exactly would find best_A >= measured_B > 1.25 x measured_A. Such a row is a superseded
preset, not an expert-tuned reference; like a published baseline (:attr:`OptimismRow.baseline_of`, the same
source reporting the job faster) it is reported and left out of the optimism figures.

Example (Megatron-Bridge performance tables, docs/performance-summary-archive.md @067f987df): GPT-OSS 120B BF16
on 64 DGX-B300, 26.02 EP 64 (the expert all-to-all over the 8 nodes' scale-out) 8,359 tokens/s/GPU, 26.02.01
EP 8 (inside the NVLink node), every other column the same, 15,031: the search's EP 8 move is the vendor's own.

A publication is a set of ``source`` texts (data/validation/publications.yaml); a text in no entry is its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from archsweep.load.paths import data_dir
from archsweep.validation.ceiling import precision_class, row_evaluation
from archsweep.validation.cells import _text
from archsweep.validation.sourced_groups import load_sourced_groups

__all__ = ["OPTIMISM_BOUND", "Supersession", "load_publications", "superseding_key", "superseded"]

#: The issue-10 bound on a row's best / measured (issue 10, point 4: "no row above 1.25").
OPTIMISM_BOUND = 1.25
#: Relative tolerance of "the model prices B's mapping the same on A's row as on B's".
_SAME_STEP_RTOL = 1e-6
_JOB_COLUMNS = ("model", "accelerator_canonical", "system", "num_accels", "global_batch_seqs", "seq_len")


@dataclass(frozen=True)
class Supersession:
    by_run: str    # the faster row of the same publication and job
    factor: float  # its measured throughput / the row's (> OPTIMISM_BOUND)


def load_publications(path: str | Path | None = None) -> dict[str, str]:
    """``source`` text -> publication name, from data/validation/publications.yaml."""
    path = Path(path) if path is not None else data_dir() / "validation" / "publications.yaml"
    return load_sourced_groups(path, "publications", "sources", "a mapping of publication name -> {sources, source, locator}",
                               "source texts", "a source text in one publication only")


def superseding_key(row: Mapping[str, str], publications: Mapping[str, str]) -> tuple[str, ...] | None:
    """Rows with equal keys are the same job of one publication on one part and system; None: precision not
    modelled."""
    precision = precision_class(row)
    if precision is None:
        return None
    source = _text(row, "source")
    return (publications.get(source, source), *(_text(row, k).lower() for k in _JOB_COLUMNS), *precision)


def _step_s(row: Mapping[str, str], strategy: str, catalog: Any, tech: Any, cache: dict) -> float:
    """Modelled step time (s) of ``row``'s job, software and part with ``strategy``; NaN where the model has no
    mapping for it (``violation_mapping``). HBM is not checked: B ran, so a model that prices it exactly fits it."""
    r = row_evaluation(row, strategy, catalog, tech, cache)
    if r is None:
        return math.nan
    return float(np.ravel(r["step_time_s"])[0]) if float(np.ravel(r["violation_mapping"])[0]) <= 0 else math.nan


def _same_software(a: Mapping[str, str], b: Mapping[str, str], b_strategy: str, catalog: Any, tech: Any,
                   cache: dict) -> bool:
    """The model prices B's stated mapping the same on A's row (A's software) as on B's row."""
    on_b = _step_s(b, b_strategy, catalog, tech, cache)
    on_a = _step_s(a, b_strategy, catalog, tech, cache)
    return math.isfinite(on_a) and math.isfinite(on_b) and math.isclose(on_a, on_b, rel_tol=_SAME_STEP_RTOL)


def superseded(results: Sequence[Any], rows: Sequence[Mapping[str, str]], catalog: Any, tech: Any, cache: dict,
               same_stack: Callable[[str, str], bool]) -> dict[str, Supersession]:
    """run_id -> :class:`Supersession` for every result (OptimismRow) whose job the same publication measured
    more than :data:`OPTIMISM_BOUND` x faster with a mapping its search can choose: the fastest such row.
    ``same_stack(a_strategy, b_strategy)``: the two stated strategies keep the same stack keys (the search keeps
    the row's own)."""
    publications = load_publications()
    by_id = {_text(r, "run_id"): r for r in rows}
    groups: dict[tuple[str, ...], list[Any]] = {}
    for res in results:
        row = by_id.get(res.run_id)
        key = superseding_key(row, publications) if row is not None and res.given_strategy else None
        if key is not None and math.isfinite(res.measured_step_s):
            groups.setdefault(key, []).append(res)
    out: dict[str, Supersession] = {}
    for members in groups.values():
        fastest_first = sorted(members, key=lambda r: r.measured_step_s)
        for res in fastest_first:
            for other in fastest_first:
                factor = res.measured_step_s / other.measured_step_s
                if not factor > OPTIMISM_BOUND:
                    break
                if same_stack(res.given_strategy, other.given_strategy) and _same_software(
                        by_id[res.run_id], by_id[other.run_id], other.given_strategy, catalog, tech, cache):
                    out[res.run_id] = Supersession(other.run_id, factor)
                    break
    return out
