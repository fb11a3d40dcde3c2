"""Issue 10, s22-R: where an MLPerf Llama 2 70B LoRA run's result files print its resolved config (the NeMo 1.x
"Experiment configuration" dump, NeMo 2's ``MCore config``), that config is what ran and wins over the launch code
for the cells it settles (``_mlperf_common.printed_value`` / ``printed_flag`` / ``printed_layout_conflict``, used by
mlperf_fp8_act.py, mlperf_tp_overlap_flags.py, mlperf_fp8_attention.py, mlperf_lora_layout.py,
mlperf_lora_logged_layout.py and mlperf_fp8_transpose_cache.py). The Dell v5.0 H200 folders ship NeMo 2 code whose
yaml reads ``FP8_ACT`` while their configs export NeMo 1.x's ``FP8_ACTIVATION=True``; the runs ran NeMo 1.x and print
``activation_func_fp8_input_store: true``. HPE v5.0 n2 / n4 print TP4 CP1 (and ``lr: 0.0005``, two micro-batches)
where the only config of their size their folder ships says CP 2 (``LR=0.00036``).

s23-G: the same reader over the gpt3 / llama31_405b / llama31_8b rows (``_mlperf_common.PRINTED_RESULTS``). Three
folders print a config (Oracle v4.1 gpt3 x 2, Nebius v5.0 llama31_405b x 2, Oracle v5.1 llama31_8b); every row of these
benchmarks logs ``global_batch_size`` and ``gradient_accumulation_steps`` (``:::MLLOG``). The Oracle v5.1 llama31_8b run
printed ``fp8_dot_product_attention`` with an NVFP4 autocast (``fp8: false``, ``fp4: true``, ``fp4_recipe: nvfp4``):
Megatron-Core hands the flag to ``NVFP4BlockScaling`` and TransformerEngine 2.8 runs that attention in FP8 or stops."""

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
ROWS = {r["run_id"]: r for r in read_measurements(CSV)}
VERSIONS = ("v4.0", "v4.1", "v5.0", "v5.1")
MIRRORS = [Path(f"/work/.mirror/mlcommons+training_results_{v}/repo") for v in ("v3.1", *VERSIONS)]
_HAVE_MIRRORS = all(m.exists() for m in MIRRORS) and shutil.which("git") is not None
_FOLDER = "S/results/sys/llama2_70b_lora"
#: (cell, printed key) of the yes / no cells the printed config settles through ``printed_flag``.
_FLAGS = (("fp8_act", "activation_func_fp8_input_store"), ("tp_overlap_rs_dgrad", "tp_comm_overlap_rs_dgrad"),
          ("tp_overlap_disable_qkv", "tp_comm_overlap_disable_qkv"))


def _lora(key: str) -> dict[str, str]:
    return ROWS[f"mlperf_train_{key}_llama2_70b_lora"]


def test_a_printed_setting_is_read_from_both_dump_forms_and_only_where_all_files_agree(
        derive_script: Callable[[str], ModuleType]) -> None:
    common = derive_script("_mlperf_common")
    nemo1 = "0: model:\n0:   activation_func_fp8_input_store: true\n0:   context_parallel_size: 1\n"
    padded = nemo1.replace("0: ", " 0: ")  # srun pads the rank of a multi-node log
    nemo2 = "0: MCore config:\n0: Llama2Config70B(tensor_model_parallel_size=2,\n0:     activation_func_fp8_input_store=1,\n" \
            "0:     fp8='hybrid',\n"
    read = lambda files, key: common.printed_value(  # noqa: E731
        FakeMirror({f"{_FOLDER}/result_{i}.txt": t for i, t in enumerate(files)}), _FOLDER, key)
    assert read([nemo1, nemo1], "activation_func_fp8_input_store") == ("true", 2)
    assert read([padded], "activation_func_fp8_input_store") == ("true", 1)
    assert read([nemo2], "activation_func_fp8_input_store") == ("1", 1)
    assert read([nemo2], "tensor_model_parallel_size") == ("2", 1)
    assert read([nemo2], "fp8") == ("hybrid", 1)  # quotes dropped; ``fp8`` is not ``fp8_...``
    assert read([nemo1, nemo2], "activation_func_fp8_input_store") is None  # the files differ
    assert read([nemo1, "0: model:\n"], "activation_func_fp8_input_store") is None  # one prints nothing
    assert read([], "activation_func_fp8_input_store") is None


