"""``lora_dropout_recompute`` of the MLPerf LoRA rows (data/validation/derive/mlperf_lora_dropout.py; issue 10,
s26-B, s26-Q): ``no`` where the implementation's Dockerfile builds a NeMo 1.x revision whose ``ParallelLinearAdapter``
keeps its ``nn.Dropout`` (v2.0.0.rc0.beta, the r2.0.0.rc0.beta branch, 24.09-alpha.rc0) and the yaml puts an
``adapter_dropout`` > 0 at ``dropout_position: "pre"``; else left empty."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from fake_mirror import FakeMirror
from measured_runs import runs_by_id

_IMPL = "S/benchmarks/llama2_70b_lora/implementations/x"
_CONFIG = f"{_IMPL}/config_A.sh"


def _mirror(checkout: str, dropout: str, position: str = '      dropout_position: "pre"\n') -> FakeMirror:
    docker = (f"ARG NEMO_REVISION={checkout.removeprefix('ARG ')}\nRUN git clone https://github.com/NVIDIA/NeMo.git\n"
              if checkout.startswith("ARG ") else "FROM rocm/pytorch\nRUN git clone https://github.com/NVIDIA/NeMo nemo "
              f"\\\n    && cd nemo && git checkout {checkout}\n")
    yaml = f"model:\n  peft:\n    lora_tuning:\n      adapter_dropout: {dropout}\n{position}"
    return FakeMirror({_CONFIG: "export LORA_DROPOUT=0.1\n", f"{_IMPL}/Dockerfile": docker,
                       f"{_IMPL}/src/conf/megatron_gpt_peft_tuning_config.yaml": yaml})


@pytest.mark.parametrize(("checkout", "dropout", "value"), [
    ("v2.0.0.rc0.beta", "${oc.decode:${oc.env:LORA_DROPOUT,0.0}}", "no"),  # the config's 0.1
    ("v2.0.0.rc0.beta", "0.0", None),
    ("25.04-alpha.rc1", "0.1", None),
    ("ARG r2.0.0.rc0.beta", "0.1", "no"),  # the v4.0 copies: the release branch, the tag's commit
    ("ARG 24.09-alpha.rc0", "0.1", "no"),  # NVIDIA v4.1 and its copies
    ("ARG main", "0.1", None),  # a moving branch: unknown
])
def test_the_rule(derive_script: Callable[[str], ModuleType], checkout: str, dropout: str, value: str | None) -> None:
    found = derive_script("mlperf_lora_dropout").lora_dropout_recompute(_mirror(checkout, dropout), _CONFIG)
    assert (found[0] if found else None) == value
    if found:
        assert checkout.removeprefix("ARG ") in found[1] and "adapter_dropout 0.1, dropout_position pre" in found[1]


@pytest.mark.parametrize("position", ["", '      dropout_position: "post"\n'])
def test_dropout_on_the_adapter_output_is_left_empty(derive_script: Callable[[str], ModuleType], position: str) -> None:
    """NeMo's default ``post`` drops the adapter output (a mask only, no dropped copy of the input): not this option."""
    mirror = _mirror("v2.0.0.rc0.beta", "0.1", position)
    assert derive_script("mlperf_lora_dropout").lora_dropout_recompute(mirror, _CONFIG) is None


def test_rows_of_the_nemo_1_code_and_the_amd_port_store_it() -> None:
    rows = runs_by_id()
    stored = sorted(k for k, r in rows.items() if r.get("lora_dropout_recompute") == "no")
    assert len(stored) == 64  # 16 at the v2.0.0.rc0.beta tag before s26-Q (13 before s26-M)
    assert "mlperf_train_v4.0_Dell_XE9680x8H100-SXM-80GB_llama2_70b_lora" in stored  # r2.0.0.rc0.beta
    assert "mlperf_train_v4.1_NVIDIA_eos_ngc24.09_nemo_llama2_70b_lora" in stored  # 24.09-alpha.rc0
    assert not any("_v5.0_NVIDIA_" in k or "_v5.1_NVIDIA_" in k for k in stored)  # NeMo 2: recomputed
    assert all(r.get("lora_dropout_recompute") in ("", "no") for r in rows.values())
    assert "mlperf_train_v5.0_AMD_MI300X_EPYC_9575F_pytorch_llama2_70b_lora" in stored
    assert "mlperf_train_v4.0_NVIDIA_h200_ngc24.04_nemo_llama2_70b_lora" in stored
    assert "mlperf_train_v5.0_MangoBoost_MI300X-LLMBoost-GPUBoost-1node_llama2_70b_lora" in stored
