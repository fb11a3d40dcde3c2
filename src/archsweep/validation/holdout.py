"""Held-out validation (issue 10, item 3): refit the fitted constants without one source group and
judge the model on that group.

The fitted constants of ``data/calibration/software_stacks.yaml`` (``source: "fit"``) and the rows
each was fitted on are listed in :data:`FITTED`. Holding out group G refits each constant on the
rows of its fit set outside G (the same 1-D grid, MAPE-minimising; a constant whose fit set has no
row of G keeps its fitted value); where no row remains it takes
its unfitted default (``data/calibration/model.yaml`` for a constant that file has, else the
stack-free default of :class:`~archsweep.spec.calibration.Calibration`). Then G's rows are
validated with those calibrations. ``archsweep validate --measurements F --hold-out G``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from archsweep.load.calibration import held_out_lower_bounds, held_out_priors, load_base_calibration, load_calibration
from archsweep.load.catalog import load_catalog
from archsweep.spec.calibration import Calibration
from archsweep.spec.errors import ArchsweepError, InputError
from archsweep.validation.cells import cell_text, read_measurements
from archsweep.validation.rows import calibration_stack
from archsweep.validation.run import plan_row, validate_rows
from archsweep.validation.types import RowResult, Skip

__all__ = ["FITTED", "FORWARD_TEST_GROUPS", "FittedConstant", "fit_grid", "fit_set", "held_out_calibrations",
           "validate_file", "validate_held_out"]

#: Source groups published after every fit and never fitted on (forward tests): no fit set takes their rows,
#: whatever a constant's selector says. ``mbridge-forward``: the Megatron-Bridge performance tables of NeMo
#: 26.02.01 .. 26.06.01 (data/validation/derive/mbridge_archive_rows.py). Four of its rows are not blind: DGX B300's
#: catalog ``scaleout_achieved_share`` (s10-gptoss, s10-m1) was derived from the 26.02.01 DGX-B300 / DGX-B200 GPT-OSS 120B
#: BF16 rows and checked on the 26.02.01 / 26.04 / 26.04.01 DGX-B300 ones (run ids in data/validation/SOURCE.md;
#: group MAPE 11.75 % with them, 11.83 % without, docs/model-accuracy.md s10-m2).
#: ``mlperf-forward``: MLPerf Training v5.0 and v5.1 llama2_70b_lora results of the NeMo-based submissions other than
#: the two NVIDIA v5.0 rows the ``mlperf`` group holds (data/validation/derive/mlperf_forward_rows.py) and their
#: llama31_405b results (mlperf_llama31_405b_rows.py; s18-D, v5.1 s19-I).
FORWARD_TEST_GROUPS: frozenset[str] = frozenset({"mbridge-forward", "mlperf-forward"})


def _is_moe(row: Mapping[str, str]) -> bool:
    try:
        return plan_row(row, load_catalog()).workload.moe is not None
    except (Skip, ArchsweepError):
        return False


@dataclass(frozen=True)
class FittedConstant:
    """One fitted constant of a software stack: its grid and the rows it was fitted on."""

    stack: str
    name: str
    grid: tuple[float, ...]
    fit_rows: str  # what the fit set is, in words (as the YAML's locator says)
    selects: Callable[[Mapping[str, str]], bool]


def _mlperf_lora_tp_overlap_cp1(row: Mapping[str, str]) -> bool:
    """MLPerf llama2_70b_lora rows stating TP communication overlap on, at TP > 1 and CP 1."""
    return (cell_text(row, "source_group") == "mlperf" and cell_text(row, "run_id").endswith("llama2_70b_lora")
            and cell_text(row, "tp_comm_overlap") == "yes" and (cell_text(row, "cp") or "1") == "1"
            and int(cell_text(row, "tp") or "1") > 1)


def _mlperf_lora_tp_overlap_fit(row: Mapping[str, str]) -> bool:
    """The rows ``tp_overlap_residual`` is fitted on: MLPerf llama2_70b_lora rows stating TP overlap on at TP > 1
    whose layers issue no eager host time on the critical path: CP 1 (a layer's GPU time hides it, s6-graphs) or
    per-layer CUDA graphs stated (``layer_cuda_graphs`` yes: the v4.1 TP4 CP2 configs). The eager v4.0 TP4 CP2
    rows stay out (their ~1.2-1.5 ms per layer of host issue, s13-lora)."""
    graphed_overlap = (cell_text(row, "source_group") == "mlperf"
                       and cell_text(row, "run_id").endswith("llama2_70b_lora")
                       and cell_text(row, "tp_comm_overlap") == "yes" and cell_text(row, "layer_cuda_graphs") == "yes"
                       and int(cell_text(row, "tp") or "1") > 1)
    return _mlperf_lora_tp_overlap_cp1(row) or graphed_overlap


#: Per-token host grid, s per token: 0, 0.25, 0.5, 0.75, 1 ms per 4096 tokens.
_PER_TOKEN_GRID = tuple(k * 0.25e-3 / 4096 for k in range(5))

FITTED: tuple[FittedConstant, ...] = (
    FittedConstant("pytorch-fsdp", "elementwise_traffic_multiplier", (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0),
                   "rows of the pytorch-fsdp stack (MosaicML llm-foundry)", lambda r: True),
    # Fitted on llm-foundry's micro-batch sweep, six runs outside training_runs.csv from the same source
    # as the mpt group: held out with that group (then its measured prior, held_out_priors.yaml).
    FittedConstant("pytorch-fsdp", "overlap_interference", (0.7,),
                   "llm-foundry's micro-batch sweep (data/validation/llm_foundry_microbatch_sweep.csv; source group mpt)",
                   lambda r: cell_text(r, "source_group") == "mpt"),
    # Host-time grids: 0 .. 14 ms by 1 ms (alltoall) and 0 .. 6 ms by 0.5 ms (flex); s13-refit refined both, the
    # flex fits differing by tenths of a MAPE point between 1 ms steps (docs/model-accuracy.md s13-refit).
    FittedConstant("megatron-core", "moe_layer_host_overhead_s", tuple(round(k * 0.5e-3, 4) for k in range(29)),
                   "MoE rows of the megatron-core stack (alltoall token dispatcher)", _is_moe),
    FittedConstant("megatron-core-flex", "moe_layer_host_overhead_s", tuple(round(k * 0.5e-3, 4) for k in range(13)),
                   "MoE rows of the megatron-core-flex stack (DeepEP / HybridEP dispatcher)", _is_moe),
    # The per-token part of the affine host form (s15-moehost): 0 .. 1 ms per 4096 local tokens by 0.25, after the
    # per-call part above (a held-out refit goes constant by constant in this order).
    FittedConstant("megatron-core", "moe_host_s_per_token", _PER_TOKEN_GRID,
                   "MoE rows of the megatron-core stack (alltoall token dispatcher)", _is_moe),
    FittedConstant("megatron-core-flex", "moe_host_s_per_token", _PER_TOKEN_GRID,
                   "MoE rows of the megatron-core-flex stack (DeepEP / HybridEP dispatcher)", _is_moe),
    FittedConstant("megatron-core", "tp_overlap_residual", (0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
                   "MLPerf llama2_70b_lora rows with tp_comm_overlap yes at TP > 1, CP 1 or layer_cuda_graphs yes",
                   _mlperf_lora_tp_overlap_fit),
    # Bounded, not MAPE-fitted (feasibility only: no validated figure depends on it): the row that
    # gives the lower bound; the upper bound is SC21 Fig. 17, not a row. Held out with its group.
    FittedConstant("megatron-2021", "hbm_usable_fraction", (0.78,),
                   "korthikanti_1000B_seqsel (its stated mapping must fit)",
                   lambda r: cell_text(r, "run_id") == "korthikanti_1000B_seqsel"),
)


def _default(stack: str, name: str) -> float:
    """The value of ``stack``'s constant ``name`` with no fit: its sourced prior, else the unfitted default."""
    prior = held_out_priors().get((stack, name))
    if prior is not None:
        return prior
    base = load_base_calibration()
    value = getattr(base, name)
    defaults = {f.name: f.default for f in fields(Calibration)}
    stack_default = defaults.get(name)
    # Stack-only constants keep the dataclass default in the base (model.yaml does not set them).
    return float(value if stack_default is None or not isinstance(stack_default, float) else stack_default)


def _candidates(const: FittedConstant) -> tuple[float, ...]:
    """The values a held-out refit of ``const`` tries: its grid, or, where its prior is a sourced
    lower bound, that bound and the grid values above it."""
    if (const.stack, const.name) not in held_out_lower_bounds():
        return const.grid
    bound = held_out_priors()[(const.stack, const.name)]
    return (bound, *(v for v in const.grid if v > bound))


def _with(cal: Calibration, name: str, value: float) -> Calibration:
    """``cal`` with the constant ``name`` set to ``value``."""
    changes: dict[str, Any] = {name: value}
    return replace(cal, **changes)


def _mape(rows: Sequence[Mapping[str, str]], cal: Calibration) -> float:
    results = validate_rows(rows, calibration=cal)
    errors = [abs(r.error_pct) for r in results if r.status == "ok"]
    return float(np.mean(errors)) if errors else float("inf")


def fit_set(rows: Iterable[Mapping[str, str]], const: FittedConstant) -> list[Mapping[str, str]]:
    """The rows ``const`` is fitted on: its stack's rows its selector takes, outside :data:`FORWARD_TEST_GROUPS`."""
    return [r for r in rows if calibration_stack(r) == const.stack and const.selects(r)
            and cell_text(r, "source_group") not in FORWARD_TEST_GROUPS]


def fit_grid(rows: Iterable[Mapping[str, str]], const: FittedConstant) -> dict[float, float]:
    """MAPE (%) of ``const``'s fit set at each value of its grid, every other constant as loaded: the in-sample
    fit that data/calibration/*.yaml locators quote (``benchmarks/refit_grid.py``)."""
    cal = load_calibration(stack=const.stack)
    fit = fit_set(rows, const)
    return {v: _mape(fit, _with(cal, const.name, v)) for v in const.grid}


def held_out_calibrations(rows: Iterable[Mapping[str, str]], group: str) -> dict[str, Calibration]:
    """Calibration per stack with every fitted constant refit without ``group`` (see module doc)."""
    rows = list(rows)
    out: dict[str, Calibration] = {}
    for stack in sorted({c.stack for c in FITTED}):
        cal = load_calibration(stack=stack)
        for const in (c for c in FITTED if c.stack == stack):
            full = fit_set(rows, const)
            fit = [r for r in full if cell_text(r, "source_group") != group]
            if len(fit) == len(full):
                continue  # the group took no part in this fit: the fitted value stands
            if not fit:
                cal = _with(cal, const.name, _default(stack, const.name))
                continue
            best = min(_candidates(const), key=lambda v, c=cal, n=const.name: _mape(fit, _with(c, n, v)))  # type: ignore[misc]
            cal = _with(cal, const.name, best)
        out[stack] = cal
    return out


def validate_held_out(rows: Iterable[Mapping[str, str]], group: str) -> list[RowResult]:
    """Results of ``group``'s rows with the constants refit without them."""
    rows = list(rows)
    cals = held_out_calibrations(rows, group)
    judged = [r for r in rows if cell_text(r, "source_group") == group]
    results: list[RowResult] = []
    for row in judged:
        stack = calibration_stack(row)
        cal = cals.get(stack, load_calibration(stack=stack))
        results.extend(validate_rows([row], calibration=cal))
    return results


def validate_file(path: Path | str, *, hold_out: str | None = None) -> list[RowResult]:
    """Every row of ``path`` (:func:`~archsweep.validation.run.validate_rows`), or with ``hold_out``
    only that source group's rows, the fitted constants refit without them."""
    rows = read_measurements(path)
    if hold_out is None:
        return validate_rows(rows)
    groups = sorted({cell_text(r, "source_group") for r in rows} - {""})
    if hold_out not in groups:
        raise InputError("<command line>", "--hold-out", hold_out,
                         f"a source_group of {path}: " + (", ".join(groups) if groups else "none (no source_group column)"))
    return validate_held_out(rows, hold_out)