def test_a_printed_layout_contradicts_a_launch_config_only_where_it_says_otherwise(
        derive_script: Callable[[str], ModuleType]) -> None:
    common = derive_script("_mlperf_common")
    log = ("0:   tensor_model_parallel_size: 4\n0:   pipeline_model_parallel_size: 1\n0:   context_parallel_size: 1\n"
           "0:   micro_batch_size: 1\n0:   sequence_parallel: 1\n")
    mirror = FakeMirror({f"{_FOLDER}/result_0.txt": log})
    cells = {"tp": "4", "pp": "1", "cp": "2", "micro_batch": "1", "sp": "yes"}
    assert common.printed_layout_conflict(mirror, _FOLDER, cells) == "context_parallel_size 1 where 2"
    assert common.printed_layout_conflict(mirror, _FOLDER, {**cells, "cp": "1"}) is None
    assert common.printed_layout_conflict(mirror, _FOLDER, {**cells, "cp": ""}) is None  # an empty cell: not compared
    assert common.printed_layout_conflict(FakeMirror({f"{_FOLDER}/result_0.txt": ""}), _FOLDER, cells) is None


def test_the_rows_whose_printed_config_differs_from_their_launch_code_take_the_printed_cells() -> None:
    printed_fp8_act = ("v5.0_Dell_1xXE7745x4H200-NVL-141GB", "v5.0_Dell_1xXE9680Lx8H200-SXM-141GB",
                       "v5.0_Dell_XE7740x8H200-NVL-141GB", "v5.0_Dell_XE9680x8H200-SXM-141GB",
                       "v5.0_HPE_HPE-Cray-XD670-H200-SXM5-141GB_n2_24.09", "v5.0_HPE_HPE-Cray-XD670-H200-SXM5-141GB_n4_24.09",
                       "v5.1_Cisco_2xC885A_M8-8xH200-SXM-141GB", "v5.1_Dell_1xXE9680x8H200-SXM-141GB",
                       "v5.1_Supermicro_AS-4126GS-NBR-LCC", "v5.1_Supermicro_SYS-422GS-NBRT-LCC")
    for key in printed_fp8_act:
        row = _lora(key)
        assert row["fp8_act"] == "yes", key
        assert "fp8_act yes from the config printed in" in row["derived"], key
    for key, dp in (("v5.0_HPE_HPE-Cray-XD670-H200-SXM5-141GB_n2_24.09", "4"),
                    ("v5.0_HPE_HPE-Cray-XD670-H200-SXM5-141GB_n4_24.09", "8")):
        row = _lora(key)
        assert (row["tp"], row["cp"], row["dp"], row["sp"], row["fp8_attention"], row["tp_overlap_rs_dgrad"]) == (
            "4", "1", dp, "yes", "yes", "yes"), key
        assert "whose layout is not the run's (the result files print context_parallel_size 1 where 2)" in row["derived"]
        assert "mlperf_lora_layout.py" not in row["derived"] and "mlperf_stated_layouts.py" not in row["derived"]


class _CachedMirror:
    """A mirror whose files are read once (the test reads each result file for several keys)."""

    def __init__(self, mirror: object) -> None:
        self.mirror, self.texts = mirror, {}  # type: ignore[var-annotated]

    def show(self, path: str) -> str:
        if path not in self.texts:
            self.texts[path] = self.mirror.show(path)  # type: ignore[attr-defined]
        return self.texts[path]

    def ls(self, prefix: str, recursive: bool = True) -> list[str]:
        return self.mirror.ls(prefix, recursive)  # type: ignore[attr-defined,no-any-return]


