"""The collector's constraint pass on an Arrow shard: the same result as the column-dict path,
string columns left as Arrow, and the same error for a missing constrained column."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pytest
from conftest import evaluation_table, make_study

from archsweep.results.objectives import apply_constraints, apply_constraints_table
from archsweep.spec.errors import InputError
from archsweep.spec.study import Constraint


def _study(*constraints: Constraint):
    return dataclasses.replace(make_study(), constraints=constraints)


def test_table_path_matches_column_path():
    table = evaluation_table("s", [f"{i:04x}" for i in range(50)])
    table = table.append_column("model_version", pa.array(["v"] * table.num_rows))
    study = _study(Constraint("power_w", max=900.0), Constraint("tokens_per_s", min=2e4))
    got = apply_constraints_table(study, table)
    want = apply_constraints(study, {n: table.column(n).to_numpy(zero_copy_only=False) for n in table.column_names})
    assert got.column_names == list(want)
    for name in want:
        assert np.array_equal(got.column(name).to_numpy(zero_copy_only=False), np.asarray(want[name])), name
    assert got.schema.field("recompute").type == table.schema.field("recompute").type  # strings stay Arrow strings
    assert got.column("feasible").to_numpy().sum() < table.column("feasible").to_numpy().sum()


def test_table_path_missing_column_names_the_constraint():
    table = evaluation_table("s", ["0001"])
    with pytest.raises(InputError) as info:
        apply_constraints_table(_study(Constraint("power_w", max=1.0), Constraint("die_area_mm2", max=858.0)), table)
    assert info.value.problem.key_path == "constraints[1].column"
