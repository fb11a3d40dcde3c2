"""Issue 10 (s20-F): the bytes the output layer and the loss hold per logit element are the stack's
(``Calibration.loss_logit_bytes_per_element``): Megatron-Core's cross entropy keeps the BF16 logits and an FP32 copy
(6 B, data/calibration/model.yaml), llm-foundry's default fused cross entropy (flash-attn's xentropy) the BF16
logits and, at the backward's start, their BF16 gradient (4 B, software_stacks.yaml ``pytorch-fsdp``). Only the last
pipeline stage's activations change, by exactly the byte difference x tokens x vocabulary / tp; the four MPT-350M
A100-40GB rows that ran at micro-batch 18 fit with llm-foundry's 4 B and would not with 6 B."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from model_helpers import mapping_arrays

from archsweep.load.calibration import load_calibration
from archsweep.load.paths import data_dir
from archsweep.load.workloads import load_workload
from archsweep.model.training.memory import memory_per_accelerator
from archsweep.validation.cells import read_measurements
from archsweep.validation.run import validate_rows

MPT_350M_40GB = ("mpt_199_350m_a100_40gb_2048_128gpu_bf16", "mpt_200_350m_a100_40gb_2048_64gpu_bf16",
                 "mpt_201_350m_a100_40gb_2048_32gpu_bf16", "mpt_202_350m_a100_40gb_2048_16gpu_bf16")


def test_the_stacks_state_their_loss_bytes():
    assert load_calibration().loss_logit_bytes_per_element == 6.0  # megatron-core
    assert load_calibration(stack="megatron-core-flex").loss_logit_bytes_per_element == 6.0
    assert load_calibration(stack="pytorch-fsdp").loss_logit_bytes_per_element == 4.0


@settings(max_examples=30, deadline=None)
@given(stem=st.sampled_from(["llama3-8b", "mpt-350m", "qwen3-30b-a3b"]), tp=st.sampled_from([1, 2, 8]),
       pp=st.sampled_from([1, 2, 4]), mb=st.sampled_from([1, 4]), recompute=st.sampled_from([0, 2]),
       cp=st.sampled_from([1, 2]), loss_bytes=st.sampled_from([2.0, 4.0, 8.0]))
def test_only_the_last_stage_logits_move(stem, tp, pp, mb, recompute, cp, loss_bytes):
    """Fewer bytes per logit never hold more; weights, gradients and optimizer state never move; at pp = 1 (one
    stage, which holds the logits) the activations move by exactly the difference, at pp > 1 the fullest stage
    by at most that (only the last stage holds logits)."""
    wl = load_workload(stem)
    mp = mapping_arrays(tp=tp, pp=pp, cp=cp, micro_batch=mb, recompute=recompute,
                        ep=8.0 if wl.moe is not None else 1.0)
    dp, m = np.array(8.0), np.array(16.0)
    six = load_calibration()
    other = replace(six, loss_logit_bytes_per_element=loss_bytes)
    a, b = memory_per_accelerator(wl, mp, dp, m, six), memory_per_accelerator(wl, mp, dp, m, other)
    for part in ("weights_bytes", "gradients_bytes", "optimizer_bytes", "reserved_bytes"):
        np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
    if loss_bytes < 6.0:
        assert np.all(b.total_bytes <= a.total_bytes)
    logit_elements = mb * wl.seq_len / cp * wl.vocab / tp
    moved = float(a.total_bytes[0] - b.total_bytes[0])
    if pp == 1:  # one stage: its activations move by exactly the difference
        assert float(a.activations_bytes[0] - b.activations_bytes[0]) == pytest.approx(
            (6.0 - loss_bytes) * logit_elements, rel=1e-9)
        assert moved == pytest.approx((6.0 - loss_bytes) * logit_elements, rel=1e-9)
    else:  # the fullest stage moves by at most the difference (the first stage holds no logits)
        assert abs(moved) <= abs(6.0 - loss_bytes) * logit_elements * (1 + 1e-9)


def test_the_mpt_350m_40gb_rows_fit_with_llm_foundrys_loss():
    """llm-foundry's published MPT-350M runs on 16-128 A100-40GB at micro-batch 18 (no activation checkpointing,
    scripts/train/benchmarking/README.md @495218376 table "A100 40GB"): they ran, so the model must fit them. With
    the fused cross entropy's 4 B per logit they do; Megatron's 6 B puts them 1-2 % over HBM. The step time does
    not move (memory is a feasibility limit only)."""
    rows = [r for r in read_measurements(data_dir() / "validation" / "training_runs.csv") if r["run_id"] in MPT_350M_40GB]
    assert len(rows) == 4 and {r["micro_batch"] for r in rows} == {"18"}
    fsdp = load_calibration(stack="pytorch-fsdp")
    now = validate_rows(rows)
    before = validate_rows(rows, calibration=replace(fsdp, loss_logit_bytes_per_element=6.0))
    for new, old in zip(now, before, strict=True):
        assert new.status == "ok" and "exceeds HBM" not in new.reason
        assert "memory exceeds HBM by" in old.reason
        assert new.error_pct == pytest.approx(old.error_pct, abs=1e-9)
        assert abs(new.error_pct) < 5.0
