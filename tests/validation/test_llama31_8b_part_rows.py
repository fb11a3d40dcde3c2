"""Issue 10 (s8-gb200): MLPerf Training v5.1 llama31_8b, one 8-GPU launch configuration on B200, GB200 and GB300.

data/validation/derive/mlperf_llama31_8b_rows.py (training_results_v5.1 @441d65f4): NVFP4 GEMMs, FP8 attention,
TP1 MBS 2 GBS 16. The measured GB200 / B200 ratio of the steady steps (1.111-1.118 over two B200 submitters) is
where the GB200 power headroom shows most (B200 deepest in its 1000 W cap); the model's ratio is pinned to it, so a
blanket GB200 slowdown (a lower cap, a clock factor: docs/model-accuracy.md, s8-gb200, "Tried, measured, not kept")
fails here. Error tolerances: within the mlperf group's usual error (75th percentile of |error| 11.3 %, s7-rows)
for B200 and GB200."""

from __future__ import annotations

import pytest
from measured_runs import runs_by_id, validated_of

GB200 = "mlperf_train_v5.1_NVIDIA_tyche_ngpu8_ngc25.09_nemo_llama31_8b"
GB300 = "mlperf_train_v5.1_NVIDIA_theia_ngpu8_ngc25.09_nemo_llama31_8b"
B200 = ("mlperf_train_v5.1_Oracle_1xBM.GPU.B200.8_llama31_8b", "mlperf_train_v5.1_Dell_1xXE9680Lx8B200-SXM-180GB_llama31_8b")
ROWS = (GB200, GB300, *B200)


@pytest.fixture(scope="module")
def rows() -> dict[str, dict[str, str]]:
    return runs_by_id(lambda r: r["run_id"] in ROWS)


@pytest.fixture(scope="module")
def results(rows: dict[str, dict[str, str]]) -> dict[str, object]:
    return {r.run_id: r for r in validated_of(rows.values())}


def test_rows_state_one_launch_configuration(rows: dict[str, dict[str, str]]) -> None:
    for run in ROWS:
        r = rows[run]
        assert (r["tp"], r["pp"], r["cp"], r["dp"], r["micro_batch"], r["global_batch_seqs"], r["seq_len"]) == (
            "1", "1", "1", "8", "2", "16", "8192")
        assert (r["tp_comm_overlap"], r["fp8_params"], r["act_recompute"]) == ("no", "no", "none")
        assert "NVFP4" in r["precision"] and "FP8_DPA=True" in r["precision"]
        assert "xtp1pp1cp1_8b_fp4.sh" in r["derived"] or "config_1xXE9680Lx8B200-SXM-180GB.sh" in r["derived"]
        assert 1.02 <= float(r["step_time_s"]) / float(r["steady_step_time_s"]) <= 1.06  # short evaluations
    assert [rows[r]["accelerator_canonical"] for r in ROWS] == ["GB200", "GB300", "B200", "B200"]


def test_measured_steps_and_the_part_ratios(rows: dict[str, dict[str, str]]) -> None:
    """Steady steps 0.4055 (GB200), 0.3466 (GB300), 0.4532 / 0.4506 s (B200, Oracle / Dell)."""
    step = {r: float(rows[r]["steady_step_time_s"]) for r in ROWS}
    assert step[GB200] == pytest.approx(0.4055, abs=5e-4)
    assert step[GB300] == pytest.approx(0.3466, abs=5e-4)
    assert [step[r] for r in B200] == pytest.approx([0.4532, 0.4506], abs=5e-4)
    assert step[B200[0]] / step[GB200] == pytest.approx(1.118, abs=0.002)
    assert step[B200[1]] / step[GB200] == pytest.approx(1.111, abs=0.002)


def test_model_reproduces_the_gb200_b200_ratio(results: dict[str, object]) -> None:
    """The model's GB200 / B200 step ratio (1.113 at main 25d02ce: B200 at 1000 W, GB200 at 1200 W) lies within
    0.02 of the measured 1.111-1.118; both parts within the group's usual error."""
    for run in ROWS:
        assert results[run].status == "ok", results[run]  # type: ignore[attr-defined]
    b200 = results[B200[0]].predicted  # type: ignore[attr-defined]
    assert results[B200[1]].predicted == pytest.approx(b200)  # type: ignore[attr-defined]
    ratio = b200 / results[GB200].predicted  # type: ignore[attr-defined]
    assert 1.111 - 0.02 <= ratio <= 1.118 + 0.02
    for run in (GB200, *B200):
        assert abs(results[run].error_pct) < 11.3  # type: ignore[attr-defined]
