"""The float32 bound matrices of the pruned search stay lower bounds within the search's margin
(search_bounds module docstring): float32 vs float64 on the same inputs, and against training_step."""

from __future__ import annotations

import numpy as np
import pytest
from random_hardware import candidate_key_tables, random_candidates

from archsweep.load.calibration import load_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.training import comm_bound, search_bounds
from archsweep.model.training import pruned_search as ps
from archsweep.model.training.mapping import enumerate_mappings
from archsweep.model.training.step import training_step
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()
U32 = 2.0**-24


@pytest.mark.parametrize(("workload", "n"), [("llama3-70b", 24), ("mixtral-8x7b", 4), ("deepseek-v3", 4)])
def test_float32_bound_is_within_40u_of_float64_and_below_the_step(workload, n):
    wl = load_workload(workload)
    mappings, fixed_dp = enumerate_mappings(wl)
    hw = random_candidates(n, seed=32)
    key_of, bound, launch, valid, _ = candidate_key_tables(hw, wl, mappings, fixed_dp)
    res = training_step(HardwareArrays(**{k: v[:, None] for k, v in hw.columns().items()}), wl,
                        mappings.reshape((1, len(mappings))), CAL, fixed_dp)
    x = comm_bound.features(hw, CAL)
    checked = 0
    for i in range(n):
        cols = np.flatnonzero(valid[key_of[i]])
        coef = [a[0] for a in comm_bound.coefficients(wl, mappings.take(cols).reshape((1, len(cols))), CAL, fixed_dp,
                                                       hw.accelerator_count[i], hw.scaleup_domain_size[i])]
        overlapped = np.any(coef[2] != 0, axis=1)
        perm = np.argsort(overlapped, kind="stable")  # as the search: DP-overlap columns last
        cols = cols[perm]
        l1, l2, dov, window = (c[perm] for c in coef)
        inputs = [bound[key_of[i], cols][None], launch[key_of[i], cols], hw.clock_hz[i:i + 1], x[i:i + 1], l1, l2, dov, window]
        split = len(cols) - int(overlapped.sum())
        b64 = search_bounds.block_bounds(*inputs, split=split)[0]
        assert search_bounds.bound_dtype(*[np.asarray(a) for a in inputs if a is not inputs[2]]) is np.float32
        b32 = search_bounds.block_bounds(*[np.asarray(a, dtype=np.float32) for a in inputs], split=split)[0]
        assert b32.dtype == np.float32
        np.testing.assert_array_less(b32.astype(np.float64), b64 * (1 + 40 * U32))
        np.testing.assert_array_less(b64 * (1 - 40 * U32), b32.astype(np.float64))
        step = res.step_time_s[i, cols]
        ok = res.valid[i, cols]
        assert np.all(b32[ok] <= step[ok] * (1 + ps._MARGIN / 4))
        checked += int(ok.sum())
    assert checked > 0


def test_bound_dtype_keeps_float64_for_nan_inf_and_huge_inputs():
    ok = np.array([0.0, 1.0, 1e15])
    assert search_bounds.bound_dtype(ok, ok) is np.float32
    for bad in (np.array([1.0, np.nan]), np.array([np.inf]), np.array([2e15]), np.array([-1.0])):
        assert search_bounds.bound_dtype(ok, bad) is np.float64
