"""The frozen base weights of the MLPerf v5.1 NeMo llama2_70b_lora rows are FP8 (issue 10, s19-L).

The 25.09 NeMo code of MLPerf Training v5.1 has no ``fp8_params`` yaml key (v5.0's ``fp8_params: ${FP8}`` became
``fp8_param_gather: ${FP8_PARAM_GATHER,False}``, set 0: Megatron-Core's per-layer ``fp8_param`` False), but its
``custom_llama.py`` builds the model under ``te.fp8_model_init`` where ``cfg.model.fp8`` is true: FP8 weights.
data/validation/derive/mlperf_stated_layouts.py reads that (``model_init_fp8``), and where an implementation ships
no ``conf/`` of its own, the result files' markers (``_mlperf_common.logged_fp8_model_init``; also
mlperf_lora_logged_layout.py for rows whose layout the logs give)."""

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
MIRRORS = [Path(f"/work/.mirror/mlcommons+training_results_{v}/repo") for v in ("v4.0", "v4.1", "v5.0", "v5.1")]
_CODE = "NVIDIA/benchmarks/llama2_70b_lora/implementations/nemo/custom_llama.py L99"

# The v5.1 LoRA rows whose frozen weights the code run states FP8 (custom_llama.py of their implementation) ...
FROM_CODE = ("Dell_1xXE9680x8H200-SXM-141GB", "Dell_1xXE9685Lx8B200-SXM-180GB", "Dell_1xXE9780x8B200-SXM-180GB",
             "Dell_1xXE9780x8B300-SXM-270GB", "Dell_2xXE9680Lx8B200-SXM-180GB", "Lambda_gb300_n18_ngc25.04_nemo",
             "Lenovo_SR680aV3-8xB200_SXM_180GB", "Lenovo_SR680aV4-8xB300_SXM", "Lenovo_SR780aV3-8xB200_SXM_180GB",
             "NVIDIA_theia_ngpu512_ngc25.09_nemo", "NVIDIA_theia_ngpu72_ngc25.09_nemo", "NVIDIA_tyche_ngpu512_ngc25.09_nemo",
             "NVIDIA_tyche_ngpu72_ngc25.09_nemo", "Supermicro_ARS-121GL-NB3", "Supermicro_AS-A126GS-TNBR",
             "Supermicro_SYS-822GS-NB3RT")
# ... and those whose result files show the 25.09 code took its fp8_model_init path (no conf/ of their own).
FROM_LOGS = ("Dell_1xXE9680Lx8H200-SXM-141GB", "Supermicro_AS-4126GS-NBR-LCC", "Supermicro_AS-8126GS-NB3RT",
             "Supermicro_SYS-422GS-NBRT-LCC")


def _row(system: str) -> dict[str, str]:
    return ROWS[f"mlperf_train_v5.1_{system}_llama2_70b_lora"]


def test_v5_1_rows_state_fp8_weights_with_their_source() -> None:
    for system in FROM_CODE:
        r = _row(system)
        assert r["fp8_params"] == "yes", system
        assert "custom_llama.py L99 (CustomLlamaModel.configure_model builds the model under te.fp8_model_init when " \
               "cfg.model.fp8 (FP8=True)" in r["derived"], system
        assert "confidence high, the code run" in r["derived"], system
    for system in FROM_LOGS:
        r = _row(system)
        assert r["fp8_params"] == "yes", system
        assert "NeMo 25.09 code (pre_quantized_model printed), fp8 true, tracked_stats before_model_init" in r["derived"], system
        assert _CODE + "; confidence medium" in r["derived"], system


def test_only_rows_with_no_readable_code_or_config_leave_the_weights_unstated() -> None:
    """Every v5.0 / v5.1 NeMo LoRA row with a layout states its weights' precision but Lambda v5.0's: its folder
    ships a launch config without conf/ or custom_llama.py and its logs print no config. (s20-G: Oracle's v5.0
    1 x GB200 / 8 x B200 folders are alike, but their result files print the container image and GITCOMMITID of
    Oracle's 2 x / 18 x GB200 and 1 x B200 results, whose configs have NVIDIA twins: the same code, that conf.)"""
    unstated = sorted(k for k, r in ROWS.items() if k.startswith(("mlperf_train_v5.0_", "mlperf_train_v5.1_"))
                      and k.endswith("llama2_70b_lora") and r["tp"] and not r["fp8_params"])
    assert unstated == ["mlperf_train_v5.0_Lambda_1cc_b200_n1_ngc25.04_nemo_llama2_70b_lora"]
    for system, twins in (("1xBM.GPU.GB200.4", "18xBM.GPU.GB200.4/llama2_70b_lora and Oracle/results/2xBM.GPU.GB200.4"),
                          ("8xBM.GPU.B200.8", "1xBM.GPU.B200.8/llama2_70b_lora")):
        r = ROWS[f"mlperf_train_v5.0_Oracle_{system}_llama2_70b_lora"]
        assert r["fp8_params"] == "yes" and r["fsdp_zero"].startswith("distributed optimizer"), system
        assert f"the conf of the results Oracle/results/{twins}" in r["derived"], system
        assert "GITCOMMITID 8c262b08b227bd43cefaeedd061fe71d67271031 as theirs do" in r["derived"], system
    # s20-A: University of Florida's hpg.dgxb200x8 README points to b200_nemo, whose config_common.sh / conf/ /
    # custom_llama.py its configs run (_mlperf_common.pointed_folder): FP8 weights stated
    uf = [r for k, r in ROWS.items() if "University-of-Florida" in k and k.endswith("llama2_70b_lora")]
    assert len(uf) == 5 and all(r["fp8_params"] == "yes" and "b200_nemo/custom_llama.py" in r["derived"] for r in uf)




