"""The step's work counts (model/training/work_counts.py) are the job's work divided over its devices (issue 10,
s13-energy): energy per device per step x devices is the job's work x energy per operation whatever the pipeline's
stage structure (even split, embedding / loss split, a stated layout of the same layers), the MTP block adds its
FLOPs, and no count is NaN or above the peak (hfu <= 1)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from model_helpers import first, part_batch, tp8_sp_mapping

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.model.training.flops import _mtp_matmul_params
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.step import stage_compute, training_step
from archsweep.model.training.work_counts import (
    DIRECT_HBM_BYTES_PER_LINK_BYTE,
    RING_HBM_BYTES_PER_LINK_BYTE,
    pipeline_sends,
)
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()
TECH = load_technology()
LLAMA = load_workload("llama3-70b")  # 80 layers
SPLIT = replace(LLAMA, training=replace(LLAMA.training, embedding_loss_in_pipeline_split=True))
LAYOUT = replace(LLAMA, training=replace(LLAMA.training, pipeline_layout="Et*19|t*21|t*21|t*19L"))  # uneven, 80 t
COUNT = 1024
H100 = part_batch("H100-SXM", COUNT)  # one design, 0-d columns


# (workload, pp): the same 80 layers on one stage, 4 even stages, the split's 2 stages of 41 slots, a layout of 19-21-21-19
STRUCTURES = [(LLAMA, 1), (LLAMA, 4), (SPLIT, 2), (LAYOUT, 4)]


def _job_total(wl, pp, field):
    result = training_step(H100, wl, tp8_sp_mapping(pp), CAL)
    assert bool(result.valid[0])
    return float(getattr(result, field)[0]) * COUNT


def _compute_hbm(wl, pp):
    """The job's HBM bytes less its collectives', which differ between structures (pipeline sends, the DP width): 3
    per byte of the TP / DP rings (work_counts.RING_HBM_BYTES_PER_LINK_BYTE), 2 per byte of a pipeline send
    (DIRECT_HBM_BYTES_PER_LINK_BYTE). tp 8 fills the H100's 8-GPU domain: TP on scale-up, DP and the sends on
    scale-out."""
    mp = tp8_sp_mapping(pp)
    result = training_step(H100, wl, mp, CAL)
    links = float(result.scaleup_bytes[0]) + float(result.scaleout_bytes[0])
    act_bytes = 2.0 * mp.micro_batch * wl.seq_len * wl.hidden
    sends = pipeline_sends(mp, result.microbatches)[0] * act_bytes / mp.tp  # sequence parallel: 1 / tp of it
    direct = float(np.ravel(sends)[0])
    return (float(result.hbm_bytes[0]) - RING_HBM_BYTES_PER_LINK_BYTE * (links - direct)
            - DIRECT_HBM_BYTES_PER_LINK_BYTE * direct) * COUNT


@pytest.mark.parametrize("field", ["matrix_flops", "compute_hbm_bytes", "scaleup_bytes"])
def test_job_work_is_the_same_whatever_the_stage_structure(field):
    totals = [_compute_hbm(wl, pp) if field == "compute_hbm_bytes" else _job_total(wl, pp, field) for wl, pp in STRUCTURES]
    assert totals == pytest.approx([totals[0]] * len(totals), rel=1e-12)


def test_job_matrix_flops_are_three_passes_of_every_gemm_and_the_output_layer():
    """Independent count: per token 2 x (attention + FFN weights) per layer + the attention core (the model's
    kernel count, per layer) + 2 h V for the output layer; forward + 2 x backward, no recompute."""
    lc = stage_compute(H100, LLAMA, tp8_sp_mapping(1), CAL).lc
    tokens = float(LLAMA.tokens_per_step)
    seq_tokens_per_device = float(LLAMA.seq_len)  # micro-batch 1, cp 1: the core of one layer on one TP rank
    core_per_token = first(lc.attn_core_flops) * 8 / seq_tokens_per_device
    per_token = (LLAMA.layers * (2.0 * (LLAMA.attention_params_per_layer + LLAMA.dense_ffn_params) + core_per_token)
                 + 2.0 * LLAMA.hidden * LLAMA.vocab)
    for wl, pp in STRUCTURES:
        assert _job_total(wl, pp, "matrix_flops") == pytest.approx(3.0 * tokens * per_token, rel=1e-9)


def test_energy_per_step_times_devices_is_the_jobs_work_times_energy_per_op():
    """Driver level (TDP out of reach: clock scale 1): energy_matrix_bf16_j x devices = job's matrix FLOPs / 2 x the
    MAC energy, the same under every stage structure; energy per token follows."""
    design = get_accelerator("H100-SXM").design.replace(accelerator_count=COUNT, tdp_w=1e6)
    hw = HardwareArrays.from_designs([design])
    energies, per_token = [], []
    for wl, pp in STRUCTURES:
        strategy = f"tp=8,pp={pp},cp=1,ep=1,vpp=1,mb=1,recompute=none,zero=1,sp=on,fa=on,dp_overlap=on"
        out = evaluate_design_batch(hw, wl, tech=TECH, strategy=strategy, calibration=CAL)
        assert first(out["clock_hz"]) == pytest.approx(design.clock_hz, rel=1e-12)
        energies.append(first(out["energy_matrix_bf16_j"]) * COUNT)
        per_token.append(first(out["energy_per_token_j"]))
        flops = _job_total(wl, pp, "matrix_flops")
        mac_j = energies[-1] / (flops / 2.0)
        assert 1e-14 < mac_j < 1e-11  # one BF16 MAC of a 4-5 nm part with its operand delivery, J
    assert energies == pytest.approx([energies[0]] * len(energies), rel=1e-12)
    assert all(np.isfinite(per_token)) and min(per_token) > 0


def test_the_mtp_block_adds_its_flops():
    """DeepSeek-V3 with its MTP layer against none, same mapping: + 3 passes x (the MTP layer's weights, eh_proj and
    the output layer again: Megatron-LM's count, 2 x ``_mtp_matmul_params``) per token, + the layer's attention core
    (under 10 % of it)."""
    ds = load_workload("deepseek-v3")
    none = replace(ds, architecture=replace(ds.architecture, mtp_num_layers=0))
    hw, mp = part_batch("B200", 256), tp8_sp_mapping(16, tp=1, ep=8)
    totals = [float(training_step(hw, wl, mp, CAL).matrix_flops[0]) * 256 for wl in (ds, none)]
    gemms = 3.0 * float(ds.tokens_per_step) * 2.0 * _mtp_matmul_params(ds)
    assert gemms < totals[0] - totals[1] < 1.1 * gemms


@pytest.mark.parametrize("wl", [LLAMA, SPLIT, LAYOUT, load_workload("deepseek-v3")], ids=["even", "split", "layout", "dsv3"])
def test_no_nan_and_hfu_at_most_one(wl):
    kind = TrainingJobKind(wl, CAL)
    mappings = kind.mappings()
    hw = part_batch("H100-SXM", 1024)
    result = training_step(hw, wl, mappings, CAL, kind.fixed_dp)
    ok = result.valid
    assert ok.any()
    for name in ("matrix_flops", "hbm_bytes", "scaleup_bytes", "scaleout_bytes"):
        value = getattr(result, name)[ok]
        assert np.all(np.isfinite(value)) and np.all(value >= 0.0), name
    hfu = result.matrix_flops[ok] / (result.step_time_s[ok] * first(hw.peak_matrix_flops_bf16))
    assert np.all(hfu <= 1.0) and np.all(hfu > 0.0)


def test_the_busiest_device_is_the_stage_with_the_most_work():
    """Even split: the last stage's ceil(L / pp) layers + the output layer (also the time model's critical stage); the
    layout Et*19|t*21|t*21|t*19L: a 21-layer rank; pp = 1: the average itself. Never below the average."""
    lc = stage_compute(H100, LLAMA, tp8_sp_mapping(1), CAL).lc
    layer, out = 3.0 * first(lc.dense_flops), 3.0 * first(lc.logits_flops)
    for wl, pp, layers, outputs in ((LLAMA, 1, 80, 1), (LLAMA, 3, 27, 1), (LAYOUT, 4, 21, 0), (SPLIT, 2, 40, 1)):
        result = training_step(part_batch("H100-SXM", 768 if pp == 3 else COUNT), wl, tp8_sp_mapping(pp), CAL)
        assert bool(result.valid[0])
        micro = float(result.microbatches[0])
        assert float(result.busiest.matrix_flops[0]) == pytest.approx(micro * (layers * layer + outputs * out), rel=1e-12)
        for name in ("matrix_flops", "hbm_bytes", "scaleup_bytes", "scaleout_bytes"):
            assert float(getattr(result.busiest, name)[0]) >= float(getattr(result, name)[0]) * (1 - 1e-12), (wl, pp, name)
    even = training_step(H100, LLAMA, tp8_sp_mapping(1), CAL)
    assert float(even.busiest.matrix_flops[0]) == pytest.approx(float(even.matrix_flops[0]), rel=1e-12)


def test_the_tdp_cap_binds_on_the_busiest_device():
    """A TDP between the average device's power and the busiest one's lowers the clock (DVFS) until the busiest
    device fits; power_w (the average, energy's) is then below the TDP."""
    base = get_accelerator("H100-SXM").design.replace(accelerator_count=COUNT, tdp_w=1e6)
    strategy = "tp=8,pp=8,cp=1,ep=1,vpp=1,mb=1,recompute=none,zero=1,sp=on,fa=on,dp_overlap=on"
    free = evaluate_design_batch(HardwareArrays.from_designs([base]), LLAMA, tech=TECH, strategy=strategy, calibration=CAL)
    average, busiest = first(free["power_w"]), first(free["power_busiest_w"])
    assert busiest > average
    tdp = 0.5 * (average + busiest)
    capped = evaluate_design_batch(HardwareArrays.from_designs([base.replace(tdp_w=tdp)]), LLAMA, tech=TECH,
                                   strategy=strategy, calibration=CAL)
    assert first(capped["clock_hz"]) < base.clock_hz
    assert first(capped["power_busiest_w"]) <= tdp * (1 + 1e-9)
    assert first(capped["violation_tdp"]) <= 1e-9
    assert first(capped["power_w"]) < tdp
