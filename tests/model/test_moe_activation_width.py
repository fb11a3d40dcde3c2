"""The activation of a MoE layer runs over the routed copies (s7-smallmoe, issue 10): Megatron-Core's
TEGroupedMLP applies its fused weighted activation to the grouped FC1 output of every permuted token, so
the layer's activation traffic is top-k x capacity x expert FFN (+ shared experts) per token, not the dense
``ffn_hidden``. GPT-OSS-120B (top-4, expert FFN 2880 = ffn_hidden) is where the two differ."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.hardware import HardwareArrays

TECH, CAL = load_technology(), load_calibration()
GB200 = get_accelerator("GB200").design.replace(accelerator_count=64)
STRATEGY = "tp=1,pp=1,cp=1,ep=64,mb=4,recompute=none,zero=1"


def _step(wl, per_ffn: float) -> float:
    cal = replace(CAL, elementwise_bytes_per_token_per_ffn=per_ffn)
    out = evaluate_design_batch(HardwareArrays.from_designs([GB200]), wl, tech=TECH, calibration=cal,
                                strategy=STRATEGY, infeasible="least_violating")
    return float(out["step_time_s"][0])


def _gpt_oss(top_k: int | None = None, ffn_hidden: int | None = None):
    wl = load_workload("gpt-oss-120b")
    wl = replace(wl, training=replace(wl.training, seq_len=4096, global_batch_seqs=1280))
    arch = wl.architecture
    if top_k is not None:
        arch = replace(arch, moe=replace(arch.moe, top_k=top_k))
    if ffn_hidden is not None:
        arch = replace(arch, ffn_hidden=ffn_hidden)
    return replace(wl, architecture=arch)


def _activation_share(wl) -> float:
    """Step time per byte of activation traffic per FFN unit (the per-FFN-unit elementwise term alone)."""
    return _step(wl, 8.0) - _step(wl, 4.0)


def test_activation_traffic_follows_the_routed_width():
    base = _activation_share(_gpt_oss())
    assert base > 0
    # Twice the routed copies: twice the activation traffic of the (all-MoE) model.
    assert np.isclose(_activation_share(_gpt_oss(top_k=8)), 2.0 * base, rtol=1e-6)
    # The dense FFN width does not enter a model without dense layers.
    assert np.isclose(_activation_share(_gpt_oss(ffn_hidden=4 * 2880)), base, rtol=1e-9)


def test_activation_traffic_published_shape():
    """GPT-OSS-120B on 64 GB200 (the 26.02 preset: EP64, micro-batch 4, 5 micro-batches, 36 layers):
    the per-FFN-unit term at 4 B is 4 B x 16384 tokens x 4 x 2880 x 1.5 (SwiGLU) per layer forward, x 3
    with the backward, over HBM at the calibrated efficiency, times the traffic multiplier."""
    wl = _gpt_oss()
    hw = HardwareArrays.from_designs([GB200])
    bw = float(np.ravel(hw.hbm_bw_bytes_per_s)[0]) * CAL.hbm_bw_efficiency
    tokens = 4 * 4096
    per_layer = 3.0 * CAL.elementwise_traffic_multiplier * 4.0 * tokens * 4 * 2880 * 1.5 / bw
    expected = 5 * wl.layers * per_layer
    assert np.isclose(_activation_share(wl), expected, rtol=0.02), (_activation_share(wl), expected)
