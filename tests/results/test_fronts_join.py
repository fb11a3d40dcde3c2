"""``pareto_table`` ranks in numpy and joins candidate ids back in DuckDB: same rows as ranking in Python."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
from conftest import make_study

from archsweep.results.fronts import PARETO_RANK_DEPTH, pareto_table
from archsweep.results.pareto import pareto_ranks


def test_pareto_table_matches_ranks_of_the_rows_by_candidate_id() -> None:
    study = make_study()
    rng = np.random.default_rng(7)
    n = 3000
    ids = [f"{i:016x}" for i in rng.permutation(n)]  # stored out of order
    tokens = rng.uniform(1e3, 1e5, n)
    power = tokens * 0.01 + rng.uniform(0, 300, n)  # correlated: many ranks
    tokens[::97] = np.nan  # never ranked
    feasible = rng.random(n) > 0.2
    con = duckdb.connect()
    con.register("rows", pa.table({"study": [study.name] * n, "workload": [study.workloads[0]] * n,
                                   "candidate_id": ids, "feasible": feasible, "tokens_per_s": tokens, "power_w": power}))
    con.execute("CREATE TABLE evaluations AS SELECT * FROM rows")
    table = pareto_table(study, con)

    order = np.argsort(np.asarray(ids, dtype=object)[feasible])
    values = np.column_stack([tokens[feasible][order], power[feasible][order]])
    ranks = pareto_ranks(values, ["maximize", "minimize"], max_rank=PARETO_RANK_DEPTH)
    kept = ranks >= 0
    assert table.column("candidate_id").to_pylist() == list(np.asarray(ids, dtype=object)[feasible][order][kept])
    expected = [int(r) if r <= PARETO_RANK_DEPTH else None for r in ranks[kept]]
    assert table.column("rank").to_pylist() == expected
    assert None in expected and 0 in expected  # deep rows stored with rank NULL, a front exists
    np.testing.assert_array_equal(table.column("power_w").to_numpy(), values[kept, 1])
    assert set(table.column("source").to_pylist()) == {"sweep"}
    assert set(table.column("workload").to_pylist()) == {study.workloads[0]}
