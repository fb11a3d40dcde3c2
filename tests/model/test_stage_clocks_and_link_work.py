"""The step's link work and the pipeline's clocks in the energy (issue 10, s14-energy): pipeline sends per device
(``2 m (v p - 1) / p`` on average), the context-parallel ring's bytes and the output layer's HBM traffic are in the work
counts, every link byte carries HBM bytes (read at the sender, written at the receiver), and under a TDP cap the
stages other than the busiest run at their own power-limited clock (model/ppa.py) while the step stays the busiest
stage's."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from model_helpers import first, part_batch, tp8_sp_mapping

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.area import die_area
from archsweep.model.driver import evaluate_design_batch
from archsweep.model.power import power_limited_clock_scale, static_power_w, step_energy
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
LAYOUT = replace(LLAMA, training=replace(LLAMA.training, pipeline_layout="Et*19|t*21|t*21|t*19L"))
COUNT = 1024
H100 = part_batch("H100-SXM", COUNT)  # one design, 0-d columns


def test_pipeline_sends_cross_every_virtual_stage_boundary_both_ways():
    """p ranks x v chunks: the job sends 2 m (v p - 1) messages per pipeline; a middle rank 2 m v."""
    for p, v in ((2, 1), (4, 1), (4, 2), (8, 3)):
        m = np.asarray([16.0])
        average, busiest = pipeline_sends(tp8_sp_mapping(p, vpp=v), m)
        assert float(average[0]) * p == pytest.approx(2.0 * 16 * (v * p - 1))
        assert float(busiest[0]) == 2.0 * 16 * v >= float(average[0])
    average, busiest = pipeline_sends(tp8_sp_mapping(1), np.asarray([16.0]))
    assert float(average[0]) == float(busiest[0]) == 0.0


def test_the_pipelines_link_bytes_are_its_sends():
    """Even split, tp 8 pp 4 on H100 x 32 (dp 1: no DP bytes; each stage's 8 devices fill a node, so the sends
    cross the scale-out network): the job's scale-out bytes are 2 m (p - 1) sends of the activation shard per
    device of a stage."""
    result = training_step(part_batch("H100-SXM", 32), LLAMA, tp8_sp_mapping(4), CAL)
    assert bool(result.valid[0]) and float(result.dp[0]) == 1.0
    m = float(result.microbatches[0])
    send = 2.0 * LLAMA.seq_len * LLAMA.hidden / 8  # BF16 activation of one micro-batch, split by TP (SP)
    assert float(result.scaleout_bytes[0]) * 32 == pytest.approx(2.0 * m * 3 * send * 8, rel=1e-12)
    assert float(result.busiest.scaleout_bytes[0]) == pytest.approx(2.0 * m * send, rel=1e-12)


def test_more_pipeline_bytes_raise_every_count_and_the_energy():
    """Interleaving (vpp 2 against 1, same stages) adds sends: no count falls, the link and HBM counts and the
    dynamic energy rise."""
    hw = H100
    one, two = (training_step(hw, LLAMA, tp8_sp_mapping(4, vpp=v), CAL) for v in (1, 2))
    assert float(two.matrix_flops[0]) == float(one.matrix_flops[0])
    for name in ("hbm_bytes", "scaleout_bytes"):
        assert float(getattr(two, name)[0]) > float(getattr(one, name)[0]), name
    kind = TrainingJobKind(LLAMA, CAL)
    area = die_area(hw, TECH)
    energies = [float(step_energy(hw, TECH, kind.activity(r), area).total_dynamic_j[0]) for r in (one, two)]
    assert energies[1] > energies[0]


def test_context_parallel_ring_bytes_are_counted():
    """cp 2 against cp 1 at the same tp x cp (tp 8 cp 2 vs tp 16 is not a mapping; so cp 2 vs 1 at 2x the devices
    per replica): cp 2 sends (cp - 1) x 3 K/V hops per layer and micro-batch, on top of its TP bytes."""
    hw = H100
    wl = replace(LLAMA, training=replace(LLAMA.training, seq_len=16384))
    without, ring = (training_step(hw, wl, tp8_sp_mapping(1, cp=cp), CAL) for cp in (1, 2))
    assert bool(ring.valid[0]) and bool(without.valid[0])
    m = float(ring.microbatches[0])
    tokens = wl.seq_len / 2
    kv = 2.0 * 2.0 * tokens * wl.kv_heads * wl.head_dim / min(8, wl.kv_heads)
    tp = m * 8.0 * 2.0 * tokens * wl.hidden * 7 / 8
    assert float(ring.scaleup_bytes[0]) == pytest.approx(wl.layers * tp, rel=1e-12)
    # tp x cp = 16 devices span two 8-GPU nodes: the ring crosses the scale-out network, beside the DP bytes
    ring_bytes = wl.layers * m * 3.0 * kv
    assert float(ring.scaleout_bytes[0]) > ring_bytes > 0
    dp_two = float(ring.scaleout_bytes[0]) - ring_bytes
    assert dp_two == pytest.approx(float(without.scaleout_bytes[0]), rel=1e-9)  # same dp x cp group, same shard


def test_the_output_layer_and_the_loss_carry_hbm_traffic():
    """Busiest stage of an even pp 4 split (20 layers + the output layer) against pp 4 of the same stage without the
    output layer's HBM: the difference is the output GEMM's three passes + the loss read forward and backward."""
    hw, mp = H100, tp8_sp_mapping(4)
    result = training_step(hw, LLAMA, mp, CAL)
    lc = stage_compute(hw, LLAMA, mp, CAL).lc
    m = float(result.microbatches[0])
    out = 3.0 * first(lc.logits_hbm_bytes) + 2.0 * first(lc.loss_hbm_bytes)
    assert first(lc.loss_hbm_bytes) == pytest.approx(12.0 * LLAMA.seq_len * LLAMA.vocab / 8)
    assert out > 0
    layers = 3.0 * first(lc.dense_hbm_bytes)
    busiest = result.busiest
    sends = float(np.ravel(pipeline_sends(mp, result.microbatches)[1])[0]) * 2.0 * LLAMA.seq_len * LLAMA.hidden / 8
    rings = float(busiest.scaleup_bytes[0]) + float(busiest.scaleout_bytes[0]) - sends  # TP (scale-up), DP (scale-out)
    links = RING_HBM_BYTES_PER_LINK_BYTE * rings + DIRECT_HBM_BYTES_PER_LINK_BYTE * sends
    optimizer = float(busiest.hbm_bytes[0]) - links - m * (20 * layers + out)
    assert 0 < optimizer < 0.05 * float(busiest.hbm_bytes[0])  # what is left: the optimizer's sweep of its shard


@pytest.mark.parametrize(("wl", "pp"), [(LLAMA, 4), (SPLIT, 2), (LAYOUT, 4)], ids=["even", "split", "layout"])
def test_under_the_cap_the_other_stages_run_at_their_own_clock(wl, pp):
    """A TDP below the busiest stage's power: the busiest fits at a lowered clock (the step's); the other stages' own
    clock is between it and nominal, their power at it within the TDP; the average device's energy lies between all
    devices at the busiest clock and all at nominal; power_w <= TDP; nothing NaN."""
    base = get_accelerator("H100-SXM").design.replace(accelerator_count=COUNT, tdp_w=1e6)
    strategy = f"tp=8,pp={pp},cp=1,ep=1,vpp=1,mb=1,recompute=none,zero=1,sp=on,fa=on,dp_overlap=on"
    free = evaluate_design_batch(HardwareArrays.from_designs([base]), wl, tech=TECH, strategy=strategy, calibration=CAL)
    tdp = 0.9 * first(free["power_busiest_w"])
    capped_design = base.replace(tdp_w=tdp)
    capped = evaluate_design_batch(HardwareArrays.from_designs([capped_design]), wl, tech=TECH, strategy=strategy,
                                   calibration=CAL)
    assert all(np.all(np.isfinite(np.asarray(v, dtype=float))) for k, v in capped.items()
               if k.startswith(("power", "energy")))
    scale = first(capped["clock_hz"]) / base.clock_hz
    assert scale < 1.0
    assert first(capped["power_busiest_w"]) <= tdp * (1 + 1e-9)
    assert first(capped["power_w"]) <= tdp * (1 + 1e-9)
    # The same step and work at the busiest clock, every device at it / at nominal:
    nominal_hw = HardwareArrays.from_designs([capped_design])
    run_hw = replace(nominal_hw, clock_hz=nominal_hw.clock_hz * scale)
    kind = TrainingJobKind(wl, CAL)
    result = training_step(run_hw, wl, tp8_sp_mapping(pp), CAL)
    assert float(result.step_time_s[0]) == pytest.approx(first(capped["step_time_s"]), rel=1e-12)
    area = die_area(nominal_hw, TECH)
    at = {s: float(step_energy(run_hw, TECH, kind.activity(result), area, s, nominal_hw).matrix_bf16_j[0])
          for s in (scale, 1.0)}
    matrix = first(capped["energy_matrix_bf16_j"])
    assert at[scale] < matrix < at[1.0]  # the other stages above the busiest clock, below nominal
    # The other stages' own clock: their power there is the TDP (or they run at nominal within it).
    share = 1.0 / pp
    avg, busy = kind.activity(result), kind.activity(result, True)
    rest = type(avg)(**{f: np.maximum((getattr(avg, f) - share * getattr(busy, f)) / (1 - share), 0.0)
                        for f in avg.__dataclass_fields__})
    rest_scale = power_limited_clock_scale(nominal_hw, TECH, rest, area, result.step_time_s, np.asarray([scale]))
    assert scale < float(rest_scale[0]) <= 1.0
    power = (step_energy(run_hw, TECH, rest, area, rest_scale, nominal_hw).total_dynamic_j / result.step_time_s
             + static_power_w(nominal_hw, TECH, area, rest_scale))
    assert float(power[0]) <= tdp * (1 + 1e-9)
    assert float(rest_scale[0]) == 1.0 or float(power[0]) == pytest.approx(tdp, rel=1e-9)


def test_uncapped_and_single_stage_energy_is_unchanged_by_the_stage_clocks():
    """No cap (clock scale 1) or one stage (pp 1): every device at the one clock, power_w = the average's energy over
    the step + leakage, exactly."""
    for tdp, pp in ((1e6, 4), (300.0, 1)):
        design = get_accelerator("H100-SXM").design.replace(accelerator_count=COUNT, tdp_w=tdp)
        strategy = f"tp=8,pp={pp},cp=1,ep=1,vpp=1,mb=1,recompute=none,zero=1,sp=on,fa=on,dp_overlap=on"
        out = evaluate_design_batch(HardwareArrays.from_designs([design]), LLAMA, tech=TECH, strategy=strategy,
                                    calibration=CAL)
        nominal_hw = HardwareArrays.from_designs([design])
        scale = first(out["clock_hz"]) / design.clock_hz
        run_hw = replace(nominal_hw, clock_hz=nominal_hw.clock_hz * scale)
        result = training_step(run_hw, LLAMA, tp8_sp_mapping(pp), CAL)
        kind, area = TrainingJobKind(LLAMA, CAL), die_area(nominal_hw, TECH)
        power = (step_energy(run_hw, TECH, kind.activity(result), area, scale, nominal_hw).total_dynamic_j
                 / result.step_time_s + static_power_w(nominal_hw, TECH, area, scale))
        assert first(out["power_w"]) == pytest.approx(float(power[0]), rel=1e-12)
