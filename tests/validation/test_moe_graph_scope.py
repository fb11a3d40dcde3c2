"""The MoE software a row states: host time by its CUDA-graph scope, its EP all-to-all overlap
(archsweep.validation.moe_graphs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from itertools import chain, combinations
from types import ModuleType

import pytest
from measured_runs import runs

from archsweep.load.calibration import load_calibration
from archsweep.load.workloads import load_workload
from archsweep.validation.cells import cell_text
from archsweep.validation.moe_graphs import graph_scope_calibration, ungraphed_host_extra_s
from archsweep.validation.run import plan_row, validate_rows

ROWS = runs()
#: Megatron-Core token-count GFLOP per token of DeepSeek-V3 (write-up arithmetic, held_out_priors.yaml)
_FLOP_PER_GPU_STEP = 2048 * 4096 / 256 * 249.812e9
_LAYER_MICROBATCHES = 64 * 8  # micro-batches x MoE layers of the busiest pipeline rank


def _row(run_id: str) -> dict[str, str]:
    return dict(next(r for r in ROWS if cell_text(r, "run_id") == run_id))


def _saved_per_layer_mb(before_tflops: float, after_tflops: float) -> float:
    return (_FLOP_PER_GPU_STEP / (before_tflops * 1e12) - _FLOP_PER_GPU_STEP / (after_tflops * 1e12)) / _LAYER_MICROBATCHES


def test_extras_are_the_write_ups_cuda_graph_steps():
    """610.71 -> 663.27 TFLOPS/GPU when attention, router and EP preprocess were graphed; 797.67 -> 829.93
    when the router graph also captured the shared expert (DeepSeek-V3, 256 GB200, 249.81 GFLOP per token,
    32768 tokens per GPU per step, 64 micro-batches x 8 MoE layers). Sec. 2.3 states both together:
    'a total of 84.8 TFLOPS'."""
    assert (663.27 - 610.71) + (829.93 - 797.67) == pytest.approx(84.8, abs=0.05)
    for stack in ("megatron-core", "megatron-core-flex"):
        cal = load_calibration(stack=stack)
        assert cal.moe_host_ungraphed_extra_s == pytest.approx(_saved_per_layer_mb(610.71, 663.27), rel=0.01)
        assert cal.moe_host_shared_expert_ungraphed_s == pytest.approx(_saved_per_layer_mb(797.67, 829.93), rel=0.01)
    other = load_calibration(stack="pytorch-fsdp")
    assert other.moe_host_ungraphed_extra_s == other.moe_host_shared_expert_ungraphed_s == 0.0


@pytest.mark.parametrize(("scope", "shared", "parts"), [
    ("none", 0, ("eager",)), ("none", 1, ("eager", "shared")), ("attn+moe_router+moe_preprocess", 1, ()),
    ("moe_router+moe_preprocess", 0, ()), ("moe_router+moe_preprocess", 1, ()), ("attn", 1, ("eager", "shared")),
    ("", 1, ())])
def test_a_row_pays_for_each_static_part_its_scope_leaves_eager(scope: str, shared: int, parts: tuple[str, ...]):
    cal = load_calibration(stack="megatron-core")
    expected = (cal.moe_host_ungraphed_extra_s * ("eager" in parts)
                + cal.moe_host_shared_expert_ungraphed_s * ("shared" in parts))
    assert ungraphed_host_extra_s(scope, shared, cal, True) == pytest.approx(expected)


def test_graphing_more_never_costs_more_host_time():
    """Monotone: a scope that graphs a superset of another's parts, or a model with fewer shared experts
    (none), never pays more MoE host time."""
    cal = load_calibration(stack="megatron-core-flex")
    parts = ("attn", "moe_router", "moe_preprocess")
    scopes = [frozenset(c) for c in chain.from_iterable(combinations(parts, n) for n in range(4))]
    for small in scopes:
        for big in (s for s in scopes if small <= s):
            for shared in (0, 1):
                text = "+".join(sorted(small)) or "none"
                more = "+".join(sorted(big)) or "none"
                for captures in (False, True):
                    assert (ungraphed_host_extra_s(more, shared, cal, captures)
                            <= ungraphed_host_extra_s(text, shared, cal, captures))
                    assert ungraphed_host_extra_s(text, 0, cal, captures) <= ungraphed_host_extra_s(text, shared, cal, captures)
                    assert ungraphed_host_extra_s(text, shared, cal, True) <= ungraphed_host_extra_s(text, shared, cal, False)


@pytest.mark.parametrize(("dispatcher", "overlap", "captured"), [
    ("alltoall", "no", False), ("alltoall", "", False), ("alltoall", "yes", True), ("deepep", "no", True),
    ("hybridep", "", True), ("HybridEP", "no", True), ("", "", False)])
def test_the_router_graph_captures_shared_experts_only_without_their_overlap(dispatcher: str, overlap: str,
                                                                              captured: bool):
    """Megatron-Bridge's DeepSeek provider keeps moe_shared_expert_overlap on (v0.2.2
    deepseek_provider.py) unless the flex dispatcher or the EP all-to-all overlap turns it off; only
    then does a ``moe_router`` graph capture the shared experts (review B finding 9): an alltoall row
    without the overlap pays the shared experts' host time even with moe_router in its scope."""
    from archsweep.validation.moe_graphs import router_captures_shared_experts

    row = {"moe_token_dispatcher": dispatcher, "moe_a2a_overlap": overlap,
           "moe_cuda_graph_scope": "attn+moe_router+moe_preprocess"}
    assert router_captures_shared_experts(row) is captured
    cal = load_calibration(stack="megatron-core")
    extra = ungraphed_host_extra_s(row["moe_cuda_graph_scope"], 1, cal, router_captures_shared_experts(row))
    assert extra == pytest.approx(0.0 if captured else cal.moe_host_shared_expert_ungraphed_s)


