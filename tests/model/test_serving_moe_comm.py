"""s20-D: TensorRT-LLM's attention-DP MoE all-gathers every rank's tokens and reduce-scatters its BF16 output
where its alltoall is off (model.inference.moe_comm); FP8 block scales gather BF16 (the op quantizes inside)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.serving_calibration import load_serving_calibration
from archsweep.load.workloads import load_workload
from archsweep.model.inference import ServingJob, enumerate_serving_configs, serving_performance
from archsweep.model.inference.moe_comm import allgather_moe_comm, trtllm_moe_allgather
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()
SCAL = load_serving_calibration()


def _dep(n: int) -> dict[str, float]:
    return {"width": float(n), "attention_dp": 1.0, "pp": 1.0, "ep": float(n), "disaggregated": 0.0}


TP = {"width": 8.0, "attention_dp": 0.0, "pp": 1.0, "ep": 8.0, "disaggregated": 0.0}


def _run(model: str, part: str, n: int, fixed: dict[str, float], isl: float, osl: float, **job_kw):
    wl = load_workload(model)
    job = ServingJob(isl, osl, weight_precision="fp8", activation_precision="fp8", kv_precision="fp8",
                     num_requests=3000.0, **job_kw)
    hw = HardwareArrays.from_designs(get_accelerator(part).design.replace(accelerator_count=n))
    cfg = enumerate_serving_configs(wl, job, n, concurrency_ladder=(3000,), disaggregation=False, fixed=fixed)
    return serving_performance(hw, wl, cfg, job, SCAL, CAL)


def test_alltoall_only_where_the_code_enables_it():
    # select_alltoall_method_type: NotEnabled when moe_ep_size <= top_k; otherwise MNNVL where supports_mnnvl(),
    # i.e. every NVLink link up (DGX H100 / H200 / B200 boards and GB200 NVL72 alike, s20-H); a PCIe-only part gathers
    nvlink, pcie = 450e9, 54e9  # H100 / H200 NVLink 4; RTX PRO 6000 over PCIe Gen5
    assert trtllm_moe_allgather(top_k=8, ep=8, scaleup_bw_bytes_per_s=nvlink)  # DeepSeek-R1 H200 DEP8
    assert trtllm_moe_allgather(top_k=8, ep=4, scaleup_bw_bytes_per_s=900e9)  # ep <= top_k even on GB200 NVL72
    assert not trtllm_moe_allgather(top_k=1, ep=4, scaleup_bw_bytes_per_s=900e9)  # Maverick DGX B200: MNNVL all-to-all
    assert not trtllm_moe_allgather(top_k=1, ep=8, scaleup_bw_bytes_per_s=nvlink)  # Maverick DGX H200 DEP8: all-to-all
    assert trtllm_moe_allgather(top_k=1, ep=4, scaleup_bw_bytes_per_s=pcie)  # no NVLink link: supports_mnnvl() false
    assert not trtllm_moe_allgather(top_k=8, ep=1, scaleup_bw_bytes_per_s=nvlink)  # no expert parallelism


def test_gather_moves_every_token_to_every_rank_whatever_the_routing():
    hw = HardwareArrays.from_designs(get_accelerator("H200").design.replace(accelerator_count=8))
    t, h = np.array([750.0]), 7168.0
    _, bf16 = allgather_moe_comm(hw, t, h, 2.0, np.array([8.0]), np.array([1.0]), 0.8)
    _, fp8 = allgather_moe_comm(hw, t, h, 1.0, np.array([8.0]), np.array([1.0]), 0.8)
    # each rank receives 7 ranks' tokens and sends 7 ranks' BF16 outputs back: 7 x t x h x (dispatch + 2) bytes
    assert bf16[0] == pytest.approx(7 * 750 * 7168 * 4.0)
    assert fp8[0] == pytest.approx(7 * 750 * 7168 * 3.0)
    # top_k = ep with BF16 both ways: the same bytes as an all-to-all of the top_k routed copies
    assert bf16[0] == pytest.approx(2 * 7 / 8 * 750 * 8 * 7168 * 2.0)
    t0, b0 = allgather_moe_comm(hw, t, h, 2.0, np.array([1.0]), np.array([1.0]), 0.8)
    assert t0[0] == 0.0 and b0[0] == 0.0


@pytest.mark.parametrize(("isl", "osl"), [(1000.0, 1000.0), (1024.0, 8192.0), (8192.0, 1024.0)])
def test_block_scaled_fp8_never_beats_per_tensor_fp8_under_the_gather(isl, osl):
    """The block-scaled input is gathered in BF16, the per-tensor one in FP8: never faster (DeepSeek-V3, H200 DEP8)."""
    per_tensor = _run("deepseek-v3", "H200", 8, _dep(8), isl, osl, moe_allgather=True)
    block = _run("deepseek-v3", "H200", 8, _dep(8), isl, osl, moe_allgather=True, moe_dispatch_precision="bf16")
    assert block.output_tokens_per_s.size > 0
    assert np.all(block.output_tokens_per_s <= per_tensor.output_tokens_per_s * (1 + 1e-12))
    assert np.all(block.tpot_s >= per_tensor.tpot_s * (1 - 1e-12))


def test_gather_is_no_cheaper_than_the_all_to_all_when_top_k_is_the_ep_width():
    a2a = _run("deepseek-v3", "H200", 8, _dep(8), 1000.0, 1000.0)
    gather = _run("deepseek-v3", "H200", 8, _dep(8), 1000.0, 1000.0, moe_allgather=True)
    assert np.all(gather.output_tokens_per_s <= a2a.output_tokens_per_s * (1 + 1e-12))


@pytest.mark.parametrize(("model", "part", "n", "fixed"), [
    ("deepseek-v3", "H200", 8, TP), ("llama3-70b", "H200", 8, {**TP, "ep": 1.0})])
def test_gather_changes_nothing_without_attention_dp_or_experts(model, part, n, fixed):
    base = _run(model, part, n, fixed, 1024.0, 1024.0)
    gather = _run(model, part, n, fixed, 1024.0, 1024.0, moe_allgather=True, moe_dispatch_precision="bf16")
    assert base.output_tokens_per_s.size > 0
    for f in dataclasses.fields(base):
        assert np.array_equal(getattr(base, f.name), getattr(gather, f.name), equal_nan=True), f.name


def test_dispatch_precision_is_checked():
    with pytest.raises(InputError, match="moe_dispatch_precision"):
        ServingJob(1024.0, 1024.0, moe_dispatch_precision="int4")  # type: ignore[arg-type]
    assert ServingJob(1024.0, 1024.0, activation_precision="fp8").moe_dispatch_bytes_per_element == 1.0
    assert ServingJob(1024.0, 1024.0, activation_precision="fp8", moe_dispatch_precision="bf16").moe_dispatch_bytes_per_element == 2.0


def test_hopper_mxfp4_moe_is_never_faster_than_fp8_when_compute_bound():
    """The GPT-OSS support matrix: Hopper runs BF16 x MXFP4 as "simulated mxfp4, HGMMA" (weights upcast, the BF16
    MMA), FP8 weights on QGMMA: at a compute-bound batch the 4-bit experts are never faster than FP8 ones."""
    from archsweep.model.gemm import scalar_part_physics
    from archsweep.model.inference.decode import decode_step_time_s
    from archsweep.model.inference.step import matrix_peak_flops

    wl = load_workload("gpt-oss-120b")
    hw = HardwareArrays.from_designs(get_accelerator("H200").design.replace(accelerator_count=1))
    part = scalar_part_physics(hw)
    tp1 = {"width": 1.0, "attention_dp": 0.0, "pp": 1.0, "ep": 1.0, "disaggregated": 0.0}
    linear = {}
    for w, a in (("int4", "bf16"), ("fp8", "fp8")):
        job = ServingJob(1000.0, 1000.0, weight_precision=w, activation_precision=a, kv_precision="bf16")  # type: ignore[arg-type]
        cfg = enumerate_serving_configs(wl, job, 1, concurrency_ladder=(2048,), disaggregation=False, fixed=tp1)
        b = np.array([2048.0])
        _, st = decode_step_time_s(part, wl, cfg, job, SCAL, CAL, matrix_peak_flops(hw, a, False), b, b)
        linear[w] = st.linear_s
    assert np.all(linear["int4"] >= linear["fp8"])
