"""Published TensorRT-LLM values (data/validation/inference_runs.csv) with stated tolerances."""

from __future__ import annotations

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.serving_calibration import load_serving_calibration
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload
from archsweep.model.driver import evaluate_job
from archsweep.model.inference import (
    ServingJob,
    ServingJobKind,
    enumerate_serving_configs,
)
from archsweep.spec.hardware import HardwareArrays
from archsweep.validation.inference import (
    is_inference_table,
    summarise,
    validate_inference,
)

CAL = load_calibration()
SCAL = load_serving_calibration()
TECH = load_technology()
FP8 = dict(weight_precision="fp8", activation_precision="fp8", kv_precision="fp8")

def _best(hw, wl, job, cfg, scal, cal, *, fp4_supported=False):
    """The driver's best configuration (serving job kind through :func:`evaluate_job`)."""
    kind = ServingJobKind(wl, job, cfg, scal, cal, fp4_supported=fp4_supported)
    return evaluate_job(hw, kind, tech=TECH, objective="output_tokens_per_s_per_accelerator")



# (model, accelerator, n, tp, isl, osl, precision, published output tok/s, tolerance)
OFFLINE = [
    ("llama3-8b", "H100", 1, 1, 128, 128, FP8, 28836.77, 0.25),   # trtllm017_LLaMA_v3.1_8B_H100-SXM-80GB_tp1_128_128
    ("llama3-70b", "A100", 4, 4, 128, 2048, {}, 2811.27, 0.30),   # trtllm017_LLaMA_v3.1_70B_A100-SXM4-80GB_tp4_128_2048 (FP16)
    ("mixtral-8x7b", "A100", 4, 4, 128, 4096, {}, 7666.51, 0.30), # trtllm017_Mixtral_8x7B_A100-SXM4-80GB_tp4_128_4096 (FP16)
]


@pytest.mark.parametrize("model,acc,n,tp,isl,osl,prec,published,tol", OFFLINE)
def test_offline_throughput(model, acc, n, tp, isl, osl, prec, published, tol):
    wl = load_workload(model)
    job = ServingJob(isl, osl, **prec)
    cfg = enumerate_serving_configs(wl, job, n, disaggregation=False, fixed={"width": tp, "attention_dp": 0.0, "pp": 1.0, "ep": 1.0})
    hw = HardwareArrays.from_designs(get_accelerator(acc).design.replace(accelerator_count=n))
    res = _best(hw, wl, job, cfg, SCAL, CAL)
    assert res["feasible"][0]
    assert abs(res["output_tokens_per_s"][0] / published - 1) <= tol


def test_online_llama8b_h100_qps4():
    # trtllm014_online_LLaMA_3.1_8B_H100_80GB_HBM3_tp1_467_256_qps4: 929 tok/s, TTFT 24 ms, ITL 9 ms (BF16).
    wl = load_workload("llama3-8b")
    job = ServingJob(467, 256, load="qps", qps=4.0)
    cfg = enumerate_serving_configs(wl, job, 1, concurrency_ladder=(2048,), chunk_sizes=(8192,), disaggregation=False)
    hw = HardwareArrays.from_designs(get_accelerator("H100").design.replace(accelerator_count=1))
    res = _best(hw, wl, job, cfg, SCAL, CAL)
    assert abs(res["output_tokens_per_s"][0] / 929 - 1) <= 0.15
    assert abs(res["ttft_s"][0] / 0.024 - 1) <= 0.40
    assert abs(res["tpot_s"][0] / 0.009 - 1) <= 0.25


@pytest.fixture(scope="module")
def inference_rows() -> tuple:
    """``validate_inference()`` once for the five tests of the table (s13-tests: ~5 CPU-s each, the same
    rows every time); frozen rows in a tuple, so a test cannot change another's."""
    return tuple(validate_inference())


def _ape(rows) -> float:
    return float(np.mean([abs(r.predicted_tokens_per_s / r.measured_tokens_per_s - 1) for r in rows]))


def test_validation_table_summary(inference_rows):
    rows = list(inference_rows)
    assert is_inference_table(["avg_input_tokens", "avg_output_tokens", "scenario", "x"])
    assert not is_inference_table(["global_batch_seqs", "tp"])
    done = [r for r in rows if not r.skipped]
    assert len(done) >= 0.9 * len(rows)  # 464 / 476 at the commit that added moe_gemm_ratio
    assert all(r.skipped for r in rows if np.isnan(r.predicted_tokens_per_s))
    # TensorRT v0.17 offline table and the v0.14 online table: 11.6 % measured (issue 11, serving11c).
    older = [r for r in done if r.group != "trtllm-latest-offline"]
    assert _ape(older) < 0.15
    # Dense rows of the latest (PyTorch backend) table: 14.4 % measured.
    dense_latest = [r for r in done if r.group == "trtllm-latest-offline" and "Llama" in r.model and "Maverick" not in r.model]
    assert _ape(dense_latest) < 0.20
    assert "modelled" in summarise(rows)


