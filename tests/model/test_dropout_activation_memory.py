"""Issue 10 (s4-mem2): dropout masks and dropout outputs are stored only when the architecture's
dropout is > 0 (PyTorch ``dropout`` returns its input at p = 0; Megatron-Core fused_bias_dropout.py).
Memory with dropout 0 never exceeds memory with dropout > 0 and differs only in activations; the
difference is Korthikanti's mask terms exactly: (2 s b h + 3 a s^2 b) bytes per layer, unsharded."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from model_helpers import mapping_arrays

from archsweep.load.calibration import load_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.training.activation_memory import activation_bytes_per_layer
from archsweep.model.training.memory import memory_per_accelerator
from archsweep.spec.errors import InputError

CAL = load_calibration()


def _with_dropout(wl, p: float):
    return replace(wl, architecture=replace(wl.architecture, dropout=p))


@settings(max_examples=40, deadline=None)
@given(stem=st.sampled_from(["llama3-8b", "gpt3-5b", "mixtral-8x7b", "qwen3-30b-a3b"]),
       tp=st.sampled_from([1, 2, 8]), pp=st.sampled_from([1, 4]), mb=st.sampled_from([1, 2]),
       recompute=st.sampled_from([0, 1, 2]), sp=st.sampled_from([0, 1]), flash=st.sampled_from([0, 1]),
       precision=st.sampled_from(["bf16", "fp8"]))
def test_dropout_zero_never_holds_more_and_only_activations_change(stem, tp, pp, mb, recompute, sp, flash, precision):
    wl = load_workload(stem)
    wl = replace(wl, training=replace(wl.training, precision=precision))
    mp = mapping_arrays(tp=tp, pp=pp, micro_batch=mb, recompute=recompute, sequence_parallel=sp, flash_attention=flash,
                  ep=8.0 if wl.moe is not None else 1.0)
    dp, m = np.array(8.0), np.array(16.0)
    off = memory_per_accelerator(_with_dropout(wl, 0.0), mp, dp, m, CAL)
    on = memory_per_accelerator(_with_dropout(wl, 0.1), mp, dp, m, CAL)
    assert np.all(off.total_bytes <= on.total_bytes)
    assert np.all(off.activations_bytes <= on.activations_bytes)
    for part in ("weights_bytes", "gradients_bytes", "optimizer_bytes", "reserved_bytes"):
        np.testing.assert_array_equal(getattr(off, part), getattr(on, part))
    if recompute == 2:  # full recompute keeps only each layer's input: no mask stored either way
        np.testing.assert_array_equal(off.activations_bytes, on.activations_bytes)


def test_mask_bytes_are_korthikanti_terms():
    # Without parallelism and without flash attention the difference per layer is 2 s b h + 3 a s^2 b
    # (Korthikanti Sec. 4.1: the two Th masks, and the score mask 1 B + dropout output 2 B).
    wl = load_workload("gpt3-5b")
    mp = mapping_arrays(flash_attention=0.0)
    s, b, h, a = wl.seq_len, 1, wl.hidden, wl.heads
    diff = (activation_bytes_per_layer(_with_dropout(wl, 0.1), mp, False)
            - activation_bytes_per_layer(_with_dropout(wl, 0.0), mp, False))
    assert float(diff[0]) == pytest.approx(2 * s * b * h + 3 * a * s * s * b, rel=1e-12)


def test_dropout_value_does_not_matter_beyond_zero():
    wl, mp = load_workload("gpt3-5b"), mapping_arrays(tp=2.0, flash_attention=0.0)
    a = activation_bytes_per_layer(_with_dropout(wl, 0.1), mp, False)
    b = activation_bytes_per_layer(_with_dropout(wl, 0.5), mp, False)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("stem", "p"), [("gpt3-175b", 0.1), ("megatron-530b", 0.1), ("llama3-405b", 0.0),
                                         ("mixtral-8x7b", 0.0), ("mpt-7b", 0.0), ("deepseek-v3", 0.0)])
def test_shipped_models_state_their_dropout(stem, p):
    assert load_workload(stem).architecture.dropout == p


def test_architecture_rejects_dropout_outside_unit_interval():
    arch = load_workload("llama3-8b").architecture
    with pytest.raises(InputError) as info:
        replace(arch, dropout=1.0)
    assert info.value.problem.key_path == "dropout" and "[0, 1)" in info.value.problem.allowed
