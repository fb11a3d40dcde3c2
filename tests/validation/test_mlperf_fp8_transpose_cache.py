"""Issue 10, s22-P: whether an MLPerf Llama 2 70B LoRA run kept its FP8 weights' transposes is read per row
(``fp8_transpose_cached``, data/validation/derive/mlperf_fp8_transpose_cache.py), not taken from the benchmark for
every round: NeMo 1.x code on TransformerEngine 1.x containers sets ``disable_parameter_transpose_cache: True`` and
re-forms the transpose every micro-batch; NVIDIA's NeMo 2 code (v5.0 ``*_ngc25.04_nemo``, v5.1 ``nemo``) passes
``disable_parameter_transpose_cache=False``, and TransformerEngine 2.x keeps an FP8 parameter's transpose whatever
the switch. On a TN-only part (Hopper) a cached job pays no per-micro-batch transpose and holds the transposed copy
(s21-C); on Blackwell neither."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest
from derive_rerun import rerun_on_a_copy
from fake_mirror import FakeMirror

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.part_physics import job_calibration
from archsweep.load.paths import data_dir
from archsweep.spec.training import TrainingJob
from archsweep.validation.cells import read_measurements
from archsweep.validation.mlperf import TRANSPOSE_CACHED, transpose_cached
from archsweep.validation.types import Skip

CSV = data_dir() / "validation" / "training_runs.csv"
ROWS = {r["run_id"]: r for r in read_measurements(CSV)}
MIRRORS = [Path(f"/work/.mirror/mlcommons+training_results_{v}/repo") for v in ("v4.0", "v4.1", "v5.0", "v5.1")]
_SCRIPT = "mlperf_fp8_transpose_cache.py"


def _lora(key: str) -> dict[str, str]:
    return ROWS[f"mlperf_train_{key}_llama2_70b_lora"]


def test_the_column_is_stated_only_for_fp8_weight_lora_rows_with_its_source() -> None:
    stated = [r for r in ROWS.values() if r[TRANSPOSE_CACHED]]
    assert {r[TRANSPOSE_CACHED] for r in ROWS.values()} == {"", "yes", "no"}
    assert all(r["run_id"].endswith("llama2_70b_lora") and r["fp8_params"] == "yes" and _SCRIPT in r["derived"]
               for r in stated)
    assert (sum(r[TRANSPOSE_CACHED] == "no" for r in stated), sum(r[TRANSPOSE_CACHED] == "yes" for r in stated)) == (75, 36)
    # every v4.0 / v4.1 run is NeMo 1.x code on a 24.xx container: none kept the transposes
    assert all(r[TRANSPOSE_CACHED] == "no" for r in stated if r["run_id"].startswith(("mlperf_train_v4.0", "mlperf_train_v4.1")))


def test_the_two_dell_v5_1_h200_runs_ran_different_code() -> None:
    """Both name a launch config of Dell's v5.1 NeMo 2 folder, but only the XE9680L runs print its config
    (``disable_parameter_transpose_cache=False``, PyTorch 25.09); the XE9680 runs print the NeMo 1.x dump
    (``disable_parameter_transpose_cache: true``) on PyTorch 24.09: their logs decide."""
    cached, uncached = _lora("v5.1_Dell_1xXE9680Lx8H200-SXM-141GB"), _lora("v5.1_Dell_1xXE9680x8H200-SXM-141GB")
    assert cached[TRANSPOSE_CACHED] == "yes" and transpose_cached(cached) is True
    assert "print disable_parameter_transpose_cache false; container release 25.xx: TE 2.x" in cached["derived"]
    assert uncached[TRANSPOSE_CACHED] == "no" and transpose_cached(uncached) is False
    assert "print disable_parameter_transpose_cache true; container release 24.xx: TE 1.x" in uncached["derived"]


def test_nemo2_code_states_a_kept_transpose_and_an_unsettled_row_keeps_the_benchmark_default() -> None:
    tyche = _lora("v5.0_NVIDIA_tyche_ngpu72_ngc25.04_nemo")
    assert tyche[TRANSPOSE_CACHED] == "yes" and "tyche_ngpu72_ngc25.04_nemo/train.py L222" in tyche["derived"]
    # Lenovo v5.0 4 x H200 ships NeMo 2 code, but its logged init_start call site is NeMo 1.x custom_callbacks.py
    # L333 (the shipped file has 225 lines) and its system file names the 24.09 release: left to the default
    lenovo = _lora("v5.0_Lenovo_4xSR680Ax8H200-SXM-141GB")
    assert lenovo[TRANSPOSE_CACHED] == "" and transpose_cached(lenovo) is False


def test_a_stated_cell_wins_over_the_benchmark_default() -> None:
    row = {"run_id": "mlperf_train_v4.0_NVIDIA_eos_n8_ngc24.04_nemo_llama2_70b_lora", "source_group": "mlperf"}
    assert transpose_cached(row) is False  # the benchmark's default (mlperf_eval_rules.yaml fp8_weights)
    assert transpose_cached({**row, TRANSPOSE_CACHED: "yes"}) is True
    assert transpose_cached({**row, TRANSPOSE_CACHED: "no"}) is False
    assert transpose_cached({**row, "run_id": "mlperf_train_v4.0_NVIDIA_eos_n64_ngc24.04_nemo_gpt3"}) is True
    with pytest.raises(Skip, match="fp8_transpose_cached='maybe' not understood; allowed: yes/no"):
        transpose_cached({**row, TRANSPOSE_CACHED: "maybe"})


def test_a_kept_transpose_moves_traffic_into_memory_on_hopper_only() -> None:
    """The cached H200 job pays no transpose pass but holds the 1 B transposed copy; B200 holds neither."""
    cal = load_calibration()
    job = TrainingJob(global_batch_seqs=8, seq_len=8192, precision="fp8", fp8_params=True)
    h200, b200 = get_accelerator("H200"), get_accelerator("B200")
    kept, reformed = job_calibration(cal, h200, job), job_calibration(cal, h200, replace(job, fp8_weight_transpose_cached=False))
    assert (kept.fp8_weight_transpose_bytes_per_element, kept.fp8_weight_copy_bytes_per_param) == (0.0, 1.0)
    assert (reformed.fp8_weight_transpose_bytes_per_element, reformed.fp8_weight_copy_bytes_per_param) == (2.0, 0.0)
    assert job_calibration(cal, b200, job).fp8_weight_copy_bytes_per_param_any_layout == 0.0


def test_the_rule_and_the_readings(derive_script: Callable[[str], ModuleType]) -> None:
    script = derive_script("mlperf_fp8_transpose_cache")
    assert [script.cached(switch, te2) for switch in (True, False) for te2 in (True, False)] == ["yes", "no", "yes", "yes"]
    folder = "S/results/sys/llama2_70b_lora"
    sysjson = ':::SYSJSON {"framework":"PyTorch NVIDIA Release 24.09"}\n'
    nemo1 = sysjson + "0:   fp8_params: true\n0:   disable_parameter_transpose_cache: true\n"
    value, where = script.from_logs(FakeMirror({f"{folder}/result_0.txt": nemo1, f"{folder}/result_1.txt": nemo1}), folder)
    assert value == "no" and "all 2 print disable_parameter_transpose_cache true; container release 24.xx" in where
    nemo2 = sysjson.replace("24.09", "25.09") + "0:        disable_parameter_transpose_cache=False,\n"
    assert script.from_logs(FakeMirror({f"{folder}/result_0.txt": nemo2}), folder)[0] == "yes"
    # a TE 2.x container keeps the transpose even with the switch set
    assert script.from_logs(FakeMirror({f"{folder}/result_0.txt": nemo1.replace("24.09", "25.04")}), folder)[0] == "yes"
    # files that disagree, or one that prints nothing: not read from the logs
    assert script.from_logs(FakeMirror({f"{folder}/result_0.txt": nemo1, f"{folder}/result_1.txt": nemo2}), folder) is None
    assert script.from_logs(FakeMirror({f"{folder}/result_0.txt": nemo1, f"{folder}/result_1.txt": sysjson}), folder) is None
    impl = "S/benchmarks/llama2_70b_lora/implementations/x"
    code = FakeMirror({f"{impl}/config_a.sh": "export FP8=True\n", f"{impl}/Dockerfile": "ARG FROM_IMAGE_NAME=nvcr.io/nvidia/pytorch:25.04-py3\n",
                       f"{impl}/train.py": "cfg = dict(\n    disable_parameter_transpose_cache=False,\n)\n"})
    value, where = script.from_code(code, f"{impl}/config_a.sh")
    assert value == "yes" and where.startswith(f"{impl}/train.py L2 ") and "container release 25.xx" in where


def test_a_run_whose_logged_call_site_is_not_the_implementations_is_not_read_from_it(
        derive_script: Callable[[str], ModuleType]) -> None:
    script = derive_script("mlperf_fp8_transpose_cache")
    folder, impl = "S/results/sys/llama2_70b_lora", "S/benchmarks/llama2_70b_lora"
    log = ':::MLLOG {"key": "init_start", "metadata": {"file": "/workspace/ft-llm/custom_callbacks.py", "lineno": 3}}\n'
    ok = FakeMirror({f"{folder}/result_0.txt": log, f"{impl}/custom_callbacks.py": "a\nb\nlog(constants.INIT_START)\n"})
    assert script.ran_elsewhere(ok, impl, folder) is None
    short = FakeMirror({f"{folder}/result_0.txt": log, f"{impl}/custom_callbacks.py": "a\n"})
    assert "did not run this implementation's code" in (script.ran_elsewhere(short, impl, folder) or "")
    assert "ships no" in (script.ran_elsewhere(FakeMirror({f"{folder}/result_0.txt": log}), impl, folder) or "")
    package = log.replace("/workspace/ft-llm/custom_callbacks.py", "/usr/local/lib/mlperf_common/logging.py")
    assert script.ran_elsewhere(FakeMirror({f"{folder}/result_0.txt": package}), impl, folder) is None


@pytest.mark.skipif(not all(m.exists() for m in MIRRORS) or shutil.which("git") is None,
                    reason="needs the training_results_v4.0 .. _v5.1 clones")
def test_the_fill_script_reproduces_the_table_byte_for_byte(tmp_path: Path) -> None:
    assert rerun_on_a_copy(tmp_path, [(_SCRIPT, MIRRORS)]) == CSV.read_bytes()


def test_the_te_major_follows_the_container_release_month_of_the_te_v2_tag(
        derive_script: Callable[[str], ModuleType]) -> None:
    """TE v2.0 was tagged 2025-02-12: a 25.01 container holds TE 1.x, a 25.03 one TE 2.x; a 25.02 container is
    decided by the code generation, as a run that names no release (s23-N's finding (a))."""
    te2 = derive_script("mlperf_fp8_transpose_cache")._te2
    assert te2("24.09", True) == (False, "container release 24.xx: TE 1.x")
    assert te2("25.01", True) == (False, "container release 25.xx: TE 1.x")
    assert te2("25.03", False) == (True, "container release 25.xx: TE 2.x")
    assert te2("25.02", True)[0] is True and te2("25.02", False)[0] is False
    assert "the month TE v2.0 was tagged" in te2("25.02", False)[1]
    assert te2(None, True) == (True, "no container release named: TE 2.x with NeMo 2 code")
