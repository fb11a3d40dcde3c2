"""Under the embedding / loss pipeline split the DP gradient sync and the optimizer step are those of the stage
with the most parameters (issue 10, s12-correct).

Megatron-Core ``get_num_layers_to_build`` (NVIDIA/Megatron-LM @b0cc2706dd megatron/core/transformer/transformer_block.py)
gives every stage (L + 2) / pp slots with ``account_for_embedding_in_pipeline_split`` and
``account_for_loss_in_pipeline_split``: the first stage builds one layer fewer beside the embedding, the last one fewer
beside the output layer, a middle stage all its slots. Before, the DP sync and the optimizer took ceil(L / pp) layers
*and* the embedding (a stage that does not exist under the split). Hand counts on Llama 3.1 405B (126 layers, 128 slots,
untied 128,256 x 16,384 embedding): at pp 8 a middle stage's 16 layers bind (16 P > 15 P + V h); at pp 2 each stage
holds 63 layers and one vocabulary matrix."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.workloads import load_workload
from archsweep.model.training.data_parallel import synced_stage_parameters
from archsweep.model.training.mapping import enumerate_mappings, parse_strategy
from archsweep.model.training.step import training_step
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()


def _job(split: bool, strategy: str, name: str = "llama3-405b"):
    wl = load_workload(name)
    wl = replace(wl, training=replace(wl.training, embedding_loss_in_pipeline_split=split))
    mp, fixed_dp = enumerate_mappings(wl, parse_strategy(strategy))
    return wl, mp, fixed_dp


@pytest.mark.parametrize(("pp", "layers", "vocab_matrices"), [(8, 16, 0), (4, 32, 0), (2, 63, 1)])
def test_the_largest_stage_by_hand(pp, layers, vocab_matrices):
    wl, mp, _ = _job(True, f"tp=8,pp={pp},cp=1,vpp=1,mb=1,recompute=full,zero=1")
    per_layer = wl.attention_params_per_layer + wl.dense_ffn_params
    assert per_layer > wl.vocab * wl.hidden  # so a middle stage's one more layer outweighs the vocabulary matrix
    dense, expert = synced_stage_parameters(wl, mp, np.full_like(mp.tp, 8.0))
    np.testing.assert_allclose(dense, (layers * per_layer + vocab_matrices * wl.vocab * wl.hidden) / 8, rtol=1e-12)
    assert np.all(expert == 0.0)


def test_without_the_split_unchanged_and_never_more_with_it():
    for pp in (2, 4, 8, 16):
        strategy = f"tp=8,pp={pp},cp=1,vpp=1,mb=1,recompute=full,zero=1"
        wl_off, mp, _ = _job(False, strategy)
        wl_on, _, _ = _job(True, strategy)
        etp = np.full_like(mp.tp, 8.0)
        per_layer = wl_off.attention_params_per_layer + wl_off.dense_ffn_params
        off = synced_stage_parameters(wl_off, mp, etp)[0]
        np.testing.assert_allclose(off, (np.ceil(wl_off.layers / pp) * per_layer + wl_off.vocab * wl_off.hidden) / 8)
        assert np.all(synced_stage_parameters(wl_on, mp, etp)[0] <= off)


def test_optimizer_time_follows_the_stage():
    """The optimizer step is HBM-bound over the local state: its ratio split on / off at pp 8 is 16 P / (16 P + V h)."""
    strategy = "tp=8,pp=8,cp=1,vpp=1,mb=1,recompute=full,zero=1"
    hw = HardwareArrays.from_designs([get_accelerator("H100-SXM").design.replace(accelerator_count=1024)])
    steps = {}
    for split in (False, True):
        wl, mp, fixed_dp = _job(split, strategy)
        steps[split] = training_step(hw, wl, mp, CAL, fixed_dp)
    per_layer = wl.attention_params_per_layer + wl.dense_ffn_params
    ratio = 16 * per_layer / (16 * per_layer + wl.vocab * wl.hidden)
    np.testing.assert_allclose(steps[True].optimizer_time_s, ratio * steps[False].optimizer_time_s, rtol=1e-9)
    assert np.all(steps[True].dp_comm_exposed_s <= steps[False].dp_comm_exposed_s)


def test_moe_first_stage_binds_with_its_embedding():
    """Qwen3-235B-A22B (94 layers, 96 slots, untied 151,936 x 4,096 embedding) at tp 2 pp 8 ep 32 (etp 1, the
    Megatron-Bridge H100 layout): per accelerator the embedding (311 M) outweighs one layer (36 M dense + 76 M
    expert), so the first stage binds with 11 layers and the embedding -- not 12 layers and the embedding."""
    wl, mp, _ = _job(True, "tp=2,pp=8,cp=1,ep=32,vpp=1,mb=1,recompute=full,zero=1", "qwen3-235b-a22b")
    dense, expert = synced_stage_parameters(wl, mp, np.ones_like(mp.tp))
    router = wl.hidden * wl.moe.num_experts
    np.testing.assert_allclose(dense, (11 * (wl.attention_params_per_layer + router) + wl.vocab * wl.hidden) / 2,
                               rtol=1e-12)
    np.testing.assert_allclose(expert, 11 * wl.moe.num_experts * wl.expert_params / 32, rtol=1e-12)


@pytest.mark.parametrize("pp", [4, 8])
def test_memory_holds_the_largest_stage(pp):
    """Review s12 finding 10: memory took the first stage's parameters while the DP sync took a middle stage's. At
    Llama 3.1 405B pp 4 / 8 (ZeRO 0, 1F1B) a middle stage holds (L + 2) / pp layers and no embedding, more
    parameters than the first (one layer fewer plus the embedding); its weights, gradients and optimizer state,
    per parameter as model_state_bytes_per_param, are a floor of the memory (which takes the fuller stage)."""
    from archsweep.model.training.mapping import data_parallel_degree, expert_tensor_parallel, microbatch_count
    from archsweep.model.training.memory import memory_per_accelerator
    from archsweep.model.training.state_memory import model_state_bytes_per_param

    wl, mp, fixed_dp = _job(True, f"tp=8,pp={pp},cp=1,vpp=1,mb=1,recompute=full,zero=0")
    dp = data_parallel_degree(np.float64(1024.0), mp, fixed_dp)
    dense, experts = synced_stage_parameters(wl, mp, expert_tensor_parallel(mp, dp))
    grad_b, state_b, shard_b = model_state_bytes_per_param(wl, CAL)
    floor = (dense + experts) * (CAL.weight_bytes_per_param + grad_b + state_b + shard_b)
    mem = memory_per_accelerator(wl, mp, dp, microbatch_count(wl.training.global_batch_seqs, dp, mp), CAL)
    state = mem.weights_bytes + mem.gradients_bytes + mem.optimizer_bytes
    assert np.all(state >= floor * (1 - 1e-12))
    no_split = memory_per_accelerator(replace(wl, training=replace(wl.training, embedding_loss_in_pipeline_split=False)),
                                      mp, dp, microbatch_count(wl.training.global_batch_seqs, dp, mp), CAL)
    assert np.all(mem.total_bytes <= no_split.total_bytes)  # ceil(L / pp) layers + the embedding: more than either
