"""MXFP8 under sequence parallelism all-gathers each row-parallel Linear's output gradient twice in
backward, row-wise for the data gradient and column-wise for the weight gradient (issue 10, s10-mxfp8;
TransformerEngine v2.7 / v2.9 / v2.12 module/linear.py, layernorm_mlp.py, distributed.py
``_all_gather_mxfp8``); per-tensor FP8 gathers it once. A MoE layer's FC2 is the grouped expert Linear with
no TP gather, so it regathers once (its attention out-projection); the energy model counts the bytes
(s10-m1)."""

from __future__ import annotations

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.part_physics import recipe_calibration
from archsweep.load.workloads import load_workload
from archsweep.model import collectives as coll
from archsweep.model.training.communication import tensor_parallel
from archsweep.model.training.mapping import enumerate_mappings
from archsweep.model.training.step import training_step
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration(stack="megatron-core")
HW = HardwareArrays.from_designs([get_accelerator("GB200").design.replace(accelerator_count=64)])
TOKENS, HIDDEN, MICRO, LAYERS = 8192.0, 8192.0, 8.0, 20.0


def _tp(recipe: str, tp: int, sp: int, overlap: int, moe_frac: float = 0.0):
    wl = load_workload("llama3-70b")
    mp, _ = enumerate_mappings(wl, fixed={"tp": tp, "pp": 4, "cp": 1, "ep": 1, "vpp": 1, "micro_batch": 1,
                                          "recompute": 0, "zero_stage": 1, "sequence_parallel": sp,
                                          "tp_overlap": overlap})
    act = np.full(mp.tp.shape, 2.0 * TOKENS * HIDDEN)
    one = np.ones_like(mp.tp)
    cost = tensor_parallel(HW, mp, recipe_calibration(CAL, recipe), act, MICRO * one, LAYERS * one, moe_frac)
    return mp, act, cost


@pytest.mark.parametrize("overlap", [0, 1])
def test_mxfp8_adds_two_column_wise_gathers_per_layer(overlap: int):
    mp, act, mx = _tp("mxfp8", 2, 1, overlap)
    _, _, cs = _tp("current", 2, 1, overlap)
    ag = coll.all_gather_time_s(HW, act / 2.0 * (1.0 + 1.0 / 32.0), mp.tp, np.ones_like(mp.tp),
                                CAL.collective_bw_efficiency)
    exposed = CAL.tp_overlap_residual if overlap else 1.0
    assert np.all(mx.exposed_s - cs.exposed_s == pytest.approx(exposed * MICRO * LAYERS * 2.0 * ag, rel=1e-9))
    assert np.all(ag > 0) and np.all(mx.allreduce_s == cs.allreduce_s)


def test_no_second_gather_without_sequence_parallelism_or_tp():
    for tp, sp in ((2, 0), (1, 0)):
        _, _, mx = _tp("mxfp8", tp, sp, 0)
        _, _, cs = _tp("current", tp, sp, 0)
        assert np.all(mx.exposed_s == cs.exposed_s)


def test_only_mxfp8_regathers():
    assert recipe_calibration(CAL, "mxfp8").fp8_tp_grad_regather_bytes_per_element == pytest.approx(1.0 + 1.0 / 32.0)
    for recipe in ("delayed", "current", "nvfp4"):
        assert recipe_calibration(CAL, recipe).fp8_tp_grad_regather_bytes_per_element == 0.0


@pytest.mark.parametrize("overlap", [0, 1])
def test_moe_layer_regathers_once(overlap: int):
    """All-MoE layers: half a dense layer's regather (the attention out-projection's, not FC2's); a mixed
    model: (2 - share) regathers per layer; dense unchanged."""
    _, _, cs = _tp("current", 2, 1, overlap)
    _, _, dense = _tp("mxfp8", 2, 1, overlap)
    _, _, moe = _tp("mxfp8", 2, 1, overlap, moe_frac=1.0)
    _, _, mixed = _tp("mxfp8", 2, 1, overlap, moe_frac=0.25)
    dense_extra = dense.exposed_s - cs.exposed_s
    assert np.all(dense_extra > 0)
    assert np.all(moe.exposed_s - cs.exposed_s == pytest.approx(0.5 * dense_extra, rel=1e-9))
    assert np.all(mixed.exposed_s - cs.exposed_s == pytest.approx(0.875 * dense_extra, rel=1e-9))
    _, _, cs_moe = _tp("current", 2, 1, overlap, moe_frac=1.0)
    assert np.all(cs_moe.exposed_s == cs.exposed_s) and np.all(cs_moe.regather_bytes == 0.0)


