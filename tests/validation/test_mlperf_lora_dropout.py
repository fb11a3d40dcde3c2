"""``lora_dropout_recompute`` of the MLPerf LoRA rows (data/validation/derive/mlperf_lora_dropout.py; issue 10,
s26-B): ``no`` where the implementation's Dockerfile checks out NVIDIA/NeMo v2.0.0.rc0.beta (NeMo 1.x
``ParallelLinearAdapter`` keeps its ``nn.Dropout``) and the yaml's ``adapter_dropout`` is > 0; else left empty."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from fake_mirror import FakeMirror
from measured_runs import runs_by_id

_IMPL = "S/benchmarks/llama2_70b_lora/implementations/x"
_CONFIG = f"{_IMPL}/config_A.sh"


def _mirror(checkout: str, dropout: str) -> FakeMirror:
    docker = ("FROM rocm/pytorch\nRUN git clone https://github.com/NVIDIA/NeMo nemo \\\n"
              f"    && cd nemo && git checkout {checkout}\n")
    yaml = f"model:\n  peft:\n    lora_tuning:\n      adapter_dropout: {dropout}\n"
    return FakeMirror({_CONFIG: "export LORA_DROPOUT=0.1\n", f"{_IMPL}/Dockerfile": docker,
                       f"{_IMPL}/src/conf/megatron_gpt_peft_tuning_config.yaml": yaml})


@pytest.mark.parametrize(("checkout", "dropout", "value"), [
    ("v2.0.0.rc0.beta", "${oc.decode:${oc.env:LORA_DROPOUT,0.0}}", "no"),  # the config's 0.1
    ("v2.0.0.rc0.beta", "0.0", None),
    ("25.04-alpha.rc1", "0.1", None),
])
def test_the_rule(derive_script: Callable[[str], ModuleType], checkout: str, dropout: str, value: str | None) -> None:
    found = derive_script("mlperf_lora_dropout").lora_dropout_recompute(_mirror(checkout, dropout), _CONFIG)
    assert (found[0] if found else None) == value
    if found:
        assert "v2.0.0.rc0.beta" in found[1] and "adapter_dropout 0.1" in found[1]


def test_rows_of_the_v4_0_nemo_code_and_the_amd_port_store_it() -> None:
    rows = runs_by_id()
    stored = sorted(k for k, r in rows.items() if r.get("lora_dropout_recompute") == "no")
    assert len(stored) == 16  # s26-M: + MangoBoost v5.0's three rows (AMD's port)
    assert all(r.get("lora_dropout_recompute") in ("", "no") for r in rows.values())
    assert "mlperf_train_v5.0_AMD_MI300X_EPYC_9575F_pytorch_llama2_70b_lora" in stored
    assert "mlperf_train_v4.0_NVIDIA_h200_ngc24.04_nemo_llama2_70b_lora" in stored
    assert "mlperf_train_v5.0_MangoBoost_MI300X-LLMBoost-GPUBoost-1node_llama2_70b_lora" in stored