def test_validation_table_meets_issue_target(inference_rows):
    # Issue 11 target: output-throughput MAPE <= 15 % on the public rows. Measured 14.16 % once PCIe parts
    # priced their collectives at the measured P2P data rate (catalog L40S / RTX PRO 6000
    # scaleup_bw_bytes_per_s); 13.97 % once prefill attention scaled with the head dimension
    # (archsweep.model.attention_kernel: GPT-OSS, head dim 64); 14.02 % once serving GEMMs took the part's
    # pipeline fill as training's do (model.gemm.PartFill: the Hopper rows move); the tolerance is that
    # figure, rounded up.
    done = [r for r in inference_rows if not r.skipped]
    assert _ape(done) <= 0.141


def test_gpt_oss_rows_at_the_bench_defaults_with_a_full_length_kv_pool(inference_rows):
    # s19-M2: trtllm-bench runs the MXFP4 checkpoints at its build defaults (W4A16_MXFP4 / W4A8_MXFP4_MXFP8
    # are outside TUNED_QUANTS: max_batch_size 2048, not s18-G2's heuristic cap), and TensorRT-LLM's KV cache
    # holds the sliding-window layers at full length (one pool; the options file sets no
    # max_attention_window). Family MAPE: 120B 32.7 -> 32.4 %, 20B 10.8 -> 11.6 % (s18-G2's caps alone gave
    # 32.7 / 10.8, the defaults alone 51.8 / 19.4); tolerances are those figures rounded up. The long-output
    # DEP rows the window pools over-predicted (B200 DEP2 / H100 DEP4 1024/32768 1.58 / 1.74x) are 1.15 / 1.21x;
    # GB200 TP1 1k/1k 1.03x. Left: the Hopper MXFP4 (Triton W4A16) rows at large batch, H200 TP1 1k/1k 1.36x,
    # H100 DEP4 1k/1k 2.07x, and B200 DEP2 1k/1k 1.36x. s20-D (CUDA-graph padding, the attention-DP gather):
    # 120B 32.4 -> 29.2 %, 20B 11.6 -> 10.05 %; H200 TP1 1k/1k 1.28x, H100 DEP4 1.95-2.01x, B200 DEP2 1.34x.
    done = [r for r in inference_rows if not r.skipped]
    big = [r for r in done if r.model == "GPT-OSS 120B"]
    small = [r for r in done if r.model == "GPT-OSS 20B"]
    assert len(big) == 22 and len(small) == 22
    assert _ape(big) <= 0.30
    assert _ape(small) <= 0.101
    ratio = {r.run_id: r.predicted_tokens_per_s / r.measured_tokens_per_s for r in big}
    gb200 = [v for k, v in ratio.items() if k.endswith(("_GB200_TP1_1000_1000", "_GB200_TP1_1024_1024"))]
    assert len(gb200) == 2 and all(0.9 <= v <= 1.1 for v in gb200)
    long_dep = [v for k, v in ratio.items() if "_DEP" in k and k.endswith("_1024_32768")]
    assert len(long_dep) == 2 and all(v <= 1.25 for v in long_dep)


def test_local_attention_layers_fill_a_full_length_kv_pool(inference_rows):
    # s19-M2: Llama-4 Maverick's chunked-attention layers hold their cache at full length too (TensorRT-LLM's
    # one pool without max_attention_window): 21.7 -> 11.9 % over its 17 rows; the Blackwell DEP4 1024/32768
    # rows 1.55-1.58x -> 1.03-1.04x (s19-H's "Maverick 1024/32768 over-predicted at FP8 KV"). s20-D moves it the
    # wrong way, 11.9 -> 12.2 % (a top-1 gather on the DGX boards; the padding slows the H200 DEP8 8192/1024 row
    # 0.71 -> 0.67x); s20-H: supports_mnnvl() holds on DGX boards (every NVLink up), so top-1 Maverick keeps its
    # all-to-all there: 12.22 -> 12.12 %, bound 0.123 -> 0.122.
    done = [r for r in inference_rows if not r.skipped and r.model == "Llama-4-Maverick-17B-128E"]
    assert len(done) == 17 and _ape(done) <= 0.122
    long = [r for r in done if r.run_id.endswith("_1024_32768") and "_H200_" not in r.run_id]
    assert len(long) == 2 and all(0.9 <= r.predicted_tokens_per_s / r.measured_tokens_per_s <= 1.1 for r in long)


