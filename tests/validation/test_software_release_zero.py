"""A row's software release decides whether FP8 could shard parameters: before Megatron-FSDP (NeMo 2.3.0 /
container 25.04; NVIDIA/NeMo 95c9edead4) an FP8 Megatron-Core row searches ZeRO 0-1 only (s7-zero3ver)."""

from __future__ import annotations

import pytest
from measured_runs import runs

from archsweep.load.stack_parallelism import load_stack_software
from archsweep.validation.optimism import search_optimism
from archsweep.validation.software import row_parallelism, row_release

ROUNDS = load_stack_software("megatron-core")["mlperf_round_software"]
ROWS = runs()


def _row(**kw: str) -> dict[str, str]:
    base = {"run_id": "x", "source": "", "framework": "", "precision": "FP8", "fsdp_zero": "", "accelerator": "H100-SXM",
            "accelerator_canonical": "H100-SXM", "source_group": "nemo"}
    return base | kw


@pytest.mark.parametrize(("framework", "run_id", "release"), [
    ("NVIDIA NeMo Framework Release 24.04", "", (24, 4)),
    ("", "mlperf_train_v4.1_NVIDIA_eos_ngc24.09_nemo_llama2_70b_lora", (24, 9)),
    ("NeMo 24.07 (Megatron-Core)", "nemo2407_GPT3-175B", (24, 7)),
    ("NVIDIA Release 24.04 MxNet, pytorch, dgl and 23.09 pytorch", "", (24, 4)),  # the newest named
    ("CUDA 12.3", "mlperf_train_v4.0_Supermicro_AS-8125GS-TNHR_8_H100-SXM-80GB_llama2_70b_lora", (24, 6)),  # round
    ("Megatron-Bridge / NeMo 25.11", "", (25, 11)),
    ("PyTorch", "some_row", None),
    # s26-B: the NeMo git tag AMD's v5.0 ROCm port checks out bounds it below its round's 25.06
    ("PyTorch 2.6.0, ROCm 6.4; NVIDIA NeMo code (x/Dockerfile L32 clones github.com/NVIDIA/NeMo at v2.0.0.rc0.beta, "
     "a 2024-05 NeMo tag)", "mlperf_train_v5.0_AMD_MI300X_EPYC_9575F_pytorch_llama2_70b_lora", (24, 5)),
])
def test_row_release(framework, run_id, release):
    assert row_release({"framework": framework, "run_id": run_id}, ROUNDS) == release


def test_capability_follows_the_parallelism_block():
    assert load_stack_software("megatron-core")["sharded_params_fp8_since"] == (25, 4)
    assert load_stack_software("megatron-core-flex")["sharded_params_fp8_since"] == (25, 4)  # no block: Megatron-Core's
    assert load_stack_software("xla-tpu") == {} and load_stack_software("pytorch-fsdp") == {}  # own software
    assert load_stack_software("megatron-core")["sharded_params_mxfp8_since"] == (26, 2)
    assert load_stack_software("megatron-core-flex")["sharded_params_mxfp8_since"] == (26, 2)


@pytest.mark.parametrize(("framework", "precision", "zero"), [
    ("NVIDIA NeMo Framework Release 24.09", "FP8 (TransformerEngine hybrid recipe)", (0, 1)),
    ("NVIDIA NeMo Framework Release 25.04", "FP8 (TransformerEngine hybrid recipe)", None),  # Megatron-FSDP there
    ("NVIDIA NeMo Framework Release 24.09", "BF16", None),  # torch FSDP runs BF16
    ("NeMo", "FP8", None),  # no release named, no MLPerf round: the stack's whole parallelism
])
def test_row_parallelism(framework, precision, zero):
    assert row_parallelism(_row(framework=framework, precision=precision)).values("zero") == zero


def test_every_pre_2025_fp8_megatron_core_row_is_zero_0_1():
    """Every FP8 Megatron-Core row of the validation set older than 25.04 (MLPerf v3.1-v4.1, NeMo 24.03-24.09)."""
    old = [r for r in ROWS if "fp8" in r["precision"].lower() and row_parallelism(r).stack.startswith("megatron-core")
           and (row_release(r, ROUNDS) or (99, 0)) < (25, 4)]
    assert len(old) >= 60
    assert all(set(row_parallelism(r).values("zero") or (0, 1, 2, 3)) <= {0, 1} for r in old)


