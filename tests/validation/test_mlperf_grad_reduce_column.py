"""``grad_sync_dtype`` of the MLPerf Training v5.0 / v5.1 llama31_405b / llama31_8b rows, read per submission from
the ``pretrain.py`` each row's implementation ran (``grad_reduce_in_fp32=False``: BF16 gradient buffer and reduce),
else from the DDP config its result files print (data/validation/derive/mlperf_grad_reduce.py; issue 10, s19-P)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from derive_rerun import rerun_on_a_copy
from fake_mirror import FakeMirror

from archsweep.load.paths import data_dir
from archsweep.validation.cells import read_measurements

CSV = data_dir() / "validation" / "training_runs.csv"
MIRRORS = [Path(f"/work/.mirror/mlcommons+training_results_{v}/repo") for v in ("v5.0", "v5.1")]
_NOTE = "mlperf_grad_reduce.py"




_PRETRAIN = """def get_model(config):
    if config.model.fp8:
        precision = MegatronMixedPrecision(precision="bf16-mixed", grad_reduce_in_fp32={a}, fp8=fp8_type)
    else:
        precision = MegatronMixedPrecision(
            precision="bf16-mixed",
            grad_reduce_in_fp32={b},
        )
    ddp = DistributedDataParallelConfig(grad_reduce_in_fp32=False, bucket_size=size)
    other = f(grad_reduce_in_fp32=flag)
"""
_IMPL = "S/benchmarks/llama31_405b/implementations"
_RESULTS = "S/results/sys_n1/llama31_405b"
_LOG = "0: Setting up DistributedDataParallel with config DistributedDataParallelConfig(grad_reduce_in_fp32={}, x=1)\n"


def _row(config: str) -> dict[str, str]:
    return {"run_id": "r", "source_group": "mlperf-forward",
            "source": f"MLCommons MLPerf Training v5.1 results (github.com/mlcommons/training_results_v5.1), "
                      f"{_RESULTS}/result_*.txt + S/systems/sys_n1.json",
            "derived": f"layout from training_results_v5.1/{config} (config)"}


@pytest.fixture()
def script(derive_script: Callable[[str], ModuleType]) -> ModuleType:
    return derive_script("mlperf_grad_reduce")


def test_settings_are_the_bool_keyword_arguments_of_every_call(script: ModuleType) -> None:
    """Both MegatronMixedPrecision branches and the DDP config, with their lines; a variable is not a setting."""
    assert script.settings(_PRETRAIN.format(a=False, b=False)) == [(3, False), (7, False), (9, False)]
    assert script.settings("x = 1\n") == []


def test_the_row_reads_its_own_folder_then_the_submitters_one_other_then_the_logs(script: ModuleType) -> None:
    config = f"{_IMPL}/a/config_X.sh"
    own = FakeMirror({config: "", f"{_IMPL}/a/pretrain.py": _PRETRAIN.format(a=False, b=False)})
    version, value, where = script.grad_reduce({"v5.1": own}, _row(config))
    assert (version, value) == ("v5.1", "bf16") and "a/pretrain.py" in where and "L3, L7, L9" in where
    assert "confidence high" in where
    # hpg.dgxb200x8-like: configs only, the submitter's one other folder ships pretrain.py (confidence medium)
    other = FakeMirror({config: "", f"{_IMPL}/b/pretrain.py": _PRETRAIN.format(a=False, b=False)})
    value, where = script.grad_reduce({"v5.1": other}, _row(config))[1:]
    assert value == "bf16" and "b/pretrain.py" in where and "confidence medium" in where
    # Oracle-like: no training code shipped, every result file prints the DDP config
    logs = {config: "", f"{_RESULTS}/result_0.txt": _LOG.format(False), f"{_RESULTS}/result_1.txt": _LOG.format(False)}
    value, where = script.grad_reduce({"v5.1": FakeMirror(logs)}, _row(config))[1:]
    assert value == "bf16" and "all 2 print" in where
    logs[f"{_RESULTS}/result_1.txt"] = "no ddp line\n"
    assert script.grad_reduce({"v5.1": FakeMirror(logs)}, _row(config)) is None  # one file silent: left empty


def test_disagreeing_settings_stop_the_script(script: ModuleType) -> None:
    config = f"{_IMPL}/a/config_X.sh"
    mixed = FakeMirror({config: "", f"{_IMPL}/a/pretrain.py": _PRETRAIN.format(a=True, b=False)})
    with pytest.raises(SystemExit, match="read it by hand"):
        script.grad_reduce({"v5.1": mixed}, _row(config))


def test_other_rows_are_not_read(script: ModuleType) -> None:
    lora = _row(f"{_IMPL}/a/config_X.sh")
    lora["source"] = lora["source"].replace("llama31_405b", "llama2_70b_lora")
    assert script.grad_reduce({"v5.1": FakeMirror({})}, lora) is None
    assert script.grad_reduce({"v5.1": FakeMirror({})}, {**_row("x.sh"), "source_group": "nemo"}) is None


def test_every_llama31_mlperf_row_states_a_bf16_gradient_buffer() -> None:
    """The 24 v5.0 / v5.1 llama31 rows (4 llama31_8b in ``mlperf``, 20 llama31_405b in ``mlperf-forward``) state
    bf16 with the script's note; no other row carries the note."""
    rows = read_measurements(CSV)
    noted = [r for r in rows if _NOTE in r["derived"]]
    assert len(noted) == 24
    assert {r["grad_sync_dtype"] for r in noted} == {"bf16"}
    assert all("llama31_" in r["source"] for r in noted)
    assert sum(r["source_group"] == "mlperf" for r in noted) == 4


@pytest.mark.skipif(not all(m.exists() for m in MIRRORS) or shutil.which("git") is None,
                    reason="needs the training_results_v5.0 / _v5.1 clones")
def test_the_script_reproduces_the_table_byte_for_byte(tmp_path: Path) -> None:
    """mlperf_grad_reduce.py over the v5.0 / v5.1 clones leaves training_runs.csv as it is (idempotent)."""
    assert rerun_on_a_copy(tmp_path, [("mlperf_grad_reduce.py", MIRRORS)]) == CSV.read_bytes()
