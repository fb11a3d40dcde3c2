"""Megatron-Core's custom pipeline layout (``TrainingJob.pipeline_layout``) and DeepSeek-V3's MTP layer (issue 10,
s12-layout): the parser and checks of NVIDIA/Megatron-LM @b0cc2706dd megatron/core/transformer/
pipeline_parallel_layer_layout.py, the slowest rank under a layout, its 1F1B bubble, the MTP block's work and
FLOPs (Megatron-LM training.py L354-358 / L556-572)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.workloads import load_workload
from archsweep.model.training.layout_stage import layout_rank_layers, mtp_block_costs
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.step import model_flops_per_token, stage_compute, training_step
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.pipeline_layout import parse_layout

CAL = load_calibration()
PP16 = "Et*4|(t*4|)*14tmL"  # Megatron-Bridge v0.3.0 DEEPSEEK_V3_PRETRAIN_CONFIG_GB300_FP8_MX_V2 pp_layout


def _job(wl, **kw):
    return replace(wl, training=replace(wl.training, **kw))


def _mapping(pp, vpp, tp=1, ep=8, mb=1, recompute=0):
    kw = dict(tp=tp, pp=pp, cp=1, ep=ep, vpp=vpp, micro_batch=mb, recompute=recompute, zero_stage=1,
              sequence_parallel=0, flash_attention=1, tp_overlap=0, dp_overlap=1)
    return MappingArrays(**{k: np.asarray([float(v)]) for k, v in kw.items()})


def _hw(count=256, part="B200"):
    return HardwareArrays.from_designs([get_accelerator(part).design.replace(accelerator_count=count)])


def test_the_parser_reads_megatron_cores_grammar():
    layout = parse_layout(PP16)
    assert layout.stage_count == 16
    assert [layout.count(k) for k in "EtmL"] == [1, 61, 1, 1]
    assert layout.stages[0] == ("E", "t", "t", "t", "t") and layout.stages[-1] == ("t", "m", "L")
    assert parse_layout("Et|(tt|)*30mL").stage_count == 32  # the H100 preset (pp 8 x vpp 4)
    assert parse_layout("Ett,t|ttL").stages == (("E", "t", "t", "t"), ("t", "t", "L"))  # commas are cosmetic
    with pytest.raises(InputError, match=r"pipeline_layout.*unknown characters \['x'\]"):
        parse_layout("Etx|tL")


def test_the_model_checks_megatron_core_makes():
    layout = parse_layout(PP16)
    layout.check_model(61, 1, "f")
    for layers, mtp, message in ((60, 1, "holds 61 t layers, the model has 60"), (61, 0, "mtp_num_layers 0")):
        with pytest.raises(InputError, match=message):
            layout.check_model(layers, mtp, "f")
    with pytest.raises(InputError, match="first layer must be E"):
        parse_layout("tE|tL").check_model(2, 0, "f")
    with pytest.raises(InputError, match="before MTP layers"):
        parse_layout("Etm|tL").check_model(2, 1, "f")
    wl = load_workload("deepseek-v3")
    with pytest.raises(InputError, match=r"<workload deepseek-v3>: pipeline_layout"):
        _job(wl, pipeline_layout="Et*60|mL")
    with pytest.raises(InputError, match="embedding_loss_in_pipeline_split"):
        _job(wl, pipeline_layout=PP16, embedding_loss_in_pipeline_split=True)


def test_which_pipeline_sizes_megatron_core_accepts():
    layout = parse_layout(PP16)
    assert [p for p in range(1, 17) if layout.runs_on(p)] == [1, 2, 4, 8, 16]
    assert not parse_layout("Et*30|t*31m|L").runs_on(1)  # MTP in a rank's middle virtual stage
    assert parse_layout("Et*30|t*31m|L").runs_on(3)
    counts = layout_rank_layers(layout, 3, 2)  # pp 2 x vpp 8: rank 0 stages 0, 2, .., 14
    np.testing.assert_array_equal(counts, [[3, 29, 0, 0], [0, 29, 1, 1]])


def test_a_layout_equal_to_the_even_split_prices_the_same():
    wl = load_workload("llama2-13b")  # 40 layers, no MTP
    stated = _job(wl, pipeline_layout="Et*10|t*10|t*10|t*10L")
    hw = _hw(64, "H100-SXM")
    for vpp in (1.0,):
        mp = _mapping(4, vpp, tp=2, ep=1)
        a, b = training_step(hw, wl, mp, CAL), training_step(hw, stated, mp, CAL)
        assert bool(a.valid[0]) and bool(b.valid[0])
        np.testing.assert_allclose(b.compute_time_s, a.compute_time_s, rtol=1e-12)
        np.testing.assert_allclose(b.bubble_time_s, a.bubble_time_s, rtol=1e-12)
        np.testing.assert_allclose(b.step_time_s, a.step_time_s, rtol=1e-12)
    assert not bool(training_step(hw, stated, _mapping(2, 1, tp=2, ep=1), CAL).valid[0])  # 4 stages, pp x vpp 2


def test_the_deepseek_v3_pp16_layout_binds_on_its_slowest_rank():
    wl = load_workload("deepseek-v3")
    stated = _job(wl, pipeline_layout=PP16)
    mp = _mapping(16, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sc = stage_compute(_hw(), stated, mp, CAL)
    lc = sc.lc
    dense, moe = lc.dense_fwd_s + lc.dense_bwd_s, lc.moe_fwd_s + lc.moe_bwd_s
    mtp = sum(mtp_block_costs(stated, mp, CAL, lc))
    logits = lc.logits_fwd_s + lc.logits_bwd_s
    ranks = [3 * dense + moe] + [4 * moe] * 14 + [moe + mtp + logits]
    assert bool(sc.valid[0])
    np.testing.assert_allclose(sc.compute / sc.microbatches, max(ranks), rtol=1e-12)
    np.testing.assert_allclose(sc.bubble, sum(ranks) - max(ranks), rtol=1e-12)  # 1F1B: the other ranks' work
    even = stage_compute(_hw(), wl, mp, CAL)  # the even split: ceil(61 / 16) = 4 layers + logits + MTP
    assert float(even.compute[0]) > float(sc.compute[0])
    assert not bool(stage_compute(_hw(), stated, _mapping(8, 1), CAL).valid[0])  # 16 stages at pp 8 x vpp 1


def test_the_mtp_block_is_one_layer_a_projection_and_the_output_layer_again():
    wl = load_workload("deepseek-v3")
    assert wl.mtp_num_layers == 1
    none = replace(wl, architecture=replace(wl.architecture, mtp_num_layers=0))
    mp = _mapping(1, 1, ep=8)
    with np.errstate(invalid="ignore", divide="ignore"):
        a, b = stage_compute(_hw(8), none, mp, CAL), stage_compute(_hw(8), wl, mp, CAL)
    lc = a.lc
    proj = 2 * wl.hidden / wl.vocab
    block = lc.moe_fwd_s + lc.moe_bwd_s + (1 + proj) * (lc.logits_fwd_s + lc.logits_bwd_s)
    np.testing.assert_allclose((b.compute - a.compute) / a.microbatches, block, rtol=1e-12)
    # FLOPs per token in Megatron-LM's count: + one MoE layer (attention, active experts, router), 2 h^2, h V
    h, moe = wl.hidden, wl.moe
    layer = wl.attention_params_per_layer + (moe.top_k + moe.shared_experts) * wl.expert_params + h * moe.num_experts
    qk = (wl.mla.qk_nope_head_dim + wl.mla.qk_rope_head_dim + wl.mla.v_head_dim) / 2
    extra = 6 * (layer + 2 * h * h + wl.vocab * h) + 12 * wl.seq_len * wl.heads * qk
    assert model_flops_per_token(wl) - model_flops_per_token(none) == pytest.approx(extra, rel=1e-12)
    # Megatron-Bridge 26.02 GB300 table: 1199 TFLOPS at 4612 tokens/s/GPU = 260.0 GFLOP per token with MTP; the
    # MTP layer is ~4 % of it as here (the table's convention counts causal attention: a lower base)
    assert extra / model_flops_per_token(none) == pytest.approx(260.0 / 249.8 - 1, abs=0.01)
    with pytest.raises(InputError, match="mtp_num_layers"):
        replace(wl.architecture, mtp_num_layers=-1)


@pytest.mark.parametrize("pp, vpp", [(4, 1), (4, 2), (8, 4)])
def test_the_mtp_block_on_the_even_split_adds_no_bubble(pp, vpp):
    """Without a layout the MTP block sits on the last stage beside the output layer, so it is in neither the other
    stages' work (1F1B) nor the first pp - 1 model chunks (interleaved): the bubble equals the job's without MTP
    (the lead's fix at the s12-layout merge; before it the interleaved rule charged (pp - 1) / vpp x the block)."""
    wl = _job(load_workload("deepseek-v3"), global_batch_seqs=1024)
    none = replace(wl, architecture=replace(wl.architecture, mtp_num_layers=0))
    mp = _mapping(pp, vpp, ep=8)
    with np.errstate(invalid="ignore", divide="ignore"):
        a, b = stage_compute(_hw(256), none, mp, CAL), stage_compute(_hw(256), wl, mp, CAL)
    assert a.bubble[0] > 0
    np.testing.assert_allclose(b.bubble, a.bubble, rtol=1e-12)
    assert b.compute[0] > a.compute[0]  # the block itself is on the last stage


def test_pruned_search_is_exact_with_a_layout():
    """The pruned search (validation's optimism search) finds the exhaustive search's mapping for DeepSeek-V3 with
    its MTP layer and the PP 16 layout: its compute side is ``stage_compute`` itself, and the layout's per-layer
    communication count (the most layers any rank builds) is never below the even split's ceil(L / pp) that the
    communication bound keeps."""
    from random_hardware import TECH, random_candidates

    from archsweep.model.driver import _best_mappings
    from archsweep.model.training import pruned_search as ps
    from archsweep.model.training.job_kind import TrainingJobKind
    from archsweep.model.training.mapping import enumerate_mappings

    wl = _job(load_workload("deepseek-v3"), pipeline_layout=PP16)
    mappings, fixed_dp = enumerate_mappings(wl)
    hw = random_candidates(12, seed=5)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        want = _best_mappings(TrainingJobKind(wl, CAL), hw, mappings, "step_time_s", TECH)
        got = ps.best_mapping_indices(hw, wl, mappings, fixed_dp, CAL, "step_time_s")
    assert np.array_equal(got, want)
    chosen = np.asarray(got)[np.asarray(got) >= 0]
    assert chosen.size and set(np.ravel(mappings.pp)[chosen] * np.maximum(np.ravel(mappings.vpp)[chosen], 1)) == {16}


def test_first_rank_memory_under_the_layout():
    """The first rank builds its stages' layers: at pp 2 x vpp 8 rank 0 holds 32 layers (stages 0, 2, .., 14),
    not ceil(61 / 2) = 31; at pp 16, 4."""
    from archsweep.model.training.memory import first_stage_layers

    stated = _job(load_workload("deepseek-v3"), pipeline_layout=PP16)
    np.testing.assert_array_equal(first_stage_layers(stated, _mapping(2, 8)), [32.0])
    np.testing.assert_array_equal(first_stage_layers(stated, _mapping(16, 1)), [4.0])


@pytest.mark.parametrize(("pp", "vpp"), [(2, 8), (4, 4), (8, 2)])
def test_the_interleaved_bubble_under_the_layout(pp, vpp):
    """Interleaved (m >= pp): where the last rank is the slowest, one micro-batch through the first pp - 1 virtual
    stages (s12-correct's rule for the even split, with the layout's stages: stage 0 is E + 3 dense + 1 MoE layer,
    stages 1 .. pp - 2 four MoE layers each); otherwise (p - 1) / v slots of the slowest rank."""
    from archsweep.model.training.schedule import pipeline_bubble_slots

    stated = _job(load_workload("deepseek-v3"), pipeline_layout=PP16)
    mp = _mapping(pp, vpp)
    with np.errstate(invalid="ignore", divide="ignore"):
        sc = stage_compute(_hw(), stated, mp, CAL)
    lc = sc.lc
    dense, moe = lc.dense_fwd_s + lc.dense_bwd_s, lc.moe_fwd_s + lc.moe_bwd_s
    mtp = sum(mtp_block_costs(stated, mp, CAL, lc))
    counts = layout_rank_layers(parse_layout(PP16), 3, pp)
    ranks = [c[0] * dense + c[1] * moe + c[2] * mtp + c[3] * (lc.logits_fwd_s + lc.logits_bwd_s) for c in counts]
    assert float(sc.microbatches[0]) >= pp and bool(sc.valid[0])
    head = 3 * dense + moe + (pp - 2) * 4 * moe
    slots = pipeline_bubble_slots(sc.microbatches, mp.pp, mp.vpp)
    want = head if ranks[-1] >= max(ranks) else slots * max(ranks)
    np.testing.assert_allclose(sc.bubble, want, rtol=1e-12)
