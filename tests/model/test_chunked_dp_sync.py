"""Once-per-step DP sync issued per model chunk under the interleaved schedule (issue 10, MLPerf GPT-3
rows at 4k-12k GPUs): ``chunked_sync_window`` / ``chunked_sync_exposed_s`` against Megatron-Core's
``grad_sync_func`` per chunk (schedules.py ``backward_step_helper_postprocess``), and the step."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_design_batch
from archsweep.model.training.data_parallel import (
    chunked_sync_exposed_s,
    chunked_sync_window,
    overlapped_exposed_s,
)
from archsweep.spec.hardware import HardwareArrays

TECH = load_technology()
H100 = get_accelerator("H100-SXM").design


def _group(m: int, p: int) -> int:
    """The interleaved schedule's micro-batch group N: p where p divides m, else m (schedule.microbatch_group)."""
    return p if m % p == 0 else m


def _schedule_window(m: int, p: int, v: int) -> float:
    """Backward chunk passes of rank 0, from the first one after which some chunk's gradients are final (its
    micro-batch m - 1) to the end of the step, in stage backwards (/ v): read off Megatron-Core's schedule table
    (NVIDIA/Megatron-LM @d98e8a64dd megatron/core/pipeline_parallel/schedules.py ``get_schedule_table``
    L989-1016: groups of N micro-batches, chunk by chunk within a group, the last group up to m - 1; the
    backward walks it with the chunk reversed, ``get_model_chunk_id`` L1244-1249; the sync of a chunk is
    launched after its micro-batch m - 1, ``backward_step_helper_postprocess`` L1438-1456)."""
    n, table = _group(m, p), []
    for start in range(0, m, n):
        stop = m if start + n >= m else start + n
        table += [(mb, chunk) for chunk in range(v) for mb in range(start, stop)]
    first_final = next(k for k, (mb, _) in enumerate(table) if mb == m - 1)
    return (len(table) - first_final) / v


def _chain_exposed(sync: float, c: float, m: int, p: int, v: int) -> float:
    """Event simulation: chunk j (0-based) final after (j G + 1) chunk passes; its share starts no
    earlier than its own last pass (bucket overlap) and the network serves the chunks in turn."""
    g = _group(m, p)
    share, free = sync / v, 0.0
    for j in range(v):
        free = max(free, j * g * c) + share
    end = ((v - 1) * g + 1) * c
    return max(free - end, 0.0)


def test_v1_is_the_one_microbatch_window():
    rng = np.random.default_rng(1)
    sync, tb = rng.uniform(0, 2, 500), rng.uniform(0, 2, 500)
    m, p = rng.integers(1, 64, 500).astype(float), rng.integers(1, 16, 500).astype(float)
    for kappa in (0.0, 0.2):
        got = chunked_sync_exposed_s(sync, tb, m, p, np.ones(500), kappa)
        assert np.allclose(got, overlapped_exposed_s(sync, tb, kappa), rtol=0, atol=1e-15)
        # no pipeline: vpp is ignored
        assert np.allclose(chunked_sync_exposed_s(sync, tb, m, np.ones(500), np.full(500, 4.0), kappa),
                           overlapped_exposed_s(sync, tb, kappa), rtol=0, atol=1e-15)


@pytest.mark.parametrize(("m", "p", "v"), [(8, 8, 12), (6, 6, 8), (128, 8, 12), (16, 4, 2), (64, 8, 6), (9, 8, 2),
                                          (10, 4, 2), (12, 8, 4)])
def test_equals_the_chunk_by_chunk_schedule(m, p, v):
    tb = 0.045  # one micro-batch's stage backward, s
    for sync in np.linspace(0.0, 1.0, 41):
        want = _chain_exposed(float(sync), tb / v, m, p, v)
        got = float(chunked_sync_exposed_s(np.array(sync), np.array(tb), np.array(m), np.array(p), np.array(v), 0.0))
        assert got == pytest.approx(want, abs=1e-12)