def test_l40s_tensor_parallel_rows_priced_at_pcie_p2p_rate(inference_rows):
    # L40S has no NVLink: TensorRT-LLM runs NCCL over PCIe Gen4 (~26 GB/s measured per link, not 32).
    # At the raw line rate the TP4/TP8 rows were over-predicted 1.25-1.43x (L40S MAPE 22.6 %); now 13.5 %,
    # TP4 under 1.3x and none of the rows beyond 1.31x (TP8 still crosses the 4+4 socket split, not modelled).
    rows = [r for r in inference_rows if not r.skipped and r.accelerator == "L40S"]
    assert len(rows) == 45
    assert _ape(rows) <= 0.14
    ratios = {r.run_id: r.predicted_tokens_per_s / r.measured_tokens_per_s for r in rows}
    assert max(v for k, v in ratios.items() if "_tp4_" in k) < 1.30
    assert max(ratios.values()) < 1.32


def test_latency_targets_met(inference_rows):
    done = [r for r in inference_rows if not r.skipped]
    for key in ("ttft_s", "tpot_s"):
        pred = np.array([getattr(r, f"predicted_{key}") for r in done])
        meas = np.array([getattr(r, f"measured_{key}") for r in done])
        ok = np.isfinite(pred) & np.isfinite(meas) & (meas > 0)
        assert ok.sum() >= 45
        assert float(np.mean(np.abs(pred[ok] / meas[ok] - 1))) <= 0.20


def test_benchmark_precisions_the_table_does_not_state():
    from archsweep.load.validation_data import load_bench_precisions
    from archsweep.validation.inference import _precisions

    over = load_bench_precisions()
    # gpt-oss: MXFP8 x MXFP4 on Blackwell, BF16 x MXFP4 (weight-only) with BF16 KV on Hopper (deployment guide).
    assert _precisions("FP4 (ModelOpt ...)", "GPT-OSS 120B", "B200", over) == ("fp4", "fp8", "fp8")
    assert _precisions("FP8 (ModelOpt ...)", "GPT-OSS 20B", "H200", over) == ("int4", "bf16", "bf16")
    assert _precisions("FP8 (ModelOpt ...)", "Qwen3-235B-A22B", "H200", over) == ("fp8", "fp8", "bf16")
    # NVFP4 Qwen3-30B / Maverick on Blackwell: FP8 KV (a BF16 one cannot give their long rows' rate, s18-G3).
    assert _precisions("FP4 (ModelOpt ...)", "Qwen3-30B-A3B", "B200", over) == ("fp4", "fp4", "fp8")
    assert _precisions("FP4 (ModelOpt ...)", "Qwen3-235B-A22B", "B200", over) == ("fp4", "fp4", "bf16")
    assert _precisions("FP4 (ModelOpt ...)", "Llama-4-Maverick-17B-128E", "GB200", over) == ("fp4", "fp4", "fp8")
    assert _precisions("FP8 weights+KV", "LLaMA v3.1 8B", "H100-SXM", over) == ("fp8", "fp8", "fp8")
    for entry in over:
        assert entry.source and entry.locator and entry.confidence


def test_fp4_native_parts_come_from_published_fp4_peaks(inference_rows):
    # One list for what-if and validation, derived from data/hardware/low_precision_rates.yaml (a part
    # with a published dense FP4 / NVFP4 peak): RTX PRO 6000 (GB202 Blackwell) runs NVFP4 at 2x FP8; the
    # validation once left it out and priced its FP4 Llama-3.3 rows at the FP8 rate (0.60-0.73x measured).
    from archsweep.load.catalog import load_catalog
    from archsweep.load.low_precision import fp4_native_accelerators

    fp4 = fp4_native_accelerators()
    assert {"B200", "GB200", "B300", "GB300", "RTX PRO 6000", "MI355X"} <= fp4
    assert not {"H100-SXM", "H200", "A100-SXM4", "L40S", "MI300X", "Gaudi3"} & fp4
    assert fp4 <= set(load_catalog())  # every name is a catalog part
    rtx = [r for r in inference_rows if not r.skipped and r.accelerator == "RTX PRO 6000"]
    assert len(rtx) == 7
    assert all(0.85 <= r.predicted_tokens_per_s / r.measured_tokens_per_s <= 1.15 for r in rtx)


