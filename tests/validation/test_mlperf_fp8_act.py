"""``fp8_act`` of the MLPerf NeMo rows (data/validation/derive/mlperf_fp8_act.py; issue 10, s21-J, s26-B): the yaml
key ``fp8_activation_input_store`` is dead wherever it stands. NeMo v2.0.0.rc0.beta fills Megatron-Core's
``TransformerConfig`` only from cfg keys named like its fields (``activation_func_fp8_input_store``), so NVIDIA v4.0
h200 and GigaComputing v4.1 G593-ZD1 (``conf/``) and AMD's v5.0 ROCm port (``src/conf/``, the same NeMo tag on ROCm
Megatron-LM 190213a) ran with Megatron-Core's False although their launch configs export ``FP8_ACTIVATION=True``."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from fake_mirror import FakeMirror
from measured_runs import runs_by_id

_IMPL = "S/benchmarks/llama2_70b_lora/implementations/x"
_CONFIG = f"{_IMPL}/config_A.sh"


def _mirror(conf: str, key: str) -> FakeMirror:
    yaml = f"model:\n  {key}: ${{oc.decode:${{oc.env:FP8_ACTIVATION,0}}}}\n"
    return FakeMirror({_CONFIG: "export FP8_ACTIVATION=True\n",
                       f"{_IMPL}/{conf}/megatron_gpt_peft_tuning_config.yaml": yaml})


def test_the_port_key_is_dead_in_conf_and_in_the_ports_src_conf(derive_script: Callable[[str], ModuleType]) -> None:
    fp8_act = derive_script("mlperf_fp8_act").fp8_act
    value, where = fp8_act(_mirror("conf", "fp8_activation_input_store"), _CONFIG)
    assert (value, where) == ("no", f"no activation_func_fp8_input_store key in {_IMPL}/conf/*.yaml "
                                    "(Megatron-Core default False)")
    value, where = fp8_act(_mirror("src/conf", "fp8_activation_input_store"), _CONFIG)
    assert value == "no" and where.startswith(f"no activation_func_fp8_input_store key in {_IMPL}/src/conf/*.yaml")
    assert "v2.0.0.rc0.beta" in where and "190213a" in where
    value, where = fp8_act(_mirror("conf", "activation_func_fp8_input_store"), _CONFIG)
    assert value == "yes" and "(activation_func_fp8_input_store: " in where


def test_v4_era_rows_with_the_dead_key_ran_without_fp8_activations() -> None:
    rows = runs_by_id()
    for k in ("mlperf_train_v4.0_NVIDIA_h200_ngc24.04_nemo_llama2_70b_lora",
              "mlperf_train_v4.1_GigaComputing_G593-ZD1_pytorch_llama2_70b_lora"):
        assert rows[k]["fp8_act"] == "no", k
        assert "fp8_act no from no activation_func_fp8_input_store key in" in rows[k]["derived"], k


def test_amd_port_rows_ran_without_fp8_activations() -> None:
    amd = [r for r in runs_by_id().values() if r["accelerator_canonical"] in ("MI300X", "MI325X")]
    assert len(amd) == 9
    assert all(r["fp8_act"] == "no" and "/src/conf/*.yaml: its fp8_activation_input_store" in r["derived"] for r in amd)