_GUARDED = """class CustomLlamaModel(LlamaModel):
    def configure_model(self):
        if not self.custom_callback.cfg.model.fp8:
            super().configure_model()
            return

        import transformer_engine.pytorch as te
        recipe = te_recipe.DelayedScaling()
        with te.fp8_model_init(recipe=recipe):
            super().configure_model()

    def get_synthetic_input(self):
        pass
"""
_UNCONDITIONAL = """class CustomLlamaModel(LlamaModel):
    def configure_model(self):
        import transformer_engine.pytorch as te
        with torch.no_grad(), te.fp8_model_init():
            super().configure_model()
"""


def test_model_init_reads_the_guard_and_the_fp8_flag(derive_script: Callable[[str], ModuleType]) -> None:
    read = derive_script("mlperf_stated_layouts").model_init_fp8
    conf = ["X/impl/conf/megatron_gpt_peft_tuning_config.yaml"]
    guarded = FakeMirror({"X/impl/custom_llama.py": _GUARDED})
    on = read(guarded, conf, "FP8=True")
    assert on["fp8_params"] == "yes" and on["fp8_params_from"].startswith("X/impl/custom_llama.py L9 ")
    assert read(guarded, conf, "FP8=False")["fp8_params"] == "no"
    assert read(guarded, conf, "")["fp8_params"] == "no"  # no fp8 key: not stated true
    plain = read(FakeMirror({"X/impl/custom_llama.py": _UNCONDITIONAL}), conf, "FP8=False")
    assert plain["fp8_params"] == "yes" and "unconditionally" in plain["fp8_params_from"]
    assert read(FakeMirror({}), conf, "FP8=True") == {}  # no custom_llama.py
    assert read(FakeMirror({"X/impl/custom_llama.py": "class M:\n    def configure_model(self):\n        pass\n"}),
                conf, "FP8=True") == {}


def test_logs_count_only_when_every_file_shows_the_25_09_fp8_path(derive_script: Callable[[str], ModuleType]) -> None:
    read = derive_script("_mlperf_common").logged_fp8_model_init
    good = ('0:   fp8: true\n0:   pre_quantized_model: false\n'
            '0: :::MLLOG {"key": "tracked_stats", "value": {"before_model_init": 4.6}}\n')
    folder = "S/results/sys/llama2_70b_lora"
    assert "all 2: NeMo 25.09 code" in (read(FakeMirror({f"{folder}/result_0.txt": good, f"{folder}/result_1.txt": good}),
                                             folder) or "")
    for bad in (good.replace("fp8: true", "fp8: false"), good.replace("pre_quantized_model", "fp8_params"),
                good.replace("before_model_init", "after_model_init")):
        assert read(FakeMirror({f"{folder}/result_0.txt": good, f"{folder}/result_1.txt": bad}), folder) is None
    # s24-N: a multi-node log pads the rank (`` 0:``; v5.1 Dell 2xXE9680L B200, Lambda gb300_n18, Wiwynn, ...): read
    # through _mlperf_common's one reader of the printed config, as every other printed key
    padded = good.replace("0: ", " 0: ")
    assert "all 1: NeMo 25.09 code" in (read(FakeMirror({f"{folder}/result_0.txt": padded}), folder) or "")


@pytest.mark.skipif(not all(m.exists() for m in MIRRORS) or shutil.which("git") is None,
                    reason="needs the training_results_v4.0 .. _v5.1 clones")
def test_the_fill_scripts_reproduce_the_table_byte_for_byte(tmp_path: Path) -> None:
    """Both fill scripts over the v4.0 .. v5.1 clones leave training_runs.csv as it is (idempotent, deterministic)."""
    runs = [(script, MIRRORS) for script in ("mlperf_lora_logged_layout.py", "mlperf_stated_layouts.py")]
    assert rerun_on_a_copy(tmp_path, runs) == CSV.read_bytes()