def test_an_alltoall_deepseek_row_with_the_router_graphed_pays_for_its_shared_expert():
    """The DeepSeek-V3 B200 row (hybridep) restated with the alltoall dispatcher and moe_router in its
    scope runs slower than as stated, and than the alltoall restatement with the EP overlap stated."""
    moe = _row("mbridge_26.02_DGX-B200_DeepSeekV3_MXFP8_256")
    graphed = {**moe, "moe_cuda_graph_scope": "attn+moe_router+moe_preprocess"}
    alltoall = {**graphed, "moe_token_dispatcher": "alltoall"}
    arch = load_workload("deepseek-v3").architecture
    assert arch.moe is not None and arch.moe.shared_experts == 1
    cal = load_calibration(stack="megatron-core")
    flex = graph_scope_calibration(graphed, cal, arch)
    plain = graph_scope_calibration(alltoall, cal, arch)
    assert flex.moe_layer_host_overhead_s == cal.moe_layer_host_overhead_s
    assert plain.moe_layer_host_overhead_s == pytest.approx(cal.moe_layer_host_overhead_s + cal.moe_host_shared_expert_ungraphed_s)
    stated = graph_scope_calibration({**alltoall, "moe_a2a_overlap": "yes"}, cal, arch)
    assert stated.moe_layer_host_overhead_s == cal.moe_layer_host_overhead_s


def test_graph_scope_moves_only_the_host_time():
    cal = load_calibration(stack="megatron-core")
    out = graph_scope_calibration({"moe_cuda_graph_scope": "none"}, cal, None)
    assert out.moe_layer_host_overhead_s == pytest.approx(cal.moe_layer_host_overhead_s + cal.moe_host_ungraphed_extra_s)
    assert replace(out, moe_layer_host_overhead_s=cal.moe_layer_host_overhead_s) == cal


def test_an_eager_preset_is_slower_than_the_same_preset_graphed():
    """The same stated MoE row, restated with a graphed router / preprocess, is predicted faster by the
    extra host time (a DeepSeek-V3 row also by its shared expert's); a dense row does not move."""
    moe = _row("mbridge_26.02_DGX-B200_DeepSeekV3_MXFP8_256")
    assert cell_text(moe, "moe_cuda_graph_scope") == "none"
    preprocess = {**moe, "moe_cuda_graph_scope": "attn+moe_preprocess"}
    graphed = {**moe, "moe_cuda_graph_scope": "attn+moe_router+moe_preprocess"}
    eager_res, preprocess_res, graphed_res = validate_rows([moe, preprocess, graphed])
    assert eager_res.status == preprocess_res.status == graphed_res.status == "ok"
    assert eager_res.predicted < preprocess_res.predicted < graphed_res.predicted  # tokens/s per GPU
    dense = _row("mbridge_26.02_DGX-GB200_LLAMA3-70B_FP8_64")
    restated = {**dense, "moe_cuda_graph_scope": "none", "moe_a2a_overlap": "no"}
    a, b = validate_rows([dense, restated])
    assert a.predicted == b.predicted


