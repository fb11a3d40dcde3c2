"""The pruned search compares its float32 bounds with float64 limits rounded down to float32 first
(``pruned_search._down``, s15-speed): the same answer as the mixed-type comparison for every float32 bound."""

from __future__ import annotations

import numpy as np

from archsweep.model.training.pruned_search import _down


def test_a_float32_bound_passes_the_rounded_down_limit_iff_it_passes_the_limit():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.random(200_000).astype(np.float32), (rng.random(1000) * 1e30).astype(np.float32),
                        np.array([0.0, -0.0, np.inf, -np.inf, np.nan, np.finfo(np.float32).max,
                                  np.finfo(np.float32).tiny], dtype=np.float32)])
    near = x.astype(np.float64) * (1.0 + rng.choice([-1e-9, -1e-12, 0.0, 1e-12, 1e-9], x.size))
    edges = np.array([np.finfo(np.float64).max, -np.finfo(np.float64).max, np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-320,
                      float(np.finfo(np.float32).max) * (1 + 1e-9)])
    for limit in (near, rng.permutation(near), np.resize(edges, x.size)):
        np.testing.assert_array_equal(x <= _down(limit, x.dtype), x <= limit)
    assert _down(near, np.dtype(np.float64)) is near