def test_window_follows_megatron_cores_schedule_table():
    """The window is the last micro-batch group's: min(m, p) where p divides m, all m where one group of m runs
    (p does not divide m); s12-m2 had kept min(m, p) for both (issue 10)."""
    for p in (2, 3, 4, 8):
        for v in (2, 3, 4, 8):
            for m in range(p, 4 * p + 3):
                want = _schedule_window(m, p, v)
                assert float(chunked_sync_window(np.array(m), np.array(p), np.array(v))) == pytest.approx(want, abs=1e-12)
    assert float(chunked_sync_window(np.array(9.0), np.array(8.0), np.array(2.0))) == pytest.approx((9 + 1) / 2)
    assert float(chunked_sync_window(np.array(16.0), np.array(8.0), np.array(2.0))) == pytest.approx((8 + 1) / 2)


def test_window_bounds_and_monotone():
    m = np.arange(1, 200, dtype=float)
    for p in (2.0, 4.0, 8.0, 16.0):
        prev = None
        for v in (1.0, 2.0, 4.0, 8.0, 12.0):
            w = chunked_sync_window(m, p, v)
            assert np.all(w >= 1.0 - 1e-15) and np.all(w <= np.maximum(m, 1.0) + 1e-12)
            if prev is not None:
                assert np.all(w >= prev - 1e-15)  # more chunks: the first chunk is final earlier
            prev = w
        along = m[np.mod(m, p) == 0]  # multiples of p: one group size p; elsewhere one group of m (not monotone)
        assert np.all(np.diff(chunked_sync_window(along, p, 8.0)) >= -1e-15)


def test_exposed_monotone_and_never_negative():
    sync = np.linspace(0.0, 2.0, 81)
    for kappa in (0.0, 0.2, 1.0):
        for v in (1.0, 4.0, 12.0):
            e = chunked_sync_exposed_s(sync, np.full_like(sync, 0.05), 8.0, 8.0, v, kappa)
            assert np.all(e >= 0.0) and np.all(np.diff(e) >= -1e-15)
            assert np.all(e <= sync + 1e-15)  # never more than the serial sync
    # a step of m micro-batch backward passes never shortens when that backward slows down
    tb = np.linspace(0.001, 0.2, 200)
    for v in (1.0, 6.0, 12.0):
        step = 8.0 * tb + chunked_sync_exposed_s(np.full_like(tb, 0.4), tb, 8.0, 8.0, v, 0.2)
        assert np.all(np.diff(step) >= -1e-15)


def _gpt3_step(vpp: int, count: int, gbs: int) -> dict[str, float]:
    wl = load_workload("gpt3-175b")
    wl = replace(wl, training=replace(wl.training, global_batch_seqs=gbs, seq_len=2048, precision="fp8"))
    strategy = (f"tp=4,pp=8,cp=1,ep=1,vpp={vpp},mb=1,recompute=none,zero=1,sp=on,fa=on,dp_overlap=on")
    out = evaluate_design_batch(HardwareArrays.from_designs([H100.replace(accelerator_count=count)]), wl, tech=TECH,
                                strategy=strategy, calibration=load_calibration())
    return {k: float(np.ravel(out[k])[0]) for k in ("step_time_s", "dp_comm_exposed_s", "compute_time_s")}


def test_issue_10_interleaving_hides_the_dp_sync_at_scale():
    """MLPerf GPT-3 layout at 10,752 H100s (TP4 PP8, 8 micro-batches per DP rank): with 12 chunks per
    stage the gradient sync of all but the last chunk runs under the remaining chunks' backward."""
    steps = [_gpt3_step(v, 10752, 2688) for v in (1, 2, 4, 12)]
    exposed = [s["dp_comm_exposed_s"] for s in steps]
    assert all(b < a for a, b in zip(exposed, exposed[1:]))  # each added chunk hides more
    assert exposed[-1] < 0.6 * exposed[0]
    assert steps[-1]["compute_time_s"] == pytest.approx(steps[0]["compute_time_s"], rel=1e-12)
