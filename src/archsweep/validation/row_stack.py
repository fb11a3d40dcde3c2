"""A published row -> its software stack: the family of its source (:func:`stack_of`: Megatron 2021 papers,
llm-foundry, the Megatron-Core stacks, other) and the stack of data/calibration/software_stacks.yaml whose
constants model it (:func:`calibration_stack`)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from archsweep.validation.cells import cell_text, cell_zero_stage
from archsweep.validation.precision import is_fp8
from archsweep.validation.types import Skip

#: Software stack of a row (see :func:`stack_of`) -> stack of data/calibration/software_stacks.yaml.
_STACK_CALIBRATION = {"megatron-2021": "megatron-2021", "llm-foundry": "pytorch-fsdp", "nemo": "megatron-core",
                      "other": "megatron-core"}
#: The NeMo container a row states in the form of NVIDIA's NeMo performance tables: "NeMo YY.MM" in
#: ``framework`` or the ``nemoYYMM`` prefix of ``run_id``. (MLPerf rows write "NeMo Framework Release YY.MM",
#: an MLPerf build whose launch configs pick TransformerEngine's attention backend: not matched.)
_NEMO_CONTAINER = re.compile(r"\bnemo ?(\d{2})\.?(\d{2})")
#: The last NeMo container of the megatron-core-fa2 stack (NeMo 24.03 and 24.07 rows), whose Hopper attention ran
#: flash-attn 2: NVIDIA/NeMo-Framework-Launcher tags 24.01-24.07 export NVTE_FUSED_ATTN=0 into every job
#: (launcher_scripts/conf/config.yaml env_vars, "Disable cudnn FA until we've tested it more"; 24.07 L72), which turns
#: off the cuDNN FusedAttention that TransformerEngine v1.2-v1.11 would otherwise pick on sm90 (v1.8
#: transformer_engine/pytorch/attention.py L4445-4449 and L5158-5168); the setting was removed after 24.07 (04b8d098,
#: 2024-08-29; absent at tag 24.09). FlashAttention-3 (July 2024) was not in TE before v1.11 either. Confidence
#: medium: the NeMo performance tables do not name the launcher, their layouts are its example scripts' (s6-nemolora,
#: s8-fa2); see software_stacks.yaml megatron-core-fa2 attention_mma_cap_flops_per_cycle_per_unit.
_LAST_PRE_FA3_NEMO = (24, 7)
#: Megatron-Core flex-dispatcher backends (moe_flex_dispatcher_backend): fused permute + dispatch.
FLEX_DISPATCHERS = ("deepep", "hybridep")


def calibration_stack(row: Mapping[str, str]) -> str:
    """data/calibration/software_stacks.yaml stack of a row: TPU ``xla-tpu`` (JAX on GPUs: NCCL stacks); DeepSpeed ZeRO-3
    ``hf-deepspeed-zero3[-gaudi]`` under the HuggingFace Trainer, else ``deepspeed-zero3``; DeepSpeed ZeRO 0-1 of no named
    stack ``megatron-deepspeed`` (Gaudi 2 gpt3); pre-FA3 NeMo ``megatron-core-fa2[-fp8]``; else :func:`stack_of`'s."""
    if _is_tpu(row):
        return "xla-tpu"
    framework = (cell_text(row, "framework") + " " + cell_text(row, "run_id")).lower()
    try:
        zero = cell_zero_stage(row)
    except Skip:
        zero = None
    if "deepspeed" in framework and zero == 3:  # HuggingFace eager modules + flash-attn 2 on NVIDIA parts
        gaudi = "gaudi" in cell_text(row, "accelerator_canonical").lower()
        return ("hf-deepspeed-zero3-gaudi" if gaudi else "hf-deepspeed-zero3") if "huggingface" in framework else "deepspeed-zero3"
    if stack_of(row) == "other" and "deepspeed" in cell_text(row, "fsdp_zero").lower() and zero in (0, 1):
        return "megatron-deepspeed"  # Megatron layers under DeepSpeed's pipeline engine (Intel Gaudi 2 gpt3)
    if stack_of(row) == "nemo" and _pre_fa3_nemo(framework):  # FP8: torch FSDP refuses it
        return "megatron-core-fa2-fp8" if is_fp8(row) else "megatron-core-fa2"
    if stack_of(row) == "nemo" and cell_text(row, "moe_token_dispatcher").lower() in FLEX_DISPATCHERS:
        return "megatron-core-flex"
    return _STACK_CALIBRATION[stack_of(row)]


def _pre_fa3_nemo(text: str) -> bool:
    """Whether ``text`` (lower case) states a NeMo container (:data:`_NEMO_CONTAINER`) released before FA3."""
    return any((int(y), int(m)) <= _LAST_PRE_FA3_NEMO for y, m in _NEMO_CONTAINER.findall(text))


def _is_tpu(row: Mapping[str, str]) -> bool:
    """A Google TPU row (``accelerator`` / ``accelerator_canonical``: "TPU-v5p", "TPU v6e", "TPU-trillium")."""
    return any("tpu" in cell_text(row, k).lower() for k in ("accelerator", "accelerator_canonical"))


def stack_of(row: Mapping[str, str]) -> str:
    text = " ".join(cell_text(row, k).lower() for k in ("source", "framework", "run_id"))
    if any(k in text for k in ("narayanan", "korthikanti", "2104.04473", "2205.05198")):
        return "megatron-2021"
    if any(k in text for k in ("mosaicml", "llm-foundry", "composer")):
        return "llm-foundry"
    if any(k in text for k in ("nemo", "megatron-bridge", "megatron-core")):
        return "nemo"  # the Megatron-Core stack (NeMo / Megatron-Bridge, or Megatron-LM's own scripts)
    return "other"
