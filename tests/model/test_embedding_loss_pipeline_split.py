"""The pipeline split that counts the input embedding and the loss as one layer each (issue 10, s11-mcmoe):
Megatron-Core ``account_for_embedding_in_pipeline_split`` + ``account_for_loss_in_pipeline_split``
(NVIDIA/Megatron-LM @b0cc2706dd megatron/core/transformer/transformer_block.py ``get_num_layers_to_build``),
set by Megatron-Bridge's Qwen3-235B-A22B / Llama 3.1 405B recipes and the Megatron-LM MoE model zoo.

Each stage holds (L + 2) / pp slots; the last stage builds one layer fewer and runs the output layer, so the
slowest stage per micro-batch is max(slots x layer, (slots - 1) x layer + logits) for pp >= 3 (exact, on every
enumerated mapping of Qwen3-235B-A22B's 94 layers and Llama 3.1 405B's 126); pp <= 2 is unchanged; a layout
Megatron-Core refuses (pp not dividing L + 2, vpp not dividing the slots) is invalid; with the split the
stage is never slower than without it, and a job that does not ask is Megatron-Core's default."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.workloads import load_workload
from archsweep.model.training.mapping import enumerate_mappings
from archsweep.model.training.step import stage_compute
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()


def _stages(name: str, count: int):
    wl = load_workload(name)
    on = replace(wl, training=replace(wl.training, embedding_loss_in_pipeline_split=True))
    mappings, fixed_dp = enumerate_mappings(wl)
    hw = HardwareArrays.from_designs([get_accelerator("H100-SXM").design.replace(accelerator_count=count)])
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return wl, mappings, stage_compute(hw, wl, mappings, CAL, fixed_dp), stage_compute(hw, on, mappings, CAL,
                                                                                           fixed_dp)


@pytest.mark.parametrize(("name", "count"), [("qwen3-235b-a22b", 256), ("llama3-405b", 1024)])
def test_slowest_stage_of_the_split(name, count):
    wl, mp, off, on = _stages(name, count)
    assert wl.training.embedding_loss_in_pipeline_split is False  # Megatron-Core's default
    pp, vpp = np.ravel(mp.pp), np.maximum(np.ravel(mp.vpp), 1.0)
    slots = (wl.layers + 2) / pp
    allowed = (pp == 1) | ((np.mod(wl.layers + 2, pp) == 0) & (np.mod(slots, vpp) == 0))
    valid_off, valid_on = np.ravel(off.valid), np.ravel(on.valid)
    np.testing.assert_array_equal(valid_on, valid_off & allowed)
    assert (allowed & valid_on & (pp >= 3)).any()
    if name.startswith("qwen3"):  # 96 slots: e.g. pp 5 or vpp 5 at pp 8 are refused (128 divides every pp of 405B's)
        assert (~allowed & valid_off).any()
    per_mb_on = np.ravel(on.compute / on.microbatches)
    per_mb_off = np.ravel(off.compute / off.microbatches)
    layer = np.ravel(off.t_layer_f + off.t_layer_b) * np.ones_like(pp)
    logits = np.ravel(off.lc.logits_fwd_s + off.lc.logits_bwd_s) * np.ones_like(pp)
    deep = valid_on & (pp >= 3) & (np.ravel(off.t_layer_rc) * np.ones_like(pp) == 0)
    expected = np.maximum(slots * layer, (slots - 1) * layer + logits)
    np.testing.assert_allclose(per_mb_on[deep], expected[deep], rtol=1e-12)
    shallow = valid_on & (pp <= 2)
    np.testing.assert_array_equal(per_mb_on[shallow], per_mb_off[shallow])
    both = valid_on & valid_off
    assert np.all(np.ravel(on.compute + on.recompute + on.bubble)[both]
                  <= np.ravel(off.compute + off.recompute + off.bubble)[both] * (1 + 1e-12))
    # pp >= 3: what the split saves per micro-batch is the smaller of one layer and the output layer
    saved = per_mb_off - per_mb_on
    np.testing.assert_allclose(saved[deep], np.minimum(layer, logits)[deep], rtol=1e-9)


def test_a_non_boolean_flag_is_refused():
    wl = load_workload("qwen3-235b-a22b")
    with pytest.raises(InputError, match="embedding_loss_in_pipeline_split"):
        replace(wl.training, embedding_loss_in_pipeline_split="yes")


def test_pruned_search_is_exact_with_the_split():
    """The validation's optimism search (the pruned search) finds the exhaustive search's mapping for a job with
    the split too: its compute side is ``stage_compute`` itself and its communication bound keeps ceil(L / pp)
    layers, as the step does."""
    from random_hardware import TECH, random_candidates

    from archsweep.model.driver import _best_mappings
    from archsweep.model.training import pruned_search as ps
    from archsweep.model.training.job_kind import TrainingJobKind

    wl = load_workload("qwen3-235b-a22b")
    wl = replace(wl, training=replace(wl.training, embedding_loss_in_pipeline_split=True))
    mappings, fixed_dp = enumerate_mappings(wl)
    hw = random_candidates(30, seed=11)
    want = _best_mappings(TrainingJobKind(wl, CAL), hw, mappings, "step_time_s", TECH)
    got = ps.best_mapping_indices(hw, wl, mappings, fixed_dp, CAL, "step_time_s")
    assert np.array_equal(got, want)


def test_first_stage_memory_of_the_split():
    """The memory side (s11-vpp): the first stage builds (L + 2) / pp - 1 layers beside the embedding instead of
    ceil(L / pp) (Qwen3-235B-A22B, 94 layers: 11 instead of 12 at pp 8); its layer weights, gradients, optimizer
    state and stored activations scale with that count, the embedding and pp = 1 stay as they are, and the first
    stage never holds more than without the split. The memory is the fuller of the first and second stage since
    s12-m2 (test_split_synced_stage.py), and of those and the last since s14-fsdpmoe: the first stage's own is
    ``memory._stage_memory`` of the "first" stage."""
    from archsweep.model.training.mapping import expert_tensor_parallel
    from archsweep.model.training.memory import _stage_memory, first_stage_layers, memory_per_accelerator
    from archsweep.model.training.state_memory import stage_parameters

    wl = load_workload("qwen3-235b-a22b")
    on = replace(wl, training=replace(wl.training, embedding_loss_in_pipeline_split=True))
    mp, _ = enumerate_mappings(wl)
    dp, mb = np.full(len(mp), 8.0), np.full(len(mp), 64.0)
    pp = np.ravel(mp.pp)
    even, split = first_stage_layers(wl, mp), first_stage_layers(on, mp)
    np.testing.assert_array_equal(even, np.ceil(94 / pp))
    np.testing.assert_array_equal(split, np.where(pp > 1, 96 / pp - 1, 94))
    assert split[pp == 8][0] == 11 and even[pp == 8][0] == 12
    with np.errstate(invalid="ignore", divide="ignore"):
        m_off, m_on = memory_per_accelerator(wl, mp, dp, mb, CAL), memory_per_accelerator(on, mp, dp, mb, CAL)
        first_on = _stage_memory(on, mp, dp, mb, CAL, first_stage_layers(on, mp), "first")
        first_off = _stage_memory(wl, mp, dp, mb, CAL, first_stage_layers(wl, mp), "first")
    deep = (pp > 1) & (np.mod(96, pp) == 0)
    assert deep.any()
    assert wl.training.activation_offload_layers == 0
    np.testing.assert_allclose(first_on.activations_bytes[deep], first_off.activations_bytes[deep] * (split / even)[deep],
                               rtol=1e-12)
    etp = expert_tensor_parallel(mp, dp)
    (d_off, e_off), (d_on, e_on) = stage_parameters(wl, mp, etp), stage_parameters(on, mp, etp, split)
    np.testing.assert_allclose(e_on[deep], e_off[deep] * (split / even)[deep], rtol=1e-12)
    embed = wl.vocab * wl.hidden / np.ravel(mp.tp)
    np.testing.assert_allclose((d_on - embed)[deep], (d_off - embed)[deep] * (split / even)[deep], rtol=1e-12)
    np.testing.assert_array_equal(m_on.total_bytes[pp == 1], m_off.total_bytes[pp == 1])
    assert np.all(m_on.total_bytes <= m_off.total_bytes * (1 + 1e-12))
    fewer = deep & (split < even)  # pp = 2: 96 / 2 - 1 = 47 = ceil(94 / 2), nothing saved
    assert fewer.any() and not (deep & (pp == 2) & (split != even)).any()
    assert np.all(first_on.total_bytes[fewer] < m_off.total_bytes[fewer])
