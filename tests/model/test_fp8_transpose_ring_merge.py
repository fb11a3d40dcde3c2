"""Issue 10 (MLPerf Llama 2 70B LoRA rows): two per-micro-batch costs priced from the code that runs them.

* FP8 weights whose transpose is not cached (NeMo ``disable_parameter_transpose_cache: True`` with
  ``fp8_params``; TransformerEngine v1.6rc2 ``_Linear.backward`` ``weight.transpose_2d(cache=False)``):
  every backward re-forms each weight GEMM's FP8 transpose, read 1 B + write 1 B per weight element.
* Ring attention (cp > 1, TransformerEngine ``AttnFuncWithCP``): per CP step the output / LSE merge
  forward and the dq / dkv accumulation backward, HBM-bound.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np
import pytest
from model_helpers import mapping_arrays

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.workloads import load_workload
from archsweep.model.transformer import layer_costs
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()
#: The merge kernels alone: the unmasked off-diagonal steps' faster rate (attention_noncausal_rate_ratio,
#: tests/model/test_ring_attention_mask.py) held at 1 so that the core's FLOP time is exactly 1/cp per rank.
# no unmasked discount and no causal schedule law (s32): the ring steps then cost the cp 1 kernel's time per FLOP
MERGE_CAL = replace(CAL, attention_noncausal_rate_ratio=1.0, attention_block_tokens=0.0)
HW = HardwareArrays.from_designs(get_accelerator("H100-SXM").design.replace(accelerator_count=8))


#: The mappings of these tests: sequence parallelism and TP overlap on.
_mapping = partial(mapping_arrays, sequence_parallel=1.0, tp_overlap=1.0)


def _lora70b(precision: str = "fp8"):
    wl = load_workload("llama2-70b")
    return replace(wl, training=replace(wl.training, mode="finetune_lora", precision=precision, lora_rank=16,
                                        lora_targets=("attention_qkv", "attention_dense")))


@pytest.mark.parametrize("tp", [1, 2, 4])
def test_uncached_fp8_weight_transpose_costs_two_bytes_per_weight_each_backward(tp):
    wl = _lora70b()
    peak = HW.peak_matrix_flops_fp8
    base = layer_costs(HW, wl, _mapping(tp=tp, cp=2), CAL, peak)
    uncached = layer_costs(HW, wl, _mapping(tp=tp, cp=2), replace(CAL, fp8_weight_transpose_bytes_per_element=2.0), peak)
    h, hd = wl.hidden, wl.head_dim
    weights = (h * (wl.heads + 2 * wl.kv_heads) * hd + wl.heads * hd * h
               + (wl.ffn_matrices - 1) * wl.ffn_hidden * h + wl.ffn_hidden * h) / tp
    expected = 2.0 * weights / (float(np.ravel(HW.hbm_bw_bytes_per_s)[0]) * CAL.hbm_bw_efficiency) + 4 * CAL.kernel_overhead_s
    assert float(uncached.dense_bwd_s.ravel()[0]) - float(base.dense_bwd_s.ravel()[0]) == pytest.approx(expected, rel=1e-9)
    assert float(uncached.dense_fwd_s.ravel()[0]) == float(base.dense_fwd_s.ravel()[0])  # the forward reads the FP8 weight as held
    # 70B on H100 at TP4: ~0.15 ms per layer per micro-batch (214 M weight elements per rank, 3.35 TB/s)
    if tp == 4:
        assert 0.12e-3 < expected < 0.18e-3


def test_bf16_gemms_pay_no_fp8_transpose():
    wl = _lora70b("bf16")
    peak = HW.peak_matrix_flops_bf16
    base = layer_costs(HW, wl, _mapping(tp=4, cp=1), CAL, peak)
    other = layer_costs(HW, wl, _mapping(tp=4, cp=1), replace(CAL, fp8_weight_transpose_bytes_per_element=2.0), peak)
    assert float(other.dense_bwd_s.ravel()[0]) == float(base.dense_bwd_s.ravel()[0])


@pytest.mark.parametrize("stem", ["llama3-8b", "llama2-70b"])
def test_ring_attention_merge_costs_more_per_token_than_one_kernel(stem):
    """cp ranks each hold seq/cp tokens: without the merge the core time per rank would be exactly 1/cp
    of cp = 1 (same causal FLOPs per token); the merge makes it larger, by more at larger cp."""
    wl = load_workload(stem)
    peak = HW.peak_matrix_flops_bf16
    t = [float(layer_costs(HW, wl, _mapping(tp=1, cp=c), MERGE_CAL, peak).attn_core_fwd_s.ravel()[0]) * c for c in (1, 2, 4, 8)]
    assert t[0] < t[1] < t[2] < t[3]


def test_ring_merge_share_falls_with_sequence_length():
    """The merge moves the outputs (~ tokens), the attention computes scores (~ tokens x seq): its share
    of the forward core at cp 2 falls as the sequence grows."""
    wl = load_workload("llama3-8b")
    peak = HW.peak_matrix_flops_bf16
    share = []
    for s in (4096, 8192, 32768):
        w = replace(wl, training=replace(wl.training, seq_len=s))
        one = float(layer_costs(HW, w, _mapping(tp=1, cp=1), MERGE_CAL, peak).attn_core_fwd_s.ravel()[0])
        two = float(layer_costs(HW, w, _mapping(tp=1, cp=2), MERGE_CAL, peak).attn_core_fwd_s.ravel()[0])
        share.append(2 * two / one - 1)
    assert share[0] > share[1] > share[2] > 0
    assert share[0] < 0.5 and share[2] < 0.1


def test_ring_merge_matches_the_counted_kernels():
    wl = load_workload("llama3-8b")
    peak = HW.peak_matrix_flops_bf16
    one = float(layer_costs(HW, wl, _mapping(tp=1, cp=1), MERGE_CAL, peak).attn_core_fwd_s.ravel()[0])
    two = layer_costs(HW, wl, _mapping(tp=1, cp=2), MERGE_CAL, peak)
    tokens = wl.seq_len / 2
    q_bytes = 2.0 * tokens * wl.heads * wl.head_dim
    bw = float(np.ravel(HW.hbm_bw_bytes_per_s)[0]) * MERGE_CAL.hbm_bw_efficiency
    t0 = MERGE_CAL.kernel_overhead_s
    merge_fwd = 2 * (3 * q_bytes / bw + 2 * t0) + t0
    # the core without merge at cp 2 is half the cp 1 core (same kernel overhead once)
    no_merge = (one - t0) / 2 + t0
    assert float(two.attn_core_fwd_s.ravel()[0]) == pytest.approx(no_merge + merge_fwd, rel=1e-9)
