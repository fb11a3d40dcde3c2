"""``cp_comm_type`` of the NeMo-based MLPerf Training rows with CP > 1, read from the launch config's NeMo yaml
(``cp_comm_type: ${oc.decode:${oc.env:CP_COMM_TYPE,'a2a'}}`` in the v5.0 / v5.1 NeMo 2 yamls) and the config the
result files print (data/validation/derive/mlperf_cp_comm_type.py; issue 10, s24-G)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from derive_rerun import rerun_on_a_copy

from archsweep.load.paths import data_dir
from archsweep.validation.cells import read_measurements

CSV = data_dir() / "validation" / "training_runs.csv"
MIRRORS = [Path(f"/work/.mirror/mlcommons+training_results_{v}/repo") for v in ("v3.1", "v4.0", "v4.1", "v5.0", "v5.1")]
_NOTE = "mlperf_cp_comm_type.py"


def test_the_column_holds_what_the_script_read():
    rows = read_measurements(CSV)
    set_rows = [r for r in rows if r["cp_comm_type"]]
    assert all(_NOTE in r["derived"] and r["source_group"] in ("mlperf", "mlperf-forward") for r in set_rows)
    assert all(int(r["cp"]) > 1 for r in set_rows)
    assert sorted({r["cp_comm_type"] for r in set_rows}) == ["a2a", "p2p"]
    assert (sum(r["cp_comm_type"] == "a2a" for r in set_rows), sum(r["cp_comm_type"] == "p2p" for r in set_rows)) == (22, 29)
    printed = {r["run_id"] for r in rows if "result_*.txt (all 10 alike: cp_comm_type a2a" in r["derived"]}
    assert printed == {f"mlperf_train_v5.1_{x}_llama2_70b_lora" for x in (
        "Lambda_gb300_n18_ngc25.04_nemo", "Supermicro_ARS-121GL-NB3", "Wiwynn_1xKinabalux18x4GB200",
        "Wiwynn_8xKinabalux18x4GB200")}
    hpe = [r for r in rows if "HPE-Cray-XD670-H200-SXM5-141GB_n" in r["run_id"]]
    assert hpe and all(r["cp_comm_type"] == "" and "context_parallel_size 1" in r["derived"] for r in hpe)


@pytest.mark.slow
@pytest.mark.skipif(not all(m.exists() for m in MIRRORS) or shutil.which("git") is None,
                    reason="needs the training_results_v3.1 .. v5.1 clones")
def test_the_script_reproduces_the_table_byte_for_byte(tmp_path: Path) -> None:
    """mlperf_cp_comm_type.py over the five clones leaves training_runs.csv as it is (idempotent)."""
    assert rerun_on_a_copy(tmp_path, [("mlperf_cp_comm_type.py", MIRRORS)]) == CSV.read_bytes()
