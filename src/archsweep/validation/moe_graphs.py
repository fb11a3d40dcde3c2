"""The MoE software a row states: its CUDA-graph scope's host time and its EP all-to-all overlap (validation only).

A dropless Megatron-Core MoE layer synchronises with the host once per micro-batch, so its eager host
work after the sync shows on the step (``Calibration.moe_layer_host_overhead_s``). Megatron-Core's
partial CUDA graphs (``--cuda-graph-scope attn moe_router moe_preprocess``) replay the static parts
(attention, router, EP preprocess and, inside the ``moe_router`` graph, the shared experts) as graphs
and remove their host time; the routed experts stay eager. The stack constant is the host time with
every static part graphed. A row pays more for each static part its stated scope
(``moe_cuda_graph_scope``, written by ``data/validation/derive/moe_recipes.py`` from the
Megatron-Bridge presets) leaves eager, priced from the two pure host-side steps of
NVIDIA/Megatron-LM deepseek-v3-gb200-optimization.md (Sec. 2.3 and the Sec. 3 table; device work is
the same kernels, replayed):

* no ``moe_preprocess`` in the scope: ``moe_host_ungraphed_extra_s`` (step "CUDA Graphs",
  610.71 -> 663.27 TFLOPS/GPU: attention, router and EP preprocess);
* a model with shared experts whose router graph does not capture them: ``moe_host_shared_expert_ungraphed_s``
  more (step "CUDA Graphs capture shared expert", 797.67 -> 829.93 TFLOPS/GPU). Megatron-Core captures
  the shared experts in the router graph unless ``moe_shared_expert_overlap`` is set
  (transformer_config.py ``cuda_graph_scope`` doc, @0d8e0714 .. @b0cc2706 moe_layer.py
  ``shared_experts_compute``). Megatron-Bridge's DeepSeek provider sets that overlap
  (NVIDIA-NeMo/Megatron-Bridge @v0.2.2 deepseek_provider.py ``moe_shared_expert_overlap: bool = True``)
  and turns it off only for the flex dispatcher (``apply_flex_dispatcher_backend``) and with the EP
  all-to-all overlap (performance-script overrides), so a scope with ``moe_router`` is read as capturing
  them only on a row with a flex dispatcher (``moe_token_dispatcher`` deepep / hybridep) or a stated
  ``moe_a2a_overlap`` "yes" (:func:`router_captures_shared_experts`); any other row pays the term
  whatever its scope.

Each part only adds: a scope that graphs more never pays more. Rows without the column are unchanged.

``full_iteration`` (:data:`FULL_ITERATION`; Megatron-Core ``cuda_graph_impl="full_iteration"``, "captures the whole
training/evaluation forward-backward iteration as a single cuda graph", NVIDIA/Megatron-LM @d0b3b775 (the commit
Megatron-Bridge v0.5.0 pins) megatron/core/transformer/moe/README.md "CUDA Graph") leaves no host time per MoE layer:
the stack constant as well as both extras are 0. A graph cannot hold a device-host sync, so the Megatron-Bridge
pretrain scripts that run it with a dropless MoE (v0.5.0 / v0.5.1 scripts/performance/configs/{deepseek,qwen,gpt_oss}/
*_llm_pretrain.py ``set_full_iter_cg_configs``: "Dropless MoE produces variable-shaped per-expert tensors that CG
cannot capture; we pad to a fixed capacity") set ``moe_expert_rank_capacity_factor`` 1.5 and paged stashing, which
gives HybridEP a static token budget per EP rank (token_dispatcher.py @d0b3b775 ``_HybridEPManager.setup_metadata``;
without it "HybridEP sizes buffers dynamically (CPU sync in dispatch)"), and the whole step replays without eager
launches. Force-balanced routing stays under that budget, so the expert work is the dropless one (the fused grouped
MLP reads the device-side tokens per expert). Stated only by the presets that set it (the ``mbridge-forward`` rows
of NeMo 26.06 / 26.06.01, ``data/validation/derive/mbridge_archive_rows.py``).

The EP all-to-all overlap (Megatron-Core ``overlap_moe_expert_parallel_comm``, the combined 1F1B
schedule) is a launch setting too: the Megatron-Bridge presets set it per preset (``moe_a2a_overlap``,
default False) and the Megatron-LM MoE model zoo's launcher per command (``A2A_OVERLAP``, default 0).
The row's job carries it (``TrainingJob.moe_a2a_overlap``, set by
:mod:`archsweep.validation.row_workload`): "yes" turns it on, "no" and an empty cell leave it
off (Megatron-Core's default, as for a study or eval job that does not ask for it; no MoE row has an empty
cell today). Where the job's overlap pairs micro-batches (pp = 1 or interleaved) is the model's, as for any
job (``model.training.communication.a2a_overlap_pairs``). Written by ``data/validation/derive/moe_recipes.py`` and ``mcore_moe_modelzoo_rows.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from archsweep.spec.architecture import Architecture
from archsweep.spec.calibration import Calibration
from archsweep.validation.cells import cell_text, cell_yes_no
from archsweep.validation.row_stack import FLEX_DISPATCHERS

__all__ = ["FULL_ITERATION", "graph_scope_calibration", "router_captures_shared_experts", "ungraphed_host_extra_s"]

#: ``moe_cuda_graph_scope`` of a row whose preset captures the whole training iteration as one CUDA graph.
FULL_ITERATION = "full_iteration"


def router_captures_shared_experts(row: Mapping[str, str]) -> bool:
    """Whether a ``moe_router`` graph of the row also captures the shared experts: only where
    ``moe_shared_expert_overlap`` is off, i.e. a flex dispatcher or a stated EP all-to-all overlap
    (module doc). Raises ``Skip`` on a ``moe_a2a_overlap`` cell that is not yes / no."""
    return (cell_text(row, "moe_token_dispatcher").lower() in FLEX_DISPATCHERS
            or bool(cell_yes_no(row, "moe_a2a_overlap")))


def ungraphed_host_extra_s(scope: str, shared_experts: int, calibration: Calibration,
                           router_captures_shared: bool) -> float:
    """Host time per MoE layer per micro-batch, s, that the stated CUDA-graph ``scope`` ("+"-joined
    Megatron-Core ``cuda_graph_scope``, "none" for no graphs, "" when not stated; 0 for "full_iteration",
    which has no host time at all) leaves eager on top of the stack constant, for a model with ``shared_experts``
    shared experts per MoE layer, whose ``moe_router`` graph captures them only if ``router_captures_shared``
    (module doc)."""
    scope = scope.strip().lower()
    if not scope or scope == FULL_ITERATION:
        return 0.0
    parts = set(scope.split("+"))
    extra = 0.0
    if "moe_preprocess" not in parts:
        extra += calibration.moe_host_ungraphed_extra_s
    if shared_experts > 0 and not ("moe_router" in parts and router_captures_shared):
        extra += calibration.moe_host_shared_expert_ungraphed_s
    return extra


def graph_scope_calibration(row: Mapping[str, str], calibration: Calibration,
                            architecture: Architecture | None) -> Calibration:
    """``calibration`` with the MoE host time of the row's stated CUDA-graph scope for the trained
    ``architecture`` (its shared experts; None: none): none at all under a full-iteration graph (module doc).
    Raises ``Skip`` on a ``moe_a2a_overlap`` cell that is not yes / no."""
    captures = router_captures_shared_experts(row)
    if cell_text(row, "moe_cuda_graph_scope").strip().lower() == FULL_ITERATION:
        return replace(calibration, moe_layer_host_overhead_s=0.0, moe_host_s_per_token=0.0)
    shared = architecture.moe.shared_experts if architecture is not None and architecture.moe is not None else 0
    extra = ungraphed_host_extra_s(cell_text(row, "moe_cuda_graph_scope"), shared, calibration, captures)
    if extra == 0.0:
        return calibration
    return replace(calibration, moe_layer_host_overhead_s=calibration.moe_layer_host_overhead_s + extra)