@pytest.mark.skipif(not _HAVE_MIRRORS, reason="needs the training_results_v3.1 .. _v5.1 clones")
def test_every_cell_a_printed_config_settles_equals_it(derive_script: Callable[[str], ModuleType]) -> None:
    """The rule as a property of the table: no llama2_70b_lora, gpt3 or llama31 row keeps a cell its own logs print
    otherwise."""
    common, attention = derive_script("_mlperf_common"), derive_script("mlperf_fp8_attention")
    repos = {v: _CachedMirror(m) for v, m in derive_script("pinned_mirrors").open_mirrors(list(map(str, MIRRORS))).items()}
    checked = attention_checked = 0
    for row in ROWS.values():
        if common.mlperf_source(repos, row, common.PRINTED_RESULTS) is None:  # gpt3 / llama31 rows too (s23-G)
            continue
        for cell, key in _FLAGS:
            found = common.printed_flag(repos, row, key)
            if found is not None:
                checked += 1
                assert row[cell] == found[1], (row["run_id"], cell, found)
        match = common.mlperf_source(repos, row, common.PRINTED_RESULTS)
        assert common.printed_layout_conflict(repos[match.group(1)], match.group(2), row) is None, row["run_id"]
        # fp8_attention: the printed fp8 / fp8_dot_product_attention / context_parallel_size settle it where they
        # say off, or on at CP 1 (s23-N: at the pinned commits 46 rows, 28 yes and 18 no)
        if (printed := attention.logged_fp8_attention(repos[match.group(1)], match.group(2))) is not None:
            attention_checked += 1
            assert row["fp8_attention"] == printed[0], (row["run_id"], printed)
    assert checked >= 90 and attention_checked >= 40


def test_an_nvfp4_run_with_fp8_dot_product_attention_runs_its_attention_in_fp8(
        derive_script: Callable[[str], ModuleType]) -> None:
    attention = derive_script("mlperf_fp8_attention")
    folder = "S/results/sys/llama31_8b"

    def read(**keys: str) -> tuple[str, str] | None:
        log = "".join(f"0:   {k}: {v}\n" for k, v in {"fp8": "false", "fp4": "true", "fp4_recipe": "nvfp4",
                                                       "fp8_dot_product_attention": "true", "context_parallel_size": "1",
                                                       **keys}.items())
        return attention.logged_fp8_attention(FakeMirror({f"{folder}/result_0.txt": log}), folder)

    value, where = read()  # type: ignore[misc]
    assert value == "yes" and "fp8 false, fp4 true, fp4_recipe nvfp4, fp8_dot_product_attention true" in where
    assert read(fp4="false")[0] == "no"  # type: ignore[index]  # no FP8 / FP4 autocast: BF16 attention
    assert read(fp4_recipe="custom")[0] == "no"  # type: ignore[index]
    assert read(fp8_dot_product_attention="false")[0] == "no"  # type: ignore[index]
    assert read(context_parallel_size="2") is None  # FP8 attention under CP: the launch-config path decides
    value, where = read(fp8="true", fp4="false")  # type: ignore[misc]  # the FP8 autocast: the LoRA rows' reading
    assert value == "yes" and "fp4" not in where


def test_an_nvfp4_run_printing_only_megatron_cores_config_reads_as_the_fp4_autocast(
        derive_script: Callable[[str], ModuleType]) -> None:
    # s24-N: Megatron-Core's ``TransformerConfig`` prints the FP4 format, not a flag (Oracle v5.1 llama31_8b
    # result_0.txt L1109 ``fp4='e2m1'``, below its NeMo dump's ``fp4: true`` L156): a log whose first ``fp4`` line is
    # the ``MCore config``'s ran the NVFP4 autocast too (as s23-N's ``fp8='hybrid'`` for FP8)
    attention = derive_script("mlperf_fp8_attention")
    folder = "S/results/sys/llama31_8b"
    log = ("0: MCore config:\n0: Llama31Config8B(tensor_model_parallel_size=1,\n0:     context_parallel_size=1,\n"
           "0:     fp8=None,\n0:     fp8_dot_product_attention=True,\n0:     fp4='e2m1',\n0:     fp4_recipe='nvfp4',\n")
    value, where = attention.logged_fp8_attention(FakeMirror({f"{folder}/result_0.txt": log}), folder)
    assert value == "yes" and "fp8 None, fp4 e2m1, fp4_recipe nvfp4, fp8_dot_product_attention True" in where
    assert attention.logged_fp8_attention(FakeMirror({f"{folder}/result_0.txt": log.replace("'e2m1'", "None")}),
                                          folder)[0] == "no"  # type: ignore[index]

