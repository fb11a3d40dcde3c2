"""The model's isolated kernel laws against kernels measured on one H200 (data/validation/h200_kernels.csv,
benchmarks/h200_kernels.py; s31, docs/model-accuracy.md).

What the measurements confirm is asserted with a tolerance (attention at 8k-16k, HBM bandwidth, launch cost, the
MAMF burst rate, and from s32 short causal attention under the causal schedule law); what they contradict is pinned as the state of the law (the Hopper fill constants, the TP trend
of the Llama 2 70B GEMMs), so a change of the law that moves it re-pins it here with the
validation figures that justify it.
"""

from __future__ import annotations

import re
from types import ModuleType

import numpy as np
import pytest
from conftest import load_benchmark

from archsweep.load.calibration import load_calibration


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_benchmark("h200_kernels")


@pytest.fixture(scope="module")
def ratios(bench: ModuleType) -> dict:
    return bench.model_over_measured()


def test_measurements_are_physical(bench: ModuleType) -> None:
    """Every GEMM below the H200 dense peak of its datatype (BF16 989.4, FP8 1978.9 TFLOP/s), no case failed, and the
    two runs agree (median |log ratio| of the GEMMs both timed under 2 %): the noise floor of every other test."""
    peak = {"bf16": 989.4e12, "fp8_fast": 1978.9e12, "fp8_split": 1978.9e12}
    gemms = bench.load_gemms()
    assert len(gemms) > 500
    for g in gemms:
        assert 0.0 < 2.0 * g.m * g.n * g.k / g.seconds < peak[g.variant], g
    median, worst, count = bench.run_spread()
    assert count >= 380 and median < 0.02 and worst < 0.10


def test_burst_rate_is_the_mamf_and_the_power_cap_takes_15_percent(bench: ModuleType) -> None:
    """From idle the 8192^3 GEMM runs at 782 TFLOP/s BF16 for ~45 ms (the H100 MAMF the catalog H200 carries:
    794.5), then the 700 W cap pulls the clock to ~1.4-1.5 GHz: 0.845 of the burst, BF16 and FP8 alike."""
    burst, held = bench.burst_and_sustained("bf16")
    assert burst / 794.5e12 == pytest.approx(0.984, abs=0.03)
    assert held / burst == pytest.approx(0.845, abs=0.02)
    burst8, held8 = bench.burst_and_sustained("fp8_e4m3")
    assert held8 / burst8 == pytest.approx(0.844, abs=0.02)


def test_fill_is_shorter_than_the_hopper_constants(bench: ModuleType) -> None:
    """The K ladders (K 512-8192 over K 13312) fit K-half 76 (BF16), 184 (FP8, fast accumulation) and 232 (FP8,
    split accumulation) against the model's Hopper 192 / 384 (the per-SM rule; OpenXLA's H100 table fits 180):
    measured, not applied (the H200 rows move the wrong way without the sustained clock; s31)."""
    assert bench.fill_fit("bf16")[0] == pytest.approx(76, abs=12)
    assert bench.fill_fit("fp8_fast")[0] == pytest.approx(184, abs=25)
    assert bench.fill_fit("fp8_split")[0] == pytest.approx(232, abs=25)
    for variant in ("bf16", "fp8_fast", "fp8_split"):
        assert bench.fill_fit(variant)[1] < 0.05


@pytest.mark.parametrize("variant", ["bf16", "fp8_fast", "fp8_split"])
@pytest.mark.parametrize("pas", ["fprop", "dgrad", "wgrad"])
def test_llama_layer_gemms_priced_relatively_slower_as_tp_grows(ratios: dict, bench: ModuleType, variant: str,
                                                                pas: str) -> None:
    """Model / measured time of the Llama 2 70B layer GEMMs rises from TP1 to TP8 (BF16 fprop 0.892 -> 0.967, FP8
    fast 0.934 -> 1.060): the fill and 128 x 128 wave terms charge the narrower TP shards more than cuBLAS loses.
    Every group within 0.85-1.10."""
    trend = [bench.geomean(ratios[(variant, f"llama2-70b {pas} tp{tp}")]) for tp in (1, 2, 4, 8)]
    assert trend[-1] > trend[0] + 0.04
    assert all(0.85 < v < 1.10 for v in trend)