def test_a_row_stating_no_all_to_all_overlap_runs_it_exposed():
    """The row's job carries the overlap it states: 'yes' on, 'no' and an empty cell off (Megatron-Core's
    default, as a study job that does not ask); the stack still offers it. A row whose mapping allows the
    overlap (interleaved pipeline) is predicted slower without it, never faster; empty is 'no'."""
    cal = load_calibration(stack="megatron-core-flex")
    assert cal.moe_a2a_overlap == 1.0
    assert graph_scope_calibration({"moe_a2a_overlap": "no"}, cal, None) == cal
    assert graph_scope_calibration({}, cal, None) == cal
    row = _row("mbridge_26.02_DGX-GB200_DeepSeekV3_MXFP8_256")  # pp 4, vpp 4
    assert cell_text(row, "moe_a2a_overlap") == "no"
    jobs = {cell: plan_row({**row, "moe_a2a_overlap": cell}).workload.training.moe_a2a_overlap for cell in ("yes", "no", "")}
    assert jobs == {"yes": True, "no": False, "": False}
    exposed, overlapped, empty = validate_rows([row, {**row, "moe_a2a_overlap": "yes"}, {**row, "moe_a2a_overlap": ""}])
    assert exposed.status == overlapped.status == "ok"
    assert exposed.predicted < overlapped.predicted  # tokens/s per GPU
    assert empty.predicted == exposed.predicted


def test_a_row_stating_the_overlap_also_overlaps_without_a_pipeline():
    """'yes' turns on the row's job's overlap, which at pp = 1 pairs as for any job asking for it (Megatron-Core
    combined_1f1b_schedule_for_no_pipelining); the model-zoo GB300 row (TP1 PP1 EP64, A2A_OVERLAP=1) is
    predicted faster with it than with the cell left empty (overlap off)."""
    row = _row("mcore_moe_qwen3_235b_gb300_64_hybridep_mxfp8_ep64")
    assert (cell_text(row, "pp"), cell_text(row, "moe_a2a_overlap")) == ("1", "yes")
    stated, unstated = validate_rows([row, {**row, "moe_a2a_overlap": ""}])
    assert stated.status == unstated.status == "ok"
    assert stated.predicted > unstated.predicted  # tokens/s per GPU


def test_an_unreadable_overlap_cell_skips_the_row():
    row = {**_row("mbridge_26.02_DGX-GB200_DeepSeekV3_MXFP8_256"), "moe_a2a_overlap": "maybe"}
    (result,) = validate_rows([row])
    assert result.status == "skipped" and "moe_a2a_overlap" in result.reason


def test_the_csv_states_the_presets_overlap(derive_script: Callable[[str], ModuleType]) -> None:
    """The column holds what data/validation/derive/moe_recipes.py reads from the presets (7 of the 35
    set moe_a2a_overlap=True; the 37 nemo MoE rows come from them) and the model-zoo commands' A2A_OVERLAP."""
    module = derive_script("moe_recipes")
    assert module.A2A_OVERLAP <= set(module.RECIPES) and len(module.A2A_OVERLAP) == 7
    nemo = [r for r in ROWS if cell_text(r, "moe_recipe_source") and cell_text(r, "source_group") == "nemo"]
    assert len(nemo) == 37
    for r in nemo:
        assert cell_text(r, "moe_a2a_overlap") == ("yes" if module._key(r) in module.A2A_OVERLAP else "no")
    zoo = {cell_text(r, "run_id"): cell_text(r, "moe_a2a_overlap") for r in ROWS
           if cell_text(r, "source_group") == "mcore-moe"}
    assert zoo == {"mcore_moe_qwen3_235b_h100_256_deepep_ep32_pp8_a2aoverlap": "yes",
                   "mcore_moe_qwen3_235b_h100_256_deepep_ep32_pp8": "no",
                   "mcore_moe_qwen3_235b_h100_256_alltoall_ep8_pp32": "no",
                   "mcore_moe_qwen3_235b_gb200_256_hybridep_bf16_ep8_pp8": "no",
                   "mcore_moe_qwen3_235b_gb300_64_hybridep_mxfp8_ep64": "yes"}


