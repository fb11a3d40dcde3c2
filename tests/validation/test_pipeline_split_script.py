"""data/validation/derive/pipeline_split.py: one writer per cell of ``pp_split_embedding_loss``."""

from __future__ import annotations

import csv
from collections.abc import Callable
from types import ModuleType

from archsweep.load.paths import data_dir


def _rows() -> list[dict[str, str]]:
    with open(data_dir() / "validation" / "training_runs.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_pipeline_split_leaves_the_mlperf_405b_rows_to_their_rows_script(derive_script: Callable[[str], ModuleType]):
    """The v5.0 / v5.1 llama31_405b rows' cell comes from each launch config (mlperf_llama31_405b_rows.py); pipeline_split.py
    neither sets nor clears it, and owns every other row (where the table agrees with its rule)."""
    script = derive_script("pipeline_split")
    rows = _rows()
    mlperf = [r for r in rows if r["run_id"].startswith(("mlperf_train_v5.0_", "mlperf_train_v5.1_"))
              and r["run_id"].endswith("_llama31_405b")]
    assert len(mlperf) == 20 and not any(script.owns(r) for r in mlperf)  # 14 v5.0 (s18-D) + 6 v5.1 (s19-I)
    owned = [r for r in rows if script.owns(r)]
    assert len(owned) == len(rows) - 20
    assert all((r[script.COLUMN] == "yes") == script.states_split(r) for r in owned)
    assert all(r[script.COLUMN] == "yes" for r in mlperf)  # all 20 launch configs set ASYM_PP_EMBED / ASYM_PP_LOSS