def test_attention_rate_holds_from_4k_with_the_causal_schedule_law(bench: ModuleType) -> None:
    """cuDNN BF16 attention (head dim 128, heads 8-64): with the causal schedule law (s32) the model's time is
    0.81-1.08 of the measured from 4k to 16k (causal and unmasked, forward and forward + backward; without the law
    it was as low as 0.63 at 4k causal with 8 heads, s31)."""
    cases = [c for c in bench.attention_model_over_measured() if c[2] == 128]
    assert 0.80 < min(c[5] for c in cases) and max(c[5] for c in cases) < 1.10
    short_causal = [c[5] for c in cases if c[0] == 4096 and c[3] == 1]
    assert min(short_causal) > 0.80


def test_causal_schedule_law_fits_the_attention_grid(bench: ModuleType) -> None:
    """The s32 grid (h200_attention_grid.csv, cuDNN causal, head dim 128, sequence 1k-32k, 1-128 heads, batch 1-4):
    on the kernels of >= 1 ms the law was fitted on, the model is within 0.97-1.15 of the measured time (geometric
    mean 1.042 forward, 1.052 forward + backward, checked at +-0.01 of the 1.046 first reported, when the report
    matched a batch > 1 case to its batch-1 twin's time: the calibrated long-sequence level, not fitted here, sits 5 % below
    this GPU's); on the 0.2-1 ms forward kernels it was not fitted on, 0.90-1.20."""
    for pas, geomean in (("fwd", 1.046), ("fwd_bwd", 1.052)):
        fitted = bench.attention_grid_ratios("cudnn", pas, 1e-3, 1e9)
        assert len(fitted) >= 30
        assert 0.97 < min(fitted) and max(fitted) < 1.15
        assert float(np.exp(np.mean(np.log(fitted)))) == pytest.approx(geomean, abs=0.01)
    short = bench.attention_grid_ratios("cudnn", "fwd", 2e-4, 1e-3)
    assert len(short) >= 20 and 0.90 < min(short) and max(short) < 1.20


def test_hbm_and_launch_constants_hold(bench: ModuleType) -> None:
    """A 2 GiB copy reaches 0.891 of the 4.8 TB/s peak and an add 0.914 (``hbm_bw_efficiency`` 0.88); a kernel
    replayed from a CUDA graph costs 0.8-2.2 us, under ``kernel_overhead_s`` (4 us)."""
    cal = load_calibration()
    shares = bench.hbm_shares()
    assert shares["copy"] == pytest.approx(cal.hbm_bw_efficiency, abs=0.03)
    assert shares["add"] == pytest.approx(cal.hbm_bw_efficiency, abs=0.04)
    launch = bench.launch_seconds()
    assert launch["graph_add_"] < cal.kernel_overhead_s and launch["graph_linear_16"] < cal.kernel_overhead_s


def test_lora_adapter_gemms_never_priced_faster_than_measured(ratios: dict, bench: ModuleType) -> None:
    """The rank-16 adapter GEMMs (memory-bound) cost the model 1.07-1.17x the measured time in geometric mean per
    TP degree: conservative, most at the (T x 16) outputs whose 128 x 128 tiles the model fills one-eighth."""
    means = [bench.geomean(ratios[("bf16", f"lora16 tp{tp}")]) for tp in (1, 2, 4, 8)]
    assert all(1.0 < m < 1.25 for m in means)
    assert np.all(np.diff(means) > 0)


def test_moe_expert_gemms_batched_law(bench: ModuleType) -> None:
    """The six GEMMs of 8 local experts through one BF16 grouped call (the device time): from 1,024 routed tokens
    per expert the model's batched GEMM is 0.80-0.91 of the measured (the dense level gap of the sustained clock);
    at 256 tokens it is relatively faster, most for the narrowest experts (Qwen3 30B-A3B, width 768: 0.65;
    DeepSeek-V3, width 2048: 0.85): the small-expert optimism s8-smallmoe found on whole runs (H100 30B 1.22)."""
    sums = bench.moe_model_over_measured()
    ratio = {(model, tokens): modelled / measured for (model, tokens, backend), (measured, modelled) in sums.items()
             if backend == "grouped_mm"}
    assert len(ratio) == 16
    assert all(0.78 < v < 0.95 for (_, tokens), v in ratio.items() if tokens >= 1024)
    assert ratio[("qwen3_30b_a3b", 256)] == pytest.approx(0.65, abs=0.05)
    assert ratio[("qwen3_30b_a3b", 256)] < ratio[("deepseek_v3", 256)]