def test_regather_bytes_per_rank():
    """Each regather all-gathers a (1 + 1/32) B-per-element copy of the output gradient: a rank sends
    (tp - 1) / tp of it; 2 per dense layer, 1 per MoE layer, none without SP or per-tensor FP8."""
    mp, act, dense = _tp("mxfp8", 2, 1, 0)
    gathered = act / 2.0 * (1.0 + 1.0 / 32.0)
    assert np.all(dense.regather_bytes == pytest.approx(MICRO * LAYERS * 2.0 * gathered * 0.5, rel=1e-12))
    _, _, moe = _tp("mxfp8", 2, 1, 0, moe_frac=1.0)
    assert np.all(moe.regather_bytes == pytest.approx(0.5 * dense.regather_bytes, rel=1e-12))
    for recipe, sp in (("mxfp8", 0), ("current", 1)):
        assert np.all(_tp(recipe, 2, sp, 0)[2].regather_bytes == 0.0)


def _mxfp8_and_current_steps(model: str, tp: int, pp: int, ep: int, tp_overlap: int):
    """(workload, mapping, MXFP8 step, FP8 current-scaling step) of ``model`` on HW at one mapping (cp 1, vpp 1, micro-batch 1,
    no recompute, ZeRO 1, sequence parallel)."""
    wl = load_workload(model)
    mp, _ = enumerate_mappings(wl, fixed={"tp": tp, "pp": pp, "cp": 1, "ep": ep, "vpp": 1, "micro_batch": 1,
                                          "recompute": 0, "zero_stage": 1, "sequence_parallel": 1,
                                          "tp_overlap": tp_overlap})
    return wl, mp, training_step(HW, wl, mp, recipe_calibration(CAL, "mxfp8")), training_step(
        HW, wl, mp, recipe_calibration(CAL, "current"))


def test_step_energy_bytes_count_the_regathers():
    """The step's scale-up bytes (energy) carry the regathers: MXFP8 minus per-tensor FP8 is exactly
    2 x microbatches x layers per stage x (tp - 1) / tp x the gathered copy (llama3-70b: 80 layers, pp 4)."""
    wl, _, mx, cs = _mxfp8_and_current_steps("llama3-70b", tp=4, pp=4, ep=1, tp_overlap=1)
    gathered = float(wl.seq_len) * wl.hidden * (1.0 + 1.0 / 32.0)
    expected = mx.microbatches * (80 / 4) * 2.0 * gathered * 3.0 / 4.0
    assert np.all(mx.microbatches == cs.microbatches) and np.all(expected > 0)
    assert np.all(mx.scaleup_bytes - cs.scaleup_bytes == pytest.approx(expected, rel=1e-9))
    assert np.all(mx.scaleout_bytes == cs.scaleout_bytes)


def test_step_charges_moe_layers_one_regather():
    """Through the step: deepseek-v3 (58 of 61 layers MoE, pp 1) pays 2 - 58/61 regathers per layer."""
    wl, mp, mx, cs = _mxfp8_and_current_steps("deepseek-v3", tp=2, pp=1, ep=8, tp_overlap=0)
    act = 2.0 * float(wl.seq_len) * wl.hidden
    ag = coll.all_gather_time_s(HW, act / 2.0 * (1.0 + 1.0 / 32.0), mp.tp, np.ones_like(mp.tp),
                                CAL.collective_bw_efficiency)
    expected = mx.microbatches * 61.0 * (2.0 - 58.0 / 61.0) * ag
    assert np.all(expected > 0)
    assert np.all(mx.tp_comm_exposed_s - cs.tp_comm_exposed_s == pytest.approx(expected, rel=1e-9))
