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

Slow presets (s16-jobceiling). The same publication may have run the job faster with a job option the row's search
does not choose (the MoE token dispatcher, the CUDA-graph scope): then the rule above cannot say whether an exact
model would pass the row. What it can say: the bound's purpose is to catch a search that promises a job more than
it can do, and what the job can do is bounded below by its fastest measured run. A row above the bound whose
search-best prediction is AT OR BELOW the measured throughput of the fastest run of its job (same publication,
part, system, model, count, global batch, sequence, precision class and training mode; that run then more than
:data:`OPTIMISM_BOUND` x faster than the row) promises nothing the job has not done: a slow preset, reported and
left out like a superseded one. A row whose best exceeds every measured run of its job is never left out this way,
and the run that bounds it (the fastest of the job) stays in the figures, where its own best / measured judges the
model on that job. A row within the bound is not touched (it compares the search with the software the row states,
against a run of that software). Example: Qwen3-30B MXFP8 on 8 DGX-B200, 26.02 micro-batch 1 alltoall 9,691
tokens/s/GPU, best / measured 1.935 (the search's micro-batch 4, alltoall: it keeps the dispatcher); the 26.04.01
run of the job at micro-batch 4 with HybridEP and attention graphs 27,136 (x2.80): the search's best is 0.691 of it.
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
from archsweep.validation.cells import cell_text
from archsweep.validation.row_workload import row_training_mode
from archsweep.validation.sourced_groups import load_sourced_groups

__all__ = ["OPTIMISM_BOUND", "Supersession", "load_publications", "superseding_key", "superseded"]

#: The issue-10 bound on a row's best / measured (issue 10, point 4: "no row above 1.25").
OPTIMISM_BOUND = 1.25
#: Relative tolerance of "the model prices B's mapping the same on A's row as on B's".
_SAME_STEP_RTOL = 1e-6
_JOB_COLUMNS = ("model", "accelerator_canonical", "system", "num_accels", "global_batch_seqs", "seq_len")


@dataclass(frozen=True)
class Supersession:
    """A faster measured run of a row's job that leaves the row out of the optimism figures (module doc): a
    superseded preset (the same software) or a slow preset (``best_over_by`` set)."""

    #: The faster row of the same publication and job (the fastest run of the job, for a slow preset).
    by_run: str
    #: Its measured throughput / the row's (> :data:`OPTIMISM_BOUND`).
    factor: float
    #: None: the same software (the model prices ``by_run``'s mapping the same on both rows). Else a slow preset:
    #: ``by_run`` changed a job option the row's search does not choose, and this is the row's search-best
    #: throughput / ``by_run``'s measured one (<= 1).
    best_over_by: float | None = None

    @property
    def same_software(self) -> bool:
        """A superseded preset (the model prices ``by_run``'s mapping the same on both rows); False: a slow preset."""
        return self.best_over_by is None

    @property
    def note(self) -> str:
        """The optimism note's text for this supersession."""
        if self.best_over_by is None:
            return f"superseded by {self.by_run} ({self.factor:.2f}x measured, same job and software)"
        return (f"slow preset: {self.by_run} ran the job {self.factor:.2f}x faster (not with a mapping the row's "
                f"search can choose); the search's best is {self.best_over_by:.3f} of it")


def load_publications(path: str | Path | None = None) -> dict[str, str]:
    """``source`` text -> publication name, from data/validation/publications.yaml."""
    path = Path(path) if path is not None else data_dir() / "validation" / "publications.yaml"
    return load_sourced_groups(path, "publications", "sources", "a mapping of publication name -> {sources, source, locator}",
                               "source texts", "a source text in one publication only")


def superseding_key(row: Mapping[str, str], publications: Mapping[str, str]) -> tuple[str, ...] | None:
    """Rows with equal keys are the same job of one publication on one part and system (model, count, global batch,
    sequence, precision class, training mode and LoRA rank); None: precision not modelled."""
    precision = precision_class(row)
    if precision is None:
        return None
    source = cell_text(row, "source")
    mode, rank = row_training_mode(row)
    return (publications.get(source, source), *(cell_text(row, k).lower() for k in _JOB_COLUMNS), *precision, mode,
            str(rank))


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
    more than :data:`OPTIMISM_BOUND` x faster with a mapping its search can choose (the fastest such row), else,
    a slow preset: best / measured above :data:`OPTIMISM_BOUND`, the search-best throughput at or below the
    measured throughput of the fastest run of its job. ``same_stack(a_strategy, b_strategy)``: the two stated
    strategies keep the same stack keys (the search keeps the row's own)."""
    publications = load_publications()
    by_id = {cell_text(r, "run_id"): r for r in rows}
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
            if res.run_id not in out:
                bound = _slow_preset(res, fastest_first[0])
                if bound is not None:
                    out[res.run_id] = bound
    return out


def _slow_preset(res: Any, fastest: Any) -> Supersession | None:
    """A :class:`Supersession` with ``best_over_by`` where ``res``'s best / measured is above
    :data:`OPTIMISM_BOUND` and ``fastest`` (the fastest run of ``res``'s job) was measured at least as fast as
    ``res``'s search-best prediction (so more than :data:`OPTIMISM_BOUND` x faster than ``res``); else None (also
    where the best is not a number). A row within the bound stays: it compares the search with the software the row
    states, against a run of that software, the only such evidence there is."""
    factor = res.measured_step_s / fastest.measured_step_s
    best_over_by = fastest.measured_step_s * res.best_over_measured / res.measured_step_s
    if res.best_over_measured > OPTIMISM_BOUND and factor > OPTIMISM_BOUND and best_over_by <= 1.0:
        return Supersession(fastest.run_id, factor, best_over_by)
    return None
