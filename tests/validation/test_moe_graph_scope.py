"""MoE host time by a row's stated CUDA-graph scope (archsweep.validation.moe_graphs)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from measured_runs import runs

from archsweep.load.calibration import load_calibration
from archsweep.validation.cells import _text
from archsweep.validation.moe_graphs import graph_scope_calibration
from archsweep.validation.run import validate_rows

ROWS = runs()


def _row(run_id: str) -> dict[str, str]:
    return dict(next(r for r in ROWS if _text(r, "run_id") == run_id))


def test_extra_is_the_write_ups_cuda_graph_step():
    """610.71 -> 663.27 TFLOPS/GPU when attention, router and EP preprocess were graphed (DeepSeek-V3,
    256 GB200, 249.81 GFLOP per token, 32768 tokens per GPU per step, 64 micro-batches x 8 MoE layers)."""
    flop_per_gpu_step = 2048 * 4096 / 256 * 249.812e9
    saved_s = flop_per_gpu_step / 610.71e12 - flop_per_gpu_step / 663.27e12
    for stack in ("megatron-core", "megatron-core-flex"):
        assert load_calibration(stack=stack).moe_host_ungraphed_extra_s == pytest.approx(saved_s / (64 * 8), rel=0.01)
    assert load_calibration(stack="pytorch-fsdp").moe_host_ungraphed_extra_s == 0.0


@pytest.mark.parametrize(("scope", "extra"), [("none", True), ("attn+moe_router+moe_preprocess", False),
                                              ("moe_router+moe_preprocess", False), ("", False)])
def test_only_rows_that_leave_the_moe_preprocess_eager_pay_it(scope: str, extra: bool):
    cal = load_calibration(stack="megatron-core")
    out = graph_scope_calibration({"moe_cuda_graph_scope": scope}, cal)
    expected = cal.moe_layer_host_overhead_s + (cal.moe_host_ungraphed_extra_s if extra else 0.0)
    assert out.moe_layer_host_overhead_s == pytest.approx(expected)
    assert replace(out, moe_layer_host_overhead_s=cal.moe_layer_host_overhead_s) == cal  # nothing else moves


def test_an_eager_preset_is_slower_than_the_same_preset_graphed():
    """The same stated MoE row, restated with a graphed router / preprocess, is predicted faster by the
    extra host time; a dense row does not move (its layers have no MoE host time)."""
    moe = _row("mbridge_26.02_DGX-B200_DeepSeekV3_MXFP8_256")
    assert _text(moe, "moe_cuda_graph_scope") == "none"
    graphed = {**moe, "moe_cuda_graph_scope": "attn+moe_router+moe_preprocess"}
    eager_res, graphed_res = validate_rows([moe, graphed])
    assert eager_res.status == graphed_res.status == "ok"
    assert eager_res.predicted < graphed_res.predicted  # tokens/s per GPU
    dense = _row("mbridge_26.02_DGX-GB200_LLAMA3-70B_FP8_64")
    restated = {**dense, "moe_cuda_graph_scope": "none"}
    a, b = validate_rows([dense, restated])
    assert a.predicted == b.predicted