def test_every_moe_row_states_its_overlap() -> None:
    """An empty cell would run the overlap off (Megatron-Core's default, as a study job that does not ask);
    no MoE row relies on that: each of the 42 states yes or no (Megatron-Bridge presets, zoo commands), and so does
    each MoE row of the mbridge-forward test (the preset at its release's tag, mbridge_archive_rows.py)."""
    moe = [r for r in ROWS if cell_text(r, "arch_type").lower().startswith("moe")
           and cell_text(r, "source_group") != "mbridge-forward"]
    assert len(moe) == 42
    assert {cell_text(r, "moe_a2a_overlap") for r in moe} == {"yes", "no"}
    assert sum(cell_text(r, "moe_a2a_overlap") == "yes" for r in moe) == 9
    forward = [r for r in ROWS if cell_text(r, "arch_type").lower().startswith("moe")
               and cell_text(r, "source_group") == "mbridge-forward"]
    assert len(forward) == 80 and {cell_text(r, "moe_a2a_overlap") for r in forward} == {"yes", "no"}  # s33: + 4 Kimi K2 rows


def test_the_search_optimism_runs_the_rows_overlap() -> None:
    """``archsweep validate --optimism`` searches under the row's own job and calibration: the zoo GB300 row
    (TP1 PP1 EP64, 'yes') searched with its overlap and with the cell empty (off) gives two different best
    mappings' speeds, each against its own stated-mapping prediction."""
    from archsweep.validation.optimism import search_optimism

    row = _row("mcore_moe_qwen3_235b_gb300_64_hybridep_mxfp8_ep64")
    stated, unstated = (search_optimism([r])[0] for r in (row, {**row, "moe_a2a_overlap": ""}))
    assert stated.given_over_measured != unstated.given_over_measured
    assert stated.best_over_measured > unstated.best_over_measured  # the overlap makes the best mapping faster


def test_a_full_iteration_graph_has_no_moe_host_time():
    """cuda_graph_impl full_iteration (Megatron-Bridge v0.5.0 / v0.5.1 presets, sync-free static HybridEP budget):
    no host time per MoE layer at all, neither part of the stack's affine host time (per call, per token: s15-moehost)
    nor an ungraphed extra; the other calibration fields do not move; the widest per-layer scope keeps the per-token
    part; and the same row under that scope is predicted slower."""
    arch = load_workload("deepseek-v3").architecture
    for stack in ("megatron-core", "megatron-core-flex"):
        cal = load_calibration(stack=stack)
        assert cal.moe_layer_host_overhead_s > 0.0 and cal.moe_host_s_per_token > 0.0
        out = graph_scope_calibration({"moe_cuda_graph_scope": "full_iteration", "moe_token_dispatcher": "hybridep"},
                                      cal, arch)
        assert out.moe_layer_host_overhead_s == 0.0 and out.moe_host_s_per_token == 0.0
        assert replace(out, moe_layer_host_overhead_s=cal.moe_layer_host_overhead_s,
                       moe_host_s_per_token=cal.moe_host_s_per_token) == cal
        assert ungraphed_host_extra_s("full_iteration", 1, cal, False) == 0.0
        eager = graph_scope_calibration({"moe_cuda_graph_scope": "attn+moe_router+moe_preprocess",
                                         "moe_token_dispatcher": "hybridep"}, cal, arch)
        assert eager.moe_host_s_per_token == cal.moe_host_s_per_token
    full = _row("mbridge-fwd_26.06_DGX-GB300_DeepSeekV3_MXFP8_256_gbs4096")
    assert cell_text(full, "moe_cuda_graph_scope") == "full_iteration"
    widest = {**full, "moe_cuda_graph_scope": "attn+moe_router+moe_preprocess"}
    full_res, widest_res = validate_rows([full, widest])
    assert full_res.status == widest_res.status == "ok"
    assert full_res.predicted > widest_res.predicted  # tokens/s per GPU


def test_the_rows_stating_a_full_iteration_graph_name_a_preset_that_runs_it():
    """Every row whose scope cell is full_iteration is a Megatron-Bridge v0.5.x preset row (NeMo 26.06 / 26.06.01)
    of a HybridEP MXFP8 run: the presets whose pretrain scripts set the static token budget with the graph."""
    full = [r for r in ROWS if cell_text(r, "moe_cuda_graph_scope") == "full_iteration"]
    assert len(full) == 18  # 17 + the 26.06 GB300 DeepSeek-V3 GBS 15360 row (its own preset since s13-audit)
    for r in full:
        assert cell_text(r, "moe_recipe_source").startswith(("v0.5.0 ", "v0.5.1 "))
        assert cell_text(r, "moe_token_dispatcher") == "hybridep" and cell_text(r, "precision") == "MXFP8"
        assert "cuda_graph_impl full_iteration" in cell_text(r, "derived")
