"""MXFP8 under sequence parallelism all-gathers each row-parallel Linear's output gradient twice in
backward, row-wise for the data gradient and column-wise for the weight gradient (issue 10, s10-mxfp8;
TransformerEngine v2.7 / v2.9 / v2.12 module/linear.py, layernorm_mlp.py, distributed.py
``_all_gather_mxfp8``); per-tensor FP8 gathers it once."""

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
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration(stack="megatron-core")
HW = HardwareArrays.from_designs([get_accelerator("GB200").design.replace(accelerator_count=64)])
TOKENS, HIDDEN, MICRO, LAYERS = 8192.0, 8192.0, 8.0, 20.0


def _tp(recipe: str, tp: int, sp: int, overlap: int):
    wl = load_workload("llama3-70b")
    mp, _ = enumerate_mappings(wl, fixed={"tp": tp, "pp": 4, "cp": 1, "ep": 1, "vpp": 1, "micro_batch": 1,
                                          "recompute": 0, "zero_stage": 1, "sequence_parallel": sp,
                                          "tp_overlap": overlap})
    act = np.full(mp.tp.shape, 2.0 * TOKENS * HIDDEN)
    one = np.ones_like(mp.tp)
    cost = tensor_parallel(HW, mp, recipe_calibration(CAL, recipe), act, MICRO * one, LAYERS * one)
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
