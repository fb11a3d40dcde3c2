"""The serving curve's envelope, computed in DuckDB, against its definition by brute force."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from archsweep.results.plots import serving_envelope


def _brute(x: np.ndarray, y: np.ndarray) -> set[tuple[float, float]]:
    """Points no other point matches-or-beats in both coordinates (duplicates: kept once)."""
    keep = set()
    for i in range(len(x)):
        beaten = any((x[j] >= x[i] and y[j] >= y[i]) and (x[j] > x[i] or y[j] > y[i]) for j in range(len(x)))
        if not beaten:
            keep.add((float(x[i]), float(y[i])))
    return keep


def test_envelope_matches_definition():
    rng = np.random.default_rng(3)
    n = 400
    x = np.round(rng.uniform(1, 100, n))  # rounded: ties in x and exact duplicates occur
    y = np.round(1e4 / x + rng.normal(0, 20, n))
    feasible = rng.uniform(size=n) > 0.1
    y[5] = np.nan
    table = pa.table({"study": ["s"] * n, "workload": ["w"] * n, "candidate_id": [f"{i}" for i in range(n)],
                      "tokens_per_s_per_user": x, "tokens_per_s_per_accelerator": y, "feasible": feasible})
    con = duckdb.connect()
    con.register("evaluations", table)
    ex, ey = serving_envelope(con, "s", "w")
    ok = feasible & np.isfinite(y)
    assert set(zip(ex.tolist(), ey.tolist())) == _brute(x[ok], y[ok])
    assert len(ex) == len(set(zip(ex.tolist(), ey.tolist())))  # each envelope point once
    assert np.all(np.diff(ex) > 0) and np.all(np.diff(ey) < 0)  # a staircase: faster per user, less throughput
    assert serving_envelope(con, "s", "other")[0].size == 0
