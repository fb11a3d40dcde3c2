"""Rows whose preset runs Megatron-Core's grouped MoE MLP through TransformerEngine's fused ops
(``moe_fused_grouped_mlp`` yes, written by data/validation/derive/mbridge_archive_rows.py from the preset's
``cutedsl_fused_grouped_mlp``): no eager clamp / cat chain and no per-expert bias kernels.

Source (read at the pinned commits, not copied): Megatron-Bridge v0.5.0 / v0.5.1
``scripts/performance/configs/gpt_oss/gpt_oss_workload_base_configs.py`` (the GB300 / GB200 FP8_MX_V2 presets set
``cutedsl_fused_grouped_mlp=True``; also DeepSeek-V3 and Qwen3 MXFP8 presets), ``scripts/performance/utils/overrides.py``
(``cfg.model.use_transformer_engine_op_fuser = True``), ``scripts/performance/perf_plugins.py``
(``NVTE_CUTEDSL_FUSED_GROUPED_MLP=1``); Megatron-Core ``megatron/core/transformer/moe/experts.py`` @d0b3b77549 (the
v0.5.0 submodule) ``TEGroupedMLP._is_fused_impl_supported`` (TE >= 2.14, expert TP 1, quick-GELU GLU ->
``ScaledClampedQGeGLU``) and ``_make_fused_ops`` (``te.ops.Sequential(GroupedLinear(bias), ScaledClampedQGeGLU,
GroupedLinear(bias))``: the FC2 bias inside the op, no ``_apply_bias``); TransformerEngine v2.16 (NeMo 26.06)
``transformer_engine/pytorch/ops/fused/forward_grouped_mlp.py`` ``ForwardGroupedMLP_CuTeGEMMSwiGLU_MXFP8`` (FC1 GEMM
with bias, the clamped GEGLU and the probability scaling in one cuDNN kernel on compute capability 10; FC2 GEMM with
bias) and ``backward_grouped_mlp.py`` (dGLU and the bias gradients in the fused kernels, ``bgrad_group_quantize``).

What the model drops for such a row (:func:`fused_grouped_mlp_calibration`): the ``clamped_glu_*`` and
``expert_bias_*`` constants of the stack (the eager passes and their per-expert launches). Not dropped (left, see
docs/model-accuracy.md s12-m1): the FP8 ``split_quantize`` kernels per local expert, which the fused path replaces
by one ``group_quantize`` per operand, because the recipe resolves them into the calibration after this step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from archsweep.spec.calibration import Calibration
from archsweep.validation.cells import cell_yes_no

__all__ = ["FUSED_GROUPED_MLP", "FUSED_AWAY", "fused_grouped_mlp_calibration"]

#: The row column (yes / no / empty: not stated, the unfused path).
FUSED_GROUPED_MLP = "moe_fused_grouped_mlp"
#: Calibration fields that TransformerEngine's fused grouped MLP makes zero: the clamp chain and the expert bias.
FUSED_AWAY = ("clamped_glu_bytes_fwd_per_element", "clamped_glu_bytes_bwd_per_element", "clamped_glu_kernels_fwd",
              "clamped_glu_kernels_bwd", "expert_bias_bytes_fwd_per_element", "expert_bias_bytes_bwd_per_element",
              "expert_bias_kernels_fwd_per_expert", "expert_bias_kernels_bwd_per_expert")


def fused_grouped_mlp_calibration(row: Mapping[str, str], calibration: Calibration) -> Calibration:
    """``calibration`` without the eager clamp and expert-bias costs where the row states
    ``moe_fused_grouped_mlp`` yes (module doc); unchanged otherwise. Raises ``Skip`` on a cell that is not yes / no."""
    if not cell_yes_no(row, FUSED_GROUPED_MLP):
        return calibration
    zeros: dict[str, Any] = dict.fromkeys(FUSED_AWAY, 0.0)
    return replace(calibration, **zeros)
