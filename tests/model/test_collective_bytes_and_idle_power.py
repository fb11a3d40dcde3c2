"""The collectives' bytes and HBM traffic in the step's energy, and the waiting devices' power (issue 10, s15-energy):
the DP collectives' bytes on the fabric the time model runs them on (an in-domain ring on scale-up, a cross-domain
ring on scale-out), the TP / DP rings at 3 HBM bytes per link byte and the direct transfers at 2, energy monotone in
each added byte term, an idle device's power below a busy one's and the busiest within the TDP, no NaN, a single-stage
job's power unchanged by the other-stages rule, and ``power_busiest_w`` as a constraint a study may name."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.study import parse_study
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model import collectives as coll
from archsweep.model.area import die_area
from archsweep.model.driver import evaluate_design_batch
from archsweep.model.power import static_power_w
from archsweep.model.ppa import power_area_cost
from archsweep.model.training import work_counts
from archsweep.model.training.data_parallel import ring_link_shares
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.mapping import MappingArrays
from archsweep.model.training.step import training_step
from archsweep.results.objectives import constraint_violations
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()
TECH = load_technology()
LLAMA = load_workload("llama3-70b")


def _mapping(pp, tp=8, zero=1, vpp=1):
    kw = dict(tp=tp, pp=pp, cp=1, ep=1, vpp=vpp, micro_batch=1, recompute=0, zero_stage=zero, sequence_parallel=1,
              flash_attention=1, tp_overlap=0, dp_overlap=1)
    return MappingArrays(**{k: np.asarray([float(v)]) for k, v in kw.items()})


def _hw(part, count, **fields):
    return HardwareArrays.from_designs([get_accelerator(part).design.replace(accelerator_count=count, **fields)])


@pytest.mark.parametrize(("n", "stride", "up", "out"), [
    (8, 1, 7 / 8, 0.0),           # inside one 8-GPU domain
    (16, 8, 0.0, 15 / 16),        # one rank per domain: the cross-domain ring only
    (16, 1, 7 / 8, 1 / 16),       # 8 per domain x 2 domains: the in-domain ring on all, the cross ring on 1/8
    (1, 8, 0.0, 0.0),             # no group
])
def test_ring_shares_are_the_time_models_placement(n, stride, up, out):
    """(n - 1) / n of the buffer per rank (NCCL tests' busbw factor) split as collectives.sharded_on runs it; at zero
    latency its time is exactly the bytes on each fabric over that fabric's bandwidth."""
    hw = _hw("H100-SXM", 1024, scaleup_latency_s=0.0, scaleout_latency_s=0.0)
    t = coll.tiers(hw, np.asarray([float(n)]), np.asarray([float(stride)]), 1.0)
    got = ring_link_shares(t)
    assert (float(got[0][0]), float(got[1][0])) == pytest.approx((up, out), abs=1e-15)
    size = 1e9
    assert float(coll.sharded_on(hw, np.asarray([size]), t)[0]) == pytest.approx(
        size * up / float(t.bw_in[0]) + size * out / float(t.bw_out[0]), rel=1e-12)


def test_a_dp_group_inside_one_nvlink_domain_sends_nothing_on_scale_out():
    """GB200 NVL72, 64 GPUs, tp 8 pp 1: the dp 8 group at stride 8 fits the 72-GPU domain, so its gradient sync and
    weight gather run on NVLink (scale-up) and nothing leaves the domain; on H100 (8-GPU domain) the same job's DP
    bytes are all scale-out, and the two jobs' DP bytes are equal."""
    nvl = training_step(_hw("GB200", 64), LLAMA, _mapping(1), CAL)
    dgx = training_step(_hw("H100-SXM", 64), LLAMA, _mapping(1), CAL)
    assert float(nvl.scaleout_bytes[0]) == 0.0
    assert float(dgx.scaleout_bytes[0]) > 0.0
    tp_bytes = float(dgx.scaleup_bytes[0])  # TP only on H100
    assert float(nvl.scaleup_bytes[0]) - tp_bytes == pytest.approx(float(dgx.scaleout_bytes[0]), rel=1e-12)


def _energy(hw, mp, ring, direct, monkeypatch):
    monkeypatch.setattr(work_counts, "RING_HBM_BYTES_PER_LINK_BYTE", ring)
    monkeypatch.setattr(work_counts, "DIRECT_HBM_BYTES_PER_LINK_BYTE", direct)
    result = training_step(hw, LLAMA, mp, CAL)
    kind = TrainingJobKind(LLAMA, CAL)
    cols = power_area_cost(hw, TECH, kind.activity(result), result.step_time_s, float(LLAMA.tokens_per_step), 1e12,
                           np.zeros(1), busiest_activity=kind.activity(result, True), busiest_share=1.0 / mp.pp)
    return result, cols


def test_energy_rises_with_each_byte_term(monkeypatch):
    """At a fixed step (uncapped H100, tp 8 pp 4): the rings' HBM bytes per link byte (2 -> 3) and the direct
    transfers' (0 -> 2) each add HBM bytes and dynamic energy; the matrix work and the step do not move."""
    hw, mp = _hw("H100-SXM", 1024, tdp_w=1e6), _mapping(4)
    runs = [_energy(hw, mp, ring, direct, monkeypatch) for ring, direct in ((2.0, 0.0), (2.0, 2.0), (3.0, 2.0))]
    hbm = [float(r.hbm_bytes[0]) for r, _ in runs]
    dyn = [float(np.ravel(c["energy_dynamic_j"])[0]) for _, c in runs]
    assert hbm[0] < hbm[1] < hbm[2] and dyn[0] < dyn[1] < dyn[2]
    assert len({float(r.matrix_flops[0]) for r, _ in runs}) == 1
    assert len({float(r.step_time_s[0]) for r, _ in runs}) == 1


@pytest.mark.parametrize(("part", "pp", "tdp_share"), [("H100-SXM", 4, None), ("H100-SXM", 4, 0.9),
                                                      ("B200", 8, 0.85), ("H100-SXM", 1, 0.9)])
def test_idle_below_busy_and_the_busiest_within_the_tdp(part, pp, tdp_share):
    """An idle device (leakage at the run clock: what a stage waiting in the bubble or at the pipeline boundary
    draws in the model) draws less than the average device, and the average no more than the busiest at one clock;
    under a cap the busiest and the average are within the TDP; nothing NaN."""
    strategy = f"tp=8,pp={pp},cp=1,ep=1,vpp=1,mb=1,recompute=none,zero=1,sp=on,fa=on,dp_overlap=on"
    base = get_accelerator(part).design.replace(accelerator_count=512, tdp_w=1e6)
    free = evaluate_design_batch(HardwareArrays.from_designs([base]), LLAMA, tech=TECH, strategy=strategy,
                                 calibration=CAL)
    design = base if tdp_share is None else base.replace(tdp_w=tdp_share * float(np.ravel(free["power_busiest_w"])[0]))
    hw = HardwareArrays.from_designs([design])
    out = evaluate_design_batch(hw, LLAMA, tech=TECH, strategy=strategy, calibration=CAL)
    assert all(np.all(np.isfinite(np.asarray(v, dtype=float))) for k, v in out.items()
               if k.startswith(("power", "energy")))
    scale = float(np.ravel(out["clock_hz"])[0]) / design.clock_hz
    idle = float(static_power_w(hw, TECH, die_area(hw, TECH), scale)[0])
    average, busiest = float(np.ravel(out["power_w"])[0]), float(np.ravel(out["power_busiest_w"])[0])
    assert 0 < idle < average
    if tdp_share is None:  # one clock: the average device does no more than the busiest
        assert average <= busiest * (1 + 1e-12)
    else:  # the lighter stages raise their own clock up to the TDP (the busiest sits at the bisection's clock)
        assert scale < 1.0
        assert busiest <= design.tdp_w * (1 + 1e-9) and average <= design.tdp_w * (1 + 1e-9)


def test_a_single_stage_job_is_unchanged_by_the_other_stages_rule():
    """pp 1 under a cap: power_area_cost with the busiest device's counts and share 1 gives every column exactly as
    without them (the rule moves only the other stages of a pipeline)."""
    hw, mp = _hw("H100-SXM", 512, tdp_w=300.0), _mapping(1)
    result = training_step(replace(hw, clock_hz=hw.clock_hz * 0.8), LLAMA, mp, CAL)
    kind = TrainingJobKind(LLAMA, CAL)
    args = (hw, TECH, kind.activity(result), result.step_time_s, float(LLAMA.tokens_per_step), 1e12, np.zeros(1))
    alone = power_area_cost(*args, clock_scale=0.8)
    with_rule = power_area_cost(*args, clock_scale=0.8, busiest_activity=kind.activity(result, True), busiest_share=1.0)
    for name, values in alone.items():
        if name in ("power_busiest_w", "violation_tdp"):
            continue  # the busiest device's own counts (the synced stage's optimizer state)
        assert np.array_equal(values, with_rule[name]), name


def _study(column):
    return parse_study({"name": "t", "workloads": ["llama3-70b"], "base": "H100-SXM",
                        "parameters": {"tdp_w": {"values": ["700 W"]}}, "sampling": {"method": "grid"},
                        "objectives": [{"column": "tokens_per_s", "direction": "maximize"}],
                        "constraints": [{"column": column, "max": "1500 W"}]}, file="<test>")


def test_a_study_may_bound_the_busiest_devices_power():
    """``power_busiest_w`` is an output column a constraint may name (the package limit of the busiest pipeline
    stage), read in watts; a misspelt column is refused naming the file, key and the allowed columns."""
    study = _study("power_busiest_w")
    out = constraint_violations(study, {"power_busiest_w": np.array([1200.0, 1800.0])})
    assert out["violation_power_busiest_w_max"].tolist() == pytest.approx([-0.2, 0.2])
    with pytest.raises(InputError) as info:
        _study("power_busiest")
    assert info.value.problem.key_path == "constraints[0].column"
    assert "power_busiest_w" in info.value.problem.allowed


def test_evaluated_rows_carry_the_busiest_power():
    """Training rows carry it (the cap's column); the driver's columns are what the evaluations table stores."""
    out = evaluate_design_batch(_hw("H100-SXM", 512), LLAMA, tech=TECH,
                                strategy="tp=8,pp=4,cp=1,ep=1,vpp=1,mb=1,recompute=none,zero=1,sp=on,fa=on",
                                calibration=CAL)
    assert float(np.ravel(out["power_busiest_w"])[0]) >= float(np.ravel(out["power_w"])[0]) > 0
