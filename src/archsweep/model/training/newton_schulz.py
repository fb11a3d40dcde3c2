"""Muon's orthogonalisation in the optimizer step (``TrainingJob.optimizer`` "muon"): Newton-Schulz GEMMs on the
2-D weights a rank updates, seconds and FLOPs per step.

Muon (Jordan et al., "Muon: An optimizer for hidden layers in neural networks", 2024; Liu et al., "Muon is Scalable
for LLM Training", arXiv:2502.16982) replaces each 2-D weight's update by the orthogonalised momentum, computed by
``k`` Newton-Schulz iterations. An iteration of an m x n matrix X (m <= n; a taller one is transposed) runs three
GEMMs: A = X X^T (m x m, reduction n), B = b A + c A A (m x m x m) and X <- a X + B X (m x n, reduction m), i.e.
4 m^2 n + 2 m^3 FLOPs (the quintic iteration of Emerging-Optimizers' ``newton_schulz``, called by Megatron-Core's
``TensorParallelMuon``: NVIDIA/Megatron-LM @55ac708 megatron/core/optimizer/muon.py, the Megatron-Bridge v0.3.1 pin).

Which weights (muon.py ``get_megatron_muon_optimizer``): every 2-D parameter but the embedding and the output layer
(those, and the 1-D norms, run Adam): the attention projections (``muon_split_qkv`` True, the default: the fused
QKV weight orthogonalised as its Q, K and V parts), the dense FFN, the router, the shared and the routed experts
(TransformerEngine's grouped MLP keeps one 2-D weight per local expert). ``muon_tp_mode`` "blockwise" (the default):
each rank orthogonalises its own tensor-parallel shard. Who: with zero_stage 1 Megatron-Core's layer-wise
distributed optimizer (layer_wise_optimizer.py ``shard_params``) deals whole parameters to the data-parallel ranks
(experts to the expert-data-parallel ranks), so a rank runs its share; with zero_stage 0 every rank runs all.
The share is taken as the stage's work over the group (the deal balances parameter counts, not FLOPs exactly).

The GEMMs run at the part's BF16 matrix rate through the model's GEMM law (:func:`~archsweep.model.gemm.gemm_time_s`):
``muon_fp32_matmul_prec`` "medium" (Megatron-Core's and Megatron-Bridge's default) lets PyTorch run FP32 matmuls on
BF16 tensor cores; the FP32 operands (4 B) set the memory side. The momentum / weight-decay / master-weight
elementwise update is the HBM pass of ``optimizer_bytes_per_param`` as for Adam
(:func:`~archsweep.model.training.data_parallel.optimizer_time_s`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from archsweep.model.gemm import PartFill, gemm_time_s
from archsweep.model.training.data_parallel import expert_shard_group
from archsweep.model.training.mapping import MappingArrays
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["MuonStep", "layer_matrices", "muon_stage_allowed", "newton_schulz_flops", "newton_schulz_step"]

#: Bytes per element of the orthogonalised FP32 momentum in memory.
_FP32_BYTES = 4.0


@dataclass(frozen=True)
class MuonStep:
    """The Newton-Schulz work one accelerator runs in one optimizer step.

    Attributes:
        time_s: seconds (0 for an Adam job).
        flops_per_layer: FLOPs per layer of the stage, dense and MoE layers in the model's proportion (0 for an Adam
            job): the work counts give each device its own layers' (training/work_counts.py ``step_work``).
    """

    time_s: np.ndarray
    flops_per_layer: np.ndarray


@dataclass(frozen=True)
class LayerMatrices:
    """The 2-D weights (rows, columns) of one layer that Muon orthogonalises on one rank, by part: ``attention`` (every
    layer), ``dense_ffn`` (a layer without experts), ``moe_extra`` (a MoE layer's router and shared experts),
    ``expert`` (one local routed expert). Shapes are per tensor-parallel shard (arrays over mappings)."""

    attention: list[tuple[Any, Any]]
    dense_ffn: list[tuple[Any, Any]]
    moe_extra: list[tuple[Any, Any]]
    expert: list[tuple[Any, Any]]


def layer_matrices(wl: Workload, tp: Any, etp: Any) -> LayerMatrices:
    """:class:`LayerMatrices` of ``wl`` at tensor parallelism ``tp`` and expert tensor parallelism ``etp``:
    column-parallel weights split their rows by tp, row-parallel ones their columns; MLA's down-projections and the
    router are replicated (Megatron-Core ``parallel_mode="duplicated"`` / a plain router weight)."""
    h = float(wl.hidden)
    t = np.asarray(tp, dtype=np.float64)
    heads = wl.heads / t
    attention: list[tuple[Any, Any]]
    if wl.mla is not None:
        m = wl.mla
        qk = float(m.qk_nope_head_dim + m.qk_rope_head_dim)
        q = ([(float(m.q_lora_rank), h), (heads * qk, float(m.q_lora_rank))] if m.q_lora_rank
             else [(heads * qk, h)])
        attention = q + [(float(m.kv_lora_rank + m.qk_rope_head_dim), h),
                         (heads * (m.qk_nope_head_dim + m.v_head_dim), float(m.kv_lora_rank)),
                         (h, heads * m.v_head_dim)]
    else:
        d = float(wl.head_dim)
        kv = np.maximum(wl.kv_heads / t, 1.0)
        attention = [(heads * d, h), (kv * d, h), (kv * d, h), (h, heads * d)]
    gates = float(wl.ffn_matrices - 1)  # FC1 rows per FFN unit: 2 with SwiGLU (gate and up), 1 with GELU
    dense_ffn = [(gates * wl.ffn_hidden / t, h), (h, wl.ffn_hidden / t)]
    if wl.moe is None:
        return LayerMatrices(attention, dense_ffn, [], [])
    e = wl.moe
    extra: list[tuple[Any, Any]] = [(float(e.num_experts), h)]
    if e.shared_experts > 0:
        width = e.shared_experts * float(e.expert_ffn_hidden)
        extra += [(gates * width / t, h), (h, width / t)]
    et = np.asarray(etp, dtype=np.float64)
    expert = [(gates * e.expert_ffn_hidden / et, h), (h, e.expert_ffn_hidden / et)]
    return LayerMatrices(attention, dense_ffn, extra, expert)


def newton_schulz_flops(rows: Any, cols: Any, steps: float) -> Any:
    """FLOPs of ``steps`` Newton-Schulz iterations of a ``rows`` x ``cols`` matrix: steps (4 m^2 n + 2 m^3),
    m the shorter side, n the longer (module docstring)."""
    m, n = np.minimum(rows, cols), np.maximum(rows, cols)
    return steps * (4.0 * m * m * n + 2.0 * m ** 3)


def _matrix_s(hw: HardwareArrays, cal: Calibration, fill: PartFill, rows: Any, cols: Any) -> Any:
    """Seconds of one Newton-Schulz iteration of a ``rows`` x ``cols`` matrix: its three GEMMs at the BF16 rate."""
    m, n = np.minimum(rows, cols), np.maximum(rows, cols)

    def gemm(a: Any, b: Any, k: Any) -> Any:
        return gemm_time_s(a, b, k, batch=1.0, peak_flops=hw.peak_matrix_flops_bf16,
                           hbm_bw_bytes_per_s=hw.hbm_bw_bytes_per_s, compute_units=hw.compute_units,
                           matrix_efficiency=hw.matrix_efficiency, bytes_per_element=_FP32_BYTES, cal=cal, fill=fill)

    return gemm(m, m, n) + gemm(m, m, m) + gemm(m, n, m)


def newton_schulz_step(hw: HardwareArrays, wl: Workload, mp: MappingArrays, cal: Calibration, etp: np.ndarray,
                       dp_group: np.ndarray, layers_stage: np.ndarray) -> MuonStep:
    """:class:`MuonStep` of one accelerator of a stage of ``layers_stage`` layers (dense and MoE in the model's
    proportion) whose dense weights are shared over ``dp_group`` (dp x cp) ranks; 0-d zeros for an Adam job."""
    if wl.training.optimizer != "muon":
        zero = np.zeros(())  # broadcasts: no candidate x mapping array for an Adam job
        return MuonStep(zero, zero)
    shape = np.broadcast_shapes(np.shape(mp.tp), np.shape(layers_stage), np.shape(dp_group), np.shape(hw.compute_units))
    fill = PartFill.of(hw)
    steps = float(cal.muon_newton_schulz_steps)
    mats = layer_matrices(wl, mp.tp, etp)
    moe_share = wl.moe_layers / wl.layers

    def work(matrices: list[tuple[Any, Any]]) -> tuple[Any, Any]:
        time: Any = 0.0
        flops: Any = 0.0
        for rows, cols in matrices:
            time = time + steps * _matrix_s(hw, cal, fill, rows, cols)
            flops = flops + newton_schulz_flops(rows, cols, steps)
        return time, flops

    # each part once; the dense FFN only where the model has layers without experts
    attn_t, attn_f = work(mats.attention)
    ffn_t, ffn_f = work(mats.dense_ffn) if moe_share < 1.0 else (0.0, 0.0)
    extra_t, extra_f = work(mats.moe_extra)
    expert_t, expert_f = work(mats.expert)
    local_experts = 0.0 if wl.moe is None else wl.moe.num_experts / mp.ep
    non_expert_t = attn_t + (1.0 - moe_share) * ffn_t + moe_share * extra_t  # per layer
    non_expert_f = attn_f + (1.0 - moe_share) * ffn_f + moe_share * extra_f
    experts_t = moe_share * local_experts * expert_t
    experts_f = moe_share * local_experts * expert_f
    layer_wise = mp.zero_stage >= 1
    dense_share = np.where(layer_wise, 1.0 / np.maximum(dp_group, 1.0), 1.0)
    expert_share = np.where(layer_wise, 1.0 / expert_shard_group(mp, dp_group, etp), 1.0)
    time = np.broadcast_to(layers_stage * (dense_share * non_expert_t + expert_share * experts_t), shape)
    flops = np.broadcast_to(dense_share * non_expert_f + expert_share * experts_f, shape)
    return MuonStep(time, flops)


def muon_stage_allowed(wl: Workload, mp: MappingArrays) -> np.ndarray:
    """Whether each mapping's ZeRO stage can run the job's optimizer (``TrainingJob.max_zero_stage``: every stage for
    Adam, 0 or 1 for Muon)."""
    return np.asarray(mp.zero_stage) <= wl.training.max_zero_stage
