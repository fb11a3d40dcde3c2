"""Per-expert FP8 padding of dropless low-precision MoE layers (issue 10, s9-moecost).

Megatron-Core's TEGroupedMLP pads the permuted tokens of each local expert to the quantisation block
(TransformerEngine Fp8Padding / Fp8Unpadding: ``fused_multi_row_padding`` into a new tensor) whenever a
low-precision recipe is on and the per-expert counts are not all aligned, which a dropless run's are not.
The stack constant ``moe_fp8_padding_bytes_per_element`` (8 B per routed copy and hidden unit, each of
forward and backward: read + write of the FC1 input and of the FC2 output) prices that copy at the HBM
rate, plus three kernels each way.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from model_helpers import mapping_arrays

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.workloads import load_workload
from archsweep.model.transformer import layer_costs
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration(stack="megatron-core")


def _layer(precision: str, cal, part: str = "H100-SXM", top_k: int = 8, mb: float = 1.0):
    wl = load_workload("qwen3-30b-a3b")
    wl = replace(wl, training=replace(wl.training, seq_len=4096, precision=precision))
    arch = wl.architecture
    wl = replace(wl, architecture=replace(arch, moe=replace(arch.moe, top_k=top_k)))
    hw = HardwareArrays.from_designs(get_accelerator(part).design.replace(accelerator_count=64))
    peak = hw.peak_matrix_flops_fp8 if precision == "fp8" else hw.peak_matrix_flops_bf16
    return layer_costs(hw, wl, mapping_arrays(ep=8.0, micro_batch=mb, sequence_parallel=1.0), cal, peak), hw, wl


@pytest.mark.parametrize("stack", ["megatron-core", "megatron-core-flex"])
def test_one_qwen3_layer_pads_512_mib(stack):
    """Qwen3-30B-A3B (hidden 2048) at 4096 tokens, top-8: 32768 routed copies x 2048 hidden units x 8 B
    (read + write of the FC1 input and of the FC2 output, FP8 recipe) = 536 870 912 B = 512 MiB of HBM
    traffic the padding adds to the MoE layer, in both Megatron-Core stacks."""
    cal = load_calibration(stack=stack)
    with_pad, _, wl = _layer("fp8", cal)
    without, _, _ = _layer("fp8", replace(cal, moe_fp8_padding_bytes_per_element=0.0))
    assert wl.architecture.hidden == 2048 and wl.architecture.moe.top_k == 8
    assert float(np.ravel(with_pad.moe_hbm_bytes - without.moe_hbm_bytes)[0]) == pytest.approx(536_870_912, rel=1e-12)


@pytest.mark.parametrize("part", ["H100-SXM", "B200"])
def test_fp8_layer_pays_the_padding_copy_each_way(part):
    """FP8: the MoE layer costs 8 B x routed copies x hidden / HBM rate + 3 kernels more in each direction
    than with the padding off; the dense layer and the FLOPs are unchanged."""
    with_pad, hw, wl = _layer("fp8", CAL, part)
    without, _, _ = _layer("fp8", replace(CAL, moe_fp8_padding_bytes_per_element=0.0), part)
    copies = 4096 * wl.architecture.moe.top_k  # tokens x top-k x capacity factor 1, ep x local experts = 128
    bw = float(np.ravel(hw.hbm_bw_bytes_per_s)[0]) * CAL.hbm_bw_efficiency
    expected = 8.0 * copies * wl.architecture.hidden / bw + 3.0 * CAL.kernel_overhead_s
    assert float(np.ravel(with_pad.moe_fwd_s - without.moe_fwd_s)[0]) == pytest.approx(expected, rel=1e-9)
    assert float(np.ravel(with_pad.moe_bwd_s - without.moe_bwd_s)[0]) == pytest.approx(expected, rel=1e-9)
    assert float(np.ravel(with_pad.moe_hbm_bytes - without.moe_hbm_bytes)[0]) == pytest.approx(
        8.0 * copies * wl.architecture.hidden, rel=1e-9)
    assert np.array_equal(with_pad.dense_fwd_s, without.dense_fwd_s)
    assert np.array_equal(with_pad.moe_flops, without.moe_flops)


def test_bf16_layers_do_not_pad():
    with_pad, _, _ = _layer("bf16", CAL)
    without, _, _ = _layer("bf16", replace(CAL, moe_fp8_padding_bytes_per_element=0.0))
    assert np.array_equal(with_pad.moe_fwd_s, without.moe_fwd_s)
    assert np.array_equal(with_pad.moe_bwd_s, without.moe_bwd_s)


def test_the_padding_grows_with_the_routed_copies():
    """Twice the top-k or twice the micro-batch: twice the padded rows, twice the copy time."""
    def extra(**kw):
        a, _, _ = _layer("fp8", CAL, **kw)
        b, _, _ = _layer("fp8", replace(CAL, moe_fp8_padding_bytes_per_element=0.0), **kw)
        return float(np.ravel(a.moe_fwd_s - b.moe_fwd_s)[0]) - 3.0 * CAL.kernel_overhead_s

    assert extra(top_k=8) == pytest.approx(2.0 * extra(top_k=4), rel=1e-9)
    assert extra(mb=2.0) == pytest.approx(2.0 * extra(mb=1.0), rel=1e-9)


def test_a_drop_and_pad_layer_pays_no_padding():
    """MoEConfig.dropless False (drop-and-pad: every expert receives exactly its capacity, so TransformerEngine's
    Fp8Padding returns the input unchanged): the FP8 layer costs exactly what it costs with the padding off;
    the shipped models are dropless (Megatron-Core's default, moe_expert_capacity_factor None)."""
    padded_wl = load_workload("qwen3-30b-a3b")
    assert padded_wl.architecture.moe.dropless is True
    dropless, hw, wl = _layer("fp8", CAL)
    without, _, _ = _layer("fp8", replace(CAL, moe_fp8_padding_bytes_per_element=0.0))
    arch = wl.architecture
    drop = replace(wl, architecture=replace(arch, moe=replace(arch.moe, dropless=False)))
    peak = hw.peak_matrix_flops_fp8
    padded = layer_costs(hw, drop, mapping_arrays(ep=8.0, sequence_parallel=1.0), CAL, peak)
    assert np.array_equal(padded.moe_fwd_s, without.moe_fwd_s)
    assert np.array_equal(padded.moe_bwd_s, without.moe_bwd_s)
    assert np.all(dropless.moe_fwd_s > padded.moe_fwd_s)
