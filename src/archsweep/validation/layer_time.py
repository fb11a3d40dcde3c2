"""Forward / backward time of ONE transformer layer for one micro-batch (metric ``layer_time_s``).

Korthikanti et al., MLSys 2023 / arXiv:2205.05198, Table 4 times one layer of the 22B model
(Table 3: TP 8, PP 1, 8 A100, micro-batch 4, sequence 2048) forward and backward, where the
backward includes the recomputation of that layer, for five schedules (baseline, sequence
parallelism, full recomputation, selective recomputation, selective + sequence parallelism). The
rows carry the two figures as ``layer_fwd_time_s`` / ``layer_bwd_time_s``
(data/validation/derive/megatron_rows.py); the compared metric is their sum (the table's
"combined" column), the forward and backward errors are in the row's notes.

The prediction is the step model's own per-layer terms for the row's mapping, at the clock the
step ran at (:func:`archsweep.model.transformer.layer_costs`,
:func:`archsweep.model.training.communication.tensor_parallel`), combined as
:func:`archsweep.model.training.step.training_step` combines them per layer:

    forward  = t_layer_f + 2 x TP collective                    (2 all-reduces, or AG + RS with SP)
    backward = t_layer_b + 2 x TP collective + recompute
    recompute: full = t_layer_f + 2 x TP collective; selective = the attention core's forward
               (without flash attention); none = 0

with the TP collectives scaled by ``tp_overlap_residual`` where the mapping overlaps them.
tests/validation/test_layer_time.py checks that these terms rebuild the step's compute,
recompute and TP time exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

import numpy as np

from archsweep.model.gemm import scalar_part_physics
from archsweep.model.training.communication import tensor_parallel
from archsweep.model.training.mapping import RECOMPUTE, MappingArrays
from archsweep.model.training.recompute_share import full_recompute_share
from archsweep.model.transformer import layer_costs
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.validation.cells import cell_number
from archsweep.validation.types import LAYER_METRIC, RowPlan, Skip

__all__ = ["LAYER_COLUMNS", "LayerTimes", "layer_notes", "mapping_from_result", "measured_layer_times",
           "predict_layer_times"]

#: Measured columns of a per-layer timing row (seconds).
LAYER_COLUMNS = ("layer_fwd_time_s", "layer_bwd_time_s")


@dataclass(frozen=True)
class LayerTimes:
    """Forward and backward (with recomputation) time of one layer for one micro-batch, s."""

    fwd_s: float
    bwd_s: float

    @property
    def total_s(self) -> float:
        return self.fwd_s + self.bwd_s


def measured_layer_times(row: Mapping[str, str]) -> LayerTimes | None:
    """The row's ``layer_fwd_time_s`` / ``layer_bwd_time_s``, or None when it has neither.

    Raises:
        Skip: one of the two without the other.
    """
    fwd, bwd = (cell_number(row, c) for c in LAYER_COLUMNS)
    if fwd is None and bwd is None:
        return None
    if fwd is None or bwd is None:
        raise Skip(f"{LAYER_METRIC}: layer_fwd_time_s and layer_bwd_time_s are both needed (one is empty)")
    return LayerTimes(fwd, bwd)


def mapping_from_result(result: Mapping[str, np.ndarray]) -> MappingArrays:
    """The mapping the driver chose (its output columns) as a one-element :class:`MappingArrays`."""
    values: dict[str, np.ndarray] = {}
    for f in fields(MappingArrays):
        item = np.ravel(result[f.name])[0]
        if f.name == "recompute":
            item = RECOMPUTE.index(str(item))
        values[f.name] = np.asarray([float(item)])
    return MappingArrays(**values)


def predict_layer_times(plan: RowPlan, result: Mapping[str, np.ndarray], calibration: Calibration) -> LayerTimes:
    """Per-layer forward / backward time of ``plan``'s workload with the mapping in ``result``.

    ``calibration`` as the step used it (with the part's FP8 ratio); the clock is the one the
    driver evaluated at (``result["clock_hz"]``).
    """
    wl = plan.workload
    hw = HardwareArrays.from_designs(plan.entry.design.replace(accelerator_count=plan.count))
    hw = replace(hw, clock_hz=np.asarray(np.ravel(result["clock_hz"])[:1], dtype=float))
    mp = mapping_from_result(result)
    peak = hw.peak_matrix_flops_fp8 if wl.training.precision == "fp8" else hw.peak_matrix_flops_bf16
    lc = layer_costs(scalar_part_physics(hw), wl, mp, calibration, peak)
    tokens = mp.micro_batch * float(wl.seq_len) / mp.cp
    one = np.ones_like(mp.tp)
    moe_frac = wl.moe_layers / wl.layers
    share = full_recompute_share(wl, mp)  # block recompute: the recomputed share of a stage's layers
    tp = tensor_parallel(hw, mp, calibration, 2.0 * tokens * float(wl.hidden), one, one, moe_frac, share)
    collective = tp.allreduce_s * np.where(mp.tp_overlap > 0, calibration.tp_overlap_residual, 1.0)
    t_f = (1 - moe_frac) * lc.dense_fwd_s + moe_frac * lc.moe_fwd_s
    t_b = (1 - moe_frac) * lc.dense_bwd_s + moe_frac * lc.moe_bwd_s
    full, selective = mp.recompute == RECOMPUTE.index("full"), mp.recompute == RECOMPUTE.index("selective")
    recompute = np.where(full, share * (t_f + 2.0 * collective),
                         np.where(selective, lc.attn_core_fwd_s * (mp.flash_attention == 0), 0.0))
    fwd = t_f + 2.0 * collective
    bwd = t_b + 2.0 * collective + recompute
    return LayerTimes(float(np.ravel(fwd)[0]), float(np.ravel(bwd)[0]))


def layer_notes(measured: LayerTimes, predicted: LayerTimes) -> str:
    """``fwd 7.7 -> 7.5 ms (-2.6 %); bwd ...`` for the row's notes."""
    parts = []
    for name, m, p in (("fwd", measured.fwd_s, predicted.fwd_s), ("bwd", measured.bwd_s, predicted.bwd_s)):
        parts.append(f"{name} {1e3 * m:.3g} -> {1e3 * p:.3g} ms ({100.0 * (p - m) / m:+.1f} %)")
    return "; ".join(parts)
