"""The last pipeline stage's memory (s14-fsdpmoe): it builds the output layer and computes the loss, so it holds
one micro-batch's logits (bf16 + fp32, 6 B per token and vocabulary entry over tp) beside its layers and its own
in-flight micro-batches. Before, only pp = 1 paid the logits: a pp = 2 mapping at micro-batch 8 of a 150k-201k
vocabulary model left 30-40 GB uncounted on its last stage."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from model_helpers import enumerated_with

from archsweep.load.calibration import load_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.training.mapping import RECOMPUTE
from archsweep.model.training.memory import memory_per_accelerator
from archsweep.model.training.schedule import in_flight_layer_fraction

CAL = load_calibration(stack="megatron-core")


def _logits(wl, mp) -> np.ndarray:
    return 6.0 * mp.micro_batch * wl.seq_len / mp.cp * wl.vocab / mp.tp


@pytest.mark.parametrize("model", ["qwen3-235b-a22b", "llama3-70b"])
@pytest.mark.parametrize("pp", [2, 4, 8])
def test_a_pipeline_pays_the_last_stage_logits(model, pp):
    """Every pp >= 2 mapping holds at least one micro-batch's logits plus its state, whichever stage binds."""
    wl = load_workload(model)
    mp = enumerated_with(wl, pp=pp)
    n = len(mp)
    mem = memory_per_accelerator(wl, mp, np.full(n, 8.0), np.full(n, 16.0), CAL)
    assert np.all(mem.activations_bytes >= _logits(wl, mp) * (1 - 1e-12))


def test_the_last_stage_binds_where_its_logits_outweigh_the_first_stage_in_flight_layers():
    """Qwen3-235B at tp 1 pp 2 ep 8 micro-batch 8, full recompute, m = 2: the first stage holds 2 micro-batches
    of its 47 layers' inputs (25 GB), the last 1 (12.6 GB) plus 30 GB of logits: the last one binds, and the
    bound is exactly its parts."""
    wl = load_workload("qwen3-235b-a22b")
    mp = enumerated_with(wl, tp=1, pp=2, ep=8, vpp=1, micro_batch=8, recompute=RECOMPUTE.index("full"), zero_stage=1, cp=1)
    n = len(mp)
    m = np.full(n, 2.0)
    mem = memory_per_accelerator(wl, mp, np.full(n, 128.0), m, CAL)
    layer_input = 2.0 * 8 * wl.seq_len * wl.hidden  # full recompute keeps each layer's input
    layers = np.ceil(wl.layers / 2)
    last = layers * layer_input * in_flight_layer_fraction(m, mp.pp, mp.vpp, mp.pp - 1) + _logits(wl, mp)
    np.testing.assert_allclose(mem.activations_bytes, last, rtol=1e-9)
    assert np.all(in_flight_layer_fraction(m, mp.pp, mp.vpp, 0) * layers * layer_input < last)


@pytest.mark.parametrize("vocab", [32000, 151936, 262144])
def test_memory_never_falls_with_a_larger_vocabulary(vocab):
    wl = load_workload("llama3-70b")
    small = replace(wl, architecture=replace(wl.architecture, vocab=vocab))
    big = replace(wl, architecture=replace(wl.architecture, vocab=2 * vocab))
    mp = enumerated_with(wl)
    n = len(mp)
    args = (np.full(n, 8.0), np.full(n, 16.0), CAL)
    assert np.all(memory_per_accelerator(big, mp, *args).total_bytes >= memory_per_accelerator(small, mp, *args).total_bytes)
