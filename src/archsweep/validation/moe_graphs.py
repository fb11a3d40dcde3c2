"""The MoE host time of a row's stated CUDA-graph scope (validation only).

A dropless Megatron-Core MoE layer synchronises with the host once per micro-batch, so its eager host
work after the sync shows on the step (``Calibration.moe_layer_host_overhead_s``). Megatron-Core's
partial CUDA graphs (``--cuda-graph-scope attn moe_router moe_preprocess``) replay the static parts
(attention, router, EP preprocess) as graphs and remove their host time; the routed experts stay
eager. The stack constant is the host time with those parts graphed; a row whose preset leaves them
eager (``moe_cuda_graph_scope`` column without ``moe_preprocess``, written by
``data/validation/derive/moe_recipes.py`` from the Megatron-Bridge presets) pays
``moe_host_ungraphed_extra_s`` more (NVIDIA/Megatron-LM deepseek-v3-gb200-optimization.md, Sec. 2.3
and Sec. 3 table: "CUDA Graphs" 610.71 -> 663.27 TFLOPS/GPU). Rows without the column are unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from archsweep.spec.calibration import Calibration
from archsweep.validation.cells import _text

__all__ = ["graph_scope_calibration"]


def graph_scope_calibration(row: Mapping[str, str], calibration: Calibration) -> Calibration:
    """``calibration`` with the MoE host time of the row's stated CUDA-graph scope (see module doc)."""
    scope = _text(row, "moe_cuda_graph_scope").lower()
    extra = calibration.moe_host_ungraphed_extra_s
    if not scope or "moe_preprocess" in scope or extra == 0.0:
        return calibration
    return replace(calibration, moe_layer_host_overhead_s=calibration.moe_layer_host_overhead_s + extra)