@pytest.mark.parametrize("pattern", ["v4.1_Lenovo_SR680aV3-8xH200", "v4.0_Supermicro_AS-8125GS-TNHR_8_H100"])
def test_nemo_lora_search_keeps_zero_0_1(pattern):
    """The LoRA rows s7-loramem's freed memory put on ZeRO-3 (TP1 CP2): the search keeps ZeRO 0-1 and the
    Supermicro row's optimism (1.255 with ZeRO-3) stays under 1.25."""
    (row,) = [r for r in ROWS if pattern in r["run_id"]]
    (res,) = search_optimism([row])
    assert "zero_stage=3" not in res.best_mapping and "zero_stage=2" not in res.best_mapping, res.best_mapping
    assert res.best_over_measured < 1.25


@pytest.mark.parametrize(("framework", "precision", "fp8_params", "zero"), [
    ("Megatron-Bridge / NeMo 25.11", "FP8-MX", "yes", (0, 1)),  # TE 2.9 refuses MXFP8Tensor under Megatron-FSDP
    ("Megatron-Bridge / NeMo 25.09", "FP8-MX", "yes", (0, 1)),
    ("Megatron-Bridge / NeMo 26.02", "FP8-MX", "yes", None),  # Megatron-LM 8f2f70067c in its pin
    ("Megatron-Bridge / NeMo 25.11", "FP8-MX", "no", None),  # BF16 parameters: Megatron-FSDP runs them
    ("Megatron-Bridge / NeMo 25.11", "FP8-MX", "", None),  # blank = off
    ("Megatron-Bridge / NeMo 25.11", "FP8-CS", "yes", None),  # per-tensor Float8Tensor: supported
    ("Megatron-Bridge / NeMo 25.11", "BF16", "", None),
])
def test_mxfp8_parameters_shard_from_26_02(framework, precision, fp8_params, zero):
    """Megatron-FSDP (ZeRO 2-3) could not hold MXFP8 parameters before NeMo 26.02 (software_stacks.yaml
    sharded_params_mxfp8_since); an MXFP8 row with FP8 parameters on older software searches ZeRO 0-1."""
    row = _row(framework=framework, precision=precision, fp8_params=fp8_params, run_id="mbridge_x")
    assert row_parallelism(row).values("zero") == zero


def test_every_pre_26_02_mxfp8_parameter_row_is_zero_0_1():
    """The 25.09 / 25.11 Megatron-Bridge MXFP8 rows (all state fp8_params yes): ZeRO 0-1 only, as their
    presets ran (the distributed optimizer); the search's best mapping for the 25.11 B200 Qwen3-235B row
    (ZeRO-3 at EP 1 before) is no longer a Megatron-FSDP one."""
    old = [r for r in ROWS if r["run_id"].startswith("mbridge_25.") and "fp8-mx" in r["precision"].lower()]
    assert len(old) >= 14
    assert all(row_parallelism(r).values("zero") == (0, 1) for r in old)
    (row,) = [r for r in old if r["run_id"] == "mbridge_25.11_DGX-B200_Qwen3_235B_a22B_FP8-MX_64"]
    (res,) = search_optimism([row])
    assert "zero_stage=3" not in res.best_mapping and "zero_stage=2" not in res.best_mapping, res.best_mapping


def test_amd_port_rows_search_zero_0_1() -> None:
    """s26-B: AMD's v5.0 ROCm port runs NVIDIA/NeMo v2.0.0.rc0.beta (NeMo 1.x: torch FSDP refuses FP8, no
    Megatron-FSDP), so its FP8 rows keep ZeRO 0-1 though v5.0's round bound (25.06) would allow ZeRO-3."""
    amd = [r for r in ROWS if r["run_id"].startswith("mlperf_train_v5.0_AMD_")]
    assert len(amd) == 2
    for row in amd:
        assert row_release(row, ROUNDS) == (24, 5)
        assert row_parallelism(row).values("zero") == (0, 1)


def test_nemo_1_copies_at_24_09_alpha_search_zero_0_1() -> None:
    """s26-Q: QCT's v5.0 D74H-7U builds NVIDIA/NeMo 24.09-alpha.rc0 (NeMo 1.x, its Dockerfile's NEMO_REVISION), a
    2024-09 tag: its FP8 row keeps ZeRO 0-1 though v5.0's round bound (25.06) would allow ZeRO-3; the search's best
    mapping for it is no longer a ZeRO-3 one (zero_stage=3 on main 40d739f)."""
    (row,) = [r for r in ROWS if r["run_id"] == "mlperf_train_v5.0_QCT_D74H-7U_llama2_70b_lora"]
    assert "at 24.09-alpha.rc0, a 2024-09 NeMo tag)" in row["framework"]
    assert row_release(row, ROUNDS) == (24, 9)
    assert row_parallelism(row).values("zero") == (0, 1)
    (res,) = search_optimism([row])
    assert "zero_stage=3" not in res.best_mapping and "zero_stage=2" not in res.best_mapping, res.best_mapping