def test_pytorch_backend_prompt_iterations_run_eagerly(inference_rows):
    # The latest table ran TensorRT-LLM's PyTorch backend, which replays CUDA graphs only for iterations
    # without a prompt (all attention-DP ranks alike); an eager iteration takes at least the host's
    # launch time, eager_host_s_per_layer (1 ms, fitted on these 130 rows; leave-one-family-out 18.4 %).
    # With the FP8 KV of the NVFP4 Qwen3-30B / Maverick checkpoints (s19-H): latest table 20.21 -> 18.08 %,
    # Qwen3-235B 21.8 -> 13.5 %, Qwen3-30B 28.2 -> 16.7 %; the 1k/1k DEP4 Blackwell Qwen3-235B rows
    # 1.50-1.59x -> 0.96-1.02x. Tolerances: those figures rounded up; the older tables do not move.
    done = [r for r in inference_rows if not r.skipped]
    latest = [r for r in done if r.group == "trtllm-latest-offline"]
    assert len(latest) == 130 and _ape(latest) <= 0.163  # 16.41 % with s20-D's gather and padding; 16.26 % s20-H
    assert _ape([r for r in latest if r.model == "Qwen3-235B-A22B"]) <= 0.141  # 13.8 -> 14.06 % with s20-D (wrong way)
    assert _ape([r for r in latest if r.model == "Qwen3-30B-A3B"]) <= 0.181  # 18.0 % with s19-M2's whole-prompt token floor
    ends = tuple(f"_{gpu}_DEP4_{seq}" for gpu in ("B200", "GB200") for seq in ("1000_1000", "1024_1024"))
    short = [r for r in latest if r.model == "Qwen3-235B-A22B" and r.run_id.endswith(ends)]
    assert len(short) == 4 and all(0.9 <= r.predicted_tokens_per_s / r.measured_tokens_per_s <= 1.1 for r in short)
    assert not any(r.predicted_tokens_per_s != r.predicted_tokens_per_s for r in latest)  # no NaN


def test_attention_dp_moe_gather_and_cuda_graph_padding(inference_rows):
    # s20-D: TensorRT-LLM's attention-DP MoE all-gathers every rank's tokens and reduce-scatters BF16 where its
    # alltoall is off (ep <= top_k, or no MNNVL), the DeepSeek FP8 block-scaled input in BF16; generation-only
    # iterations run padded to a captured CUDA-graph batch size (perf-overview options enable_padding). DeepSeek-R1
    # 28.4 -> 25.6 %; its H200 DEP8 1k/1k rows 1.77 -> 1.61x, still over-predicted (tolerance: 25.6 % rounded up,
    # the rows within 1.5-1.7x); gpt-oss 20B Hopper 1k/1k 1.26-1.35 -> 1.12-1.22x.
    done = [r for r in inference_rows if not r.skipped and r.group == "trtllm-latest-offline"]
    ratio = {r.run_id: r.predicted_tokens_per_s / r.measured_tokens_per_s for r in done}
    assert _ape([r for r in done if r.model == "DeepSeek-R1-0528"]) <= 0.256
    h200 = [v for k, v in ratio.items() if "DeepSeek" in k and k.endswith(("_H200_DEP8_1000_1000", "_H200_DEP8_1024_1024"))]
    assert len(h200) == 2 and all(1.5 <= v <= 1.7 for v in h200)
    small = [v for k, v in ratio.items() if "GPT-OSS_20B" in k and ("_H200_" in k or "_H100" in k)
             and k.endswith(("_1000_1000", "_1024_1024"))]
    assert len(small) == 4 and all(1.05 <= v <= 1.25 for v in small)


def test_pipeline_stages_each_hold_a_max_batch_size_micro_batch(inference_rows):
    # s20-H: PyTorchModelEngine.get_max_num_sequences = pp x max_batch_size (one micro-batch per stage, each
    # padded on its own); validation had capped a PP2 replica at one max_batch_size, so each micro-batch held
    # half of it and was padded 192 -> 256. The RTX PRO 6000 Llama-3.3 TP1-PP2 rows 0.89-0.90 -> 0.93-0.99x.
    done = [r for r in inference_rows if not r.skipped and r.group == "trtllm-latest-offline"
            and r.model == "Llama-3.3-70B" and "TP1-PP2" in r.run_id and not r.run_id.endswith("_32768_1024")]
    assert len(done) == 3
    assert all(0.92 <= r.predicted_tokens_per_s / r.measured_tokens_per_s <= 1.0 for r in done)
