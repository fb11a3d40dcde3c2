"""Issue 10 (s10-nemo2407): two NeMo 24.07 pre-training rows run what their recipes state
(data/validation/derive/nemo2407_stated_settings.py): the GPT-3 175B 128-GPU row sequence parallelism without
the userbuffer TP overlap (NeMo-Framework-Launcher 24.07 examples/training/gpt/h100/175b_fp8_16node.sh + conf/
training/gpt3/175b.yaml ``ub_tp_comm_overlap: False``), the Nemotron-340B row no activation recompute (NeMo's
H100 performance config of the table's exact layout). The 175B 512-GPU twin keeps the searched settings."""

from __future__ import annotations

import pytest
from measured_runs import runs_by_id

from archsweep.validation.run import validate_rows

RUN_128 = "nemo2407_GPT3-175B_128gpu"
RUN_512 = "nemo2407_GPT3-175B_512gpu"
RUN_340B = "nemo2407_Nemotron-340B_128gpu"


def _rows() -> dict[str, dict[str, str]]:
    return runs_by_id(lambda r: r["run_id"] in (RUN_128, RUN_512, RUN_340B))


def test_the_rows_state_their_recipe_settings_and_the_twin_does_not():
    rows = _rows()
    row = rows[RUN_128]
    assert (row["tp"], row["pp"], row["vpp"], row["sp"], row["tp_comm_overlap"]) == ("4", "8", "6", "yes", "no")
    assert "175b_fp8_16node.sh" in row["derived"] and "nemo2407_stated_settings.py" in row["derived"]
    assert row["confidence"].startswith("low-medium (") and "VP 12" in row["confidence"]  # the script's VP, not 6
    assert (rows[RUN_512]["sp"], rows[RUN_512]["tp_comm_overlap"], rows[RUN_512]["act_recompute"]) == ("", "", "")
    big = rows[RUN_340B]
    assert big["act_recompute"].startswith("none (") and "model_configs_h100.csv" in big["act_recompute"]
    assert (big["tp"], big["pp"], big["vpp"], big["micro_batch"], big["tp_comm_overlap"]) == ("8", "8", "12", "1", "")


def test_the_stated_settings_pin_both_rows_errors():
    """The 128-GPU 175B row with its TP collectives on the critical path: +14.0 % with the searched overlap,
    +3.8 % stated (s10-nemo2407), +3.68 % on main 139ea6c; the model now ranks the twins as measured (825 / 716
    tokens/s/GPU: 512 GPUs at MBS 2 with the overlap faster per GPU). Nemotron-340B without the full recompute the
    search had to take: -16.0 % -> +5.4 %, +5.36 % on main 139ea6c (the model's memory puts the stated mapping above
    the HBM; the row is validated as stated). s32 (the causal schedule law of flash attention): +1.42 % and +3.96 %.
    Both errors pinned at abs 0.5 (s10-m2), measured with
    ``archsweep validate --measurements data/validation/training_runs.csv --summary-only --output F``."""
    results = {r.run_id: r for r in validate_rows(list(_rows().values()))}
    small, large, big = results[RUN_128], results[RUN_512], results[RUN_340B]
    assert all(r.status == "ok" for r in (small, large, big)), (small.reason, large.reason, big.reason)
    assert small.error_pct == pytest.approx(1.42, abs=0.5)  # 3.68 before s32
    assert large.predicted > small.predicted, (large.predicted, small.predicted)
    assert "recompute=none" in big.notes, big.notes
    assert big.error_pct == pytest.approx(3.96, abs=0.5)  # 5.36 before s32
