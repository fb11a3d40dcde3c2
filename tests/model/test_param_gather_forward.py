"""The distributed optimizer's parameter all-gather beside the next step's first forward, one bucket ahead
(Megatron-Core @b0cc2706dd ``finish_param_sync`` / ``next_param_gather_bucket_group``; issue 10, s11-pgather):
the first bucket of each model chunk exposed, the rest hidden behind the forward of the layers before their use."""

from __future__ import annotations

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.model.training.data_parallel import overlapped_exposed_s, param_gather_exposed_s

CAL = load_calibration()


def _exposed(gather, forward, params=8e9, dp=8, pp=1, vpp=1, kappa=0.2):
    return param_gather_exposed_s(np.asarray(gather, dtype=float), np.asarray(forward, dtype=float),
                                  np.asarray(params, dtype=float), np.asarray(dp, dtype=float),
                                  np.asarray(pp, dtype=float), np.asarray(vpp, dtype=float),
                                  CAL.dp_bucket_min_params, CAL.dp_bucket_params_per_rank, kappa)


def test_bucket_size_is_megatron_cores_default():
    """max(40M, 1M x DP) parameters (distributed_data_parallel.py L64-65)."""
    assert CAL.dp_bucket_min_params == 40e6
    assert CAL.dp_bucket_params_per_rank == 1e6


def test_first_bucket_exposed_rest_hidden():
    """8e9 parameters at DP 8: 200 buckets of 40M; a forward longer than the gather hides all but the first
    bucket (1/200 of it) and the interference share of the rest."""
    g, f = 1.0, 5.0
    assert float(_exposed(g, f)) == pytest.approx(g / 200 + 0.2 * g * 199 / 200, rel=1e-12)
    # at DP 128 the bucket is 128M parameters: 63 buckets (ceil 62.5)
    assert float(_exposed(g, f, dp=128)) == pytest.approx(g / 63 + 0.2 * g * 62 / 63, rel=1e-12)


def test_short_forward_exposes_the_difference():
    g, f = 2.0, 0.5
    rest = 1.0 - 1.0 / 200
    assert float(_exposed(g, f)) == pytest.approx(g / 200 + (g - f) * rest + 0.2 * f * rest, rel=1e-12)


def test_interleaved_chunks_each_expose_their_first_bucket():
    """Each model chunk is its own DDP instance with its own chain: v chunks of 1/v of the parameters, each
    with its own exposed first bucket (pp > 1 only: without a pipeline there are no chunks)."""
    g, f = 1.0, 5.0
    one = float(_exposed(g, f, params=1.6e9, pp=4, vpp=1))   # 40 buckets
    four = float(_exposed(g, f, params=1.6e9, pp=4, vpp=4))  # 10 buckets per chunk
    assert one == pytest.approx(g / 40 + 0.2 * g * 39 / 40, rel=1e-12)
    assert four == pytest.approx(g / 10 + 0.2 * g * 9 / 10, rel=1e-12)
    assert float(_exposed(g, f, params=1.6e9, pp=1, vpp=4)) == pytest.approx(one, rel=1e-12)


def test_monotone_and_bounded():
    gathers = np.linspace(0.0, 3.0, 31)
    e = _exposed(gathers, 1.0)
    assert e[0] == 0.0
    assert np.all(np.diff(e) >= 0.0)
    assert np.all(e <= gathers + 1e-15)  # never more than the gather itself (interference <= 1)
    forwards = np.linspace(0.0, 3.0, 31)
    e_f = _exposed(1.0, forwards)
    assert np.all(np.diff(e_f) <= 1e-15)
    # never below the one-window form with the whole gather against the whole forward
    assert np.all(e_f >= overlapped_exposed_s(1.0, forwards, 0.2) - 1e-12)