def test_the_oracle_v51_llama31_8b_row_takes_the_flags_its_logs_print() -> None:
    row = ROWS["mlperf_train_v5.1_Oracle_1xBM.GPU.B200.8_llama31_8b"]
    assert (row["fp8_attention"], row["fp8_act"], row["tp_overlap_disable_qkv"], row["tp_overlap_rs_dgrad"]) == (
        "yes", "no", "no", "no")
    assert ("fp8_attention yes from the NeMo config printed in Oracle/results/1xBM.GPU.B200.8/llama31_8b/result_*.txt "
            "(all 10 alike: fp8 false, fp4 true, fp4_recipe nvfp4, fp8_dot_product_attention true") in row["derived"]
    assert "fp8_act no from the config printed in Oracle/results/1xBM.GPU.B200.8/llama31_8b" in row["derived"]


@pytest.mark.skipif(not _HAVE_MIRRORS, reason="needs the training_results_v3.1 .. _v5.1 clones")
def test_every_gpt3_and_llama31_row_agrees_with_what_its_result_files_log(
        derive_script: Callable[[str], ModuleType]) -> None:
    """Every stated gpt3 / llama31 layout against its logs: the ``:::MLLOG`` global batch and gradient accumulation
    (GBS = accumulation x micro-batch x dp) of every row, and where the files print a config, its vpp and
    ``fp8_params`` too (tp / pp / cp / micro-batch / sp: the property test above)."""
    common = derive_script("_mlperf_common")
    repos = {v: _CachedMirror(m) for v, m in derive_script("pinned_mirrors").open_mirrors(list(map(str, MIRRORS))).items()}
    checked, printed = 0, 0
    for row in ROWS.values():
        match = common.mlperf_source(repos, row, common.PRINTED_RESULTS)
        if match is None or match.group(2).endswith("llama2_70b_lora") or not row["tp"]:
            continue
        mirror, folder = repos[match.group(1)], match.group(2)
        events = {e["key"]: e["value"] for e in common.mllog_events(mirror.show(common.result_files(mirror, folder)[0]))}
        dp = int(row["num_accels"]) // (int(row["tp"]) * int(row["pp"]) * int(row["cp"] or 1))
        assert int(events["global_batch_size"]) == int(row["global_batch_seqs"]), row["run_id"]
        assert float(events["gradient_accumulation_steps"]) * int(row["micro_batch"]) * dp == int(
            row["global_batch_seqs"]), row["run_id"]
        checked += 1
        if (vpp := common.printed_value(mirror, folder, "virtual_pipeline_model_parallel_size")) is not None:
            printed += 1
            assert vpp[0] == (row["vpp"] if row["vpp"] not in ("", "n/a") else "null"), row["run_id"]
            if (fp8_params := common.printed_value(mirror, folder, "fp8_params")) is not None:
                assert ("yes" if common.is_true(fp8_params[0]) else "no") == row["fp8_params"], row["run_id"]
    assert checked >= 40 and printed == 5


@pytest.mark.slow
@pytest.mark.skipif(not _HAVE_MIRRORS, reason="needs the training_results_v3.1 .. _v5.1 clones")
@pytest.mark.parametrize("script", ("mlperf_lora_layout.py", "mlperf_lora_logged_layout.py", "mlperf_fp8_act.py",
                                    "mlperf_fp8_attention.py", "mlperf_tp_overlap_flags.py"))
def test_each_script_the_rule_touches_reproduces_the_table_byte_for_byte(tmp_path: Path, script: str) -> None:
    assert rerun_on_a_copy(tmp_path, [(script, MIRRORS)]) == CSV.read_bytes()


@pytest.mark.slow
@pytest.mark.skipif(not _HAVE_MIRRORS, reason="needs the training_results_v5.1 clone")
def test_the_llama31_8b_rows_script_reproduces_the_table_with_the_fills_it_reruns(tmp_path: Path) -> None:
    """mlperf_llama31_8b_rows.py rewrites its rows' ``derived``; the fills it re-runs put the printed-config notes back."""
    assert rerun_on_a_copy(tmp_path, [("mlperf_llama31_8b_rows.py", [MIRRORS[-1]])]) == CSV.read_bytes()