def test_moe_per_expert_calls_are_host_bound_when_short(bench: ModuleType) -> None:
    """One GEMM call per expert from eager PyTorch, Qwen3 30B-A3B at 256 tokens per expert (6 passes x 8 experts =
    48 calls): FP8 ``_scaled_mm`` 15.4 us and BF16 ``F.linear`` 9.3 us per call, 3.6x / 2.2x the grouped call's
    whole time: host issue, about 2-4x the model's ``kernel_overhead_s`` per launch."""
    sums = bench.moe_model_over_measured()
    per_call_fp8 = sums[("qwen3_30b_a3b", 256, "cublaslt_loop")][0] / 48
    per_call_bf16 = sums[("qwen3_30b_a3b", 256, "cublas_loop")][0] / 48
    assert per_call_fp8 == pytest.approx(15.4e-6, rel=0.1)
    assert per_call_bf16 == pytest.approx(9.3e-6, rel=0.1)
    assert per_call_bf16 > 2.0 * load_calibration().kernel_overhead_s


def test_model_power_at_the_capped_points(bench: ModuleType) -> None:
    """Back-to-back 8192^3 GEMMs held at the 700 W cap: BF16 661 TFLOP/s at 1,470 MHz, FP8 1,256 at 1,440 MHz, both
    at 691-692 W (nvidia-smi). The model's power at those points: BF16 629 W (9 % low), FP8 523 W (24 % low): its FP8
    / BF16 MAC energy (0.4, an estimate) is below the measured chip's (about 0.53 by the equal power at the two
    points). Raising it moves the Blackwell rows +-15 points through their power cap (s31): pinned, not applied."""
    points = bench.capped_operating_points()
    assert points["bf16"][1] == pytest.approx(1470e6, rel=0.03) and points["fp8_e4m3"][1] == pytest.approx(1440e6, rel=0.03)
    assert all(p[2] == pytest.approx(691.0, abs=5.0) for p in points.values())
    bf16 = bench.model_power_at("bf16", points["bf16"][0], points["bf16"][1])
    fp8 = bench.model_power_at("fp8_e4m3", points["fp8_e4m3"][0], points["fp8_e4m3"][1])
    assert bf16 == pytest.approx(629.0, abs=8.0)
    assert fp8 == pytest.approx(523.0, abs=8.0)


def test_lora_layer_kernels_run_at_the_power_cap(bench: ModuleType) -> None:
    """A Llama 2 70B LoRA layer's kernels back to back (FP8 projections, BF16 adapters, cuDNN attention, plain-PyTorch
    elementwise; one GPU, no communication) hold the board at 692-694 W, the 700 W cap: the SM clock 1,860 MHz on the
    TP4 shard and 1,680 MHz on the denser TP1 CP2 shard. The model puts the H200 llama2_70b_lora steps of those
    layouts at 442 W (HPE n2, TP4) and 483 W (Oracle n1, TP1 CP2) and runs them at the catalog 1,830 MHz: its Hopper
    step power is ~30 % low, so its DVFS never throttles them (s31)."""
    points = bench.layer_mix_points()
    assert set(points) == {"llama2_70b_lora_tp4_cp1", "llama2_70b_lora_tp1_cp2"}
    assert all(p[2] == pytest.approx(693.0, abs=6.0) for p in points.values())
    assert points["llama2_70b_lora_tp4_cp1"][1] == pytest.approx(1860e6, rel=0.03)
    assert points["llama2_70b_lora_tp1_cp2"][1] == pytest.approx(1680e6, rel=0.03)
    assert points["llama2_70b_lora_tp1_cp2"][1] < 1830e6 < points["llama2_70b_lora_tp4_cp1"][1]
    breakdown = load_benchmark("row_breakdown").breakdown
    for run_id, watts in (("mlperf_train_v5.0_HPE_HPE-Cray-XD670-H200-SXM5-141GB_n2_24.09_llama2_70b_lora", 442.0),
                          ("mlperf_train_v5.0_Oracle_1xBM.GPU.H200.8_llama2_70b_lora", 483.0)):
        text = breakdown(run_id)
        assert "clock after DVFS 1.830 GHz" in text
        assert float(re.search(r"power (\d+) W of TDP 700 W", text).group(1)) == pytest.approx(watts, abs=10.0)
