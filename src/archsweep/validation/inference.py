"""Validation of the serving model against the public inference rows (``data/validation/inference_runs.csv``).

The inference layout is told apart from the training one by its columns
(:func:`is_inference_table`: ``avg_input_tokens``, ``avg_output_tokens``, ``scenario``). Each row
is mapped to (model YAML stem, catalog accelerator, mapping from the run id, ISL/OSL, precision,
offline vs online QPS) and predicted with the one set of constants in
``data/calibration/serving.yaml``: output tokens/s (deployment), mean TTFT and mean TPOT (ITL).
Rows that cannot be modelled are skipped with a reason; no constant is fitted per row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.low_precision import fp4_native_accelerators
from archsweep.load.paths import data_dir
from archsweep.load.serving_calibration import load_serving_calibration
from archsweep.load.technology import load_technology
from archsweep.load.validation_data import load_bench_precisions
from archsweep.load.workloads import list_workloads, load_architecture
from archsweep.model.inference import (
    ServingJob,
    enumerate_serving_configs,
    evaluate_serving_batch,
)
from archsweep.model.inference.cuda_graph import captured_batch_sizes
from archsweep.model.inference.engine_limits import trtllm_bench_limits, trtllm_bench_num_requests
from archsweep.model.inference.moe_comm import trtllm_moe_allgather
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.serving import PERF_OVERVIEW_BATCH_SIZES
from archsweep.spec.validation_data import BenchPrecisions
from archsweep.validation.cells import RunIds

__all__ = ["is_inference_table", "is_inference_csv", "validate_inference_cli", "InferenceValidationRow", "validate_inference", "summarise", "main"]

_INFERENCE_COLUMNS = ("avg_input_tokens", "avg_output_tokens", "scenario")

#: Model names as printed in the tables -> models/<stem>.yaml.
MODEL_STEMS: dict[str, str] = {
    "LLaMA v3.1 8B": "llama3-8b", "LLaMA 3.1 8B": "llama3-8b",
    "LLaMA v3.1 70B": "llama3-70b", "LLaMA 3.1 70B": "llama3-70b", "Llama-3.3-70B": "llama3-70b",
    "LLaMA v3.1 405B": "llama3-405b", "Mixtral 8x7B": "mixtral-8x7b", "Mixtral 8x22B": "mixtral-8x22b",
    "DeepSeek-R1-0528": "deepseek-v3", "GPT-OSS 120B": "gpt-oss-120b", "GPT-OSS 20B": "gpt-oss-20b",
    "Llama-4-Maverick-17B-128E": "llama4-maverick-17b-128e", "Qwen3-235B-A22B": "qwen3-235b-a22b",
    "Qwen3-30B-A3B": "qwen3-30b-a3b",
}


def is_inference_table(columns: Iterable[str]) -> bool:
    """True for the inference CSV layout (it has ISL/OSL and scenario columns)."""
    cols = set(columns)
    return all(c in cols for c in _INFERENCE_COLUMNS)


@dataclass(frozen=True)
class InferenceValidationRow:
    run_id: str
    group: str
    model: str
    accelerator: str
    measured_tokens_per_s: float
    predicted_tokens_per_s: float
    measured_ttft_s: float
    predicted_ttft_s: float
    measured_tpot_s: float
    predicted_tpot_s: float
    skipped: str = ""


def _entry(model: str, overrides: tuple[BenchPrecisions, ...] | None) -> BenchPrecisions | None:
    """``data/validation/trtllm_bench_precisions.yaml``'s entry for the model's prefix (precisions the table does not state)."""
    return next((e for e in overrides or () if model.startswith(e.prefix)), None)


def _non_expert_precision(model: str, overrides: tuple[BenchPrecisions, ...] | None) -> str | None:
    """The file's ``non_expert_weight`` for the model's prefix (weights outside the routed experts), else None."""
    entry = _entry(model, overrides)
    return entry.non_expert_weight if entry else None


#: The checkpoint format a row's stored weight precision implies when the precisions file states none
#: (fp4: a ModelOpt NVFP4 checkpoint; int4: a ModelOpt INT4-AWQ one, U8-packed); see
#: engine_limits.CHECKPOINT_STORAGE.
_CHECKPOINT_OF_WEIGHT: dict[str, str] = {"bf16": "bf16", "fp8": "fp8", "fp4": "nvfp4", "int4": "int4"}


def _checkpoint(weight: str, model: str, overrides: tuple[BenchPrecisions, ...] | None) -> str:
    """The checkpoint format trtllm-bench sized the engine from: the file's ``checkpoint`` for the
    model's prefix, else the one the weight precision implies (:data:`_CHECKPOINT_OF_WEIGHT`)."""
    entry = _entry(model, overrides)
    if entry is not None and entry.checkpoint is not None:
        return entry.checkpoint
    return _CHECKPOINT_OF_WEIGHT[weight]


def _dispatch_precision(weight: str, model: str, overrides: tuple[BenchPrecisions, ...] | None) -> str | None:
    """bf16 where the row's FP8 weights are block-scaled (the MoE op quantizes its BF16 input inside,
    model.inference.moe_comm), else None (the activation precision)."""
    entry = _entry(model, overrides)
    return "bf16" if weight == "fp8" and entry is not None and entry.fp8_block_scales else None


def _precisions(text: str, model: str = "", accelerator: str = "",
                overrides: tuple[BenchPrecisions, ...] | None = None) -> tuple[str, str, str]:
    """(weight, activation, KV) precision of a row: the file's entry for the model's prefix, else the column."""
    entry = _entry(model, overrides)
    if entry is not None:
        p = entry.fp4_native if accelerator in fp4_native_accelerators() else entry.other
        return p.weight, p.activation, p.kv
    t = text.upper()
    if t.startswith("FP4"):
        return "fp4", "fp4", "fp8"
    if t.startswith("FP8"):
        return "fp8", "fp8", "fp8"
    return "bf16", "bf16", "bf16"


def _mapping(run_id: str) -> dict[str, float] | None:
    m = re.search(r"_(?:tp|TP)(\d+)(?:-PP(\d+))?_", run_id)
    if m:
        return {"width": float(m.group(1)), "attention_dp": 0.0, "pp": float(m.group(2) or 1), "ep": 1.0}
    m = re.search(r"_DEP(\d+)_", run_id)
    if m:
        w = float(m.group(1))
        return {"width": w, "attention_dp": 1.0, "pp": 1.0, "ep": w}
    return None


#: The table whose trtllm-bench runs the PyTorch backend (TensorRT-LLM perf-overview @585c7565): its prompt-carrying
#: iterations run without CUDA graphs, its options set no ``max_attention_window`` (one full-length KV pool), and its
#: chunked prefill is off (a prompt is scheduled whole): docs/model-accuracy.md s19-H, s19-M2.
_PYTORCH_BACKEND_GROUP = "trtllm-latest-offline"


def _group(run_id: str) -> str:
    if run_id.startswith("trtllm014_online"):
        return "trtllm-online-qps"
    if run_id.startswith("trtllm017"):
        return "trtllm-v0.17-offline"
    return _PYTORCH_BACKEND_GROUP


def _num(x: object) -> float:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return v


def _row(rec: dict, known: set[str], cal, scal, tech, overrides: tuple[BenchPrecisions, ...] | None = None) -> InferenceValidationRow:
    run_id = str(rec["run_id"])
    group = _group(run_id)
    pytorch_backend = group == _PYTORCH_BACKEND_GROUP
    out = dict(run_id=run_id, group=group, model=str(rec["model"]), accelerator=str(rec["accelerator_canonical"]),
               measured_tokens_per_s=_num(rec["tokens_per_s_total"]), predicted_tokens_per_s=float("nan"),
               measured_ttft_s=_num(rec["ttft_mean_ms"]) / 1e3, predicted_ttft_s=float("nan"),
               measured_tpot_s=_num(rec["tpot_mean_ms"]) / 1e3, predicted_tpot_s=float("nan"))

    def skip(reason: str) -> InferenceValidationRow:
        return InferenceValidationRow(**out, skipped=reason)

    stem = MODEL_STEMS.get(out["model"])
    if stem is None or stem not in known:
        return skip(f"model YAML missing ({stem or out['model']})")
    try:
        entry = get_accelerator(out["accelerator"])
    except InputError:
        return skip(f"accelerator not in catalog ({out['accelerator']})")
    scenario = str(rec["scenario"])
    qps = None
    if scenario.startswith("Server"):
        m = re.search(r"QPS=([0-9.]+)", scenario)
        if not m:
            return skip("offered QPS infinite: a finite-request transient, no steady state")
        qps = float(m.group(1))
    fixed = _mapping(run_id)
    if fixed is None:
        return skip("mapping not stated in the run id")
    n = int(rec["num_accels"])
    wl = load_architecture(stem)
    w, a, kv = _precisions(str(rec["precision"]), out["model"], out["accelerator"], overrides)
    isl, osl = float(rec["avg_input_tokens"]), float(rec["avg_output_tokens"])
    n_req = None if qps else trtllm_bench_num_requests(isl, osl)
    hw = HardwareArrays.from_designs(entry.design.replace(accelerator_count=n))
    gather = pytorch_backend and wl.moe is not None and bool(fixed["attention_dp"]) and trtllm_moe_allgather(
        int(wl.moe.top_k), int(fixed["ep"]), float(np.reshape(hw.scaleup_bw_bytes_per_s, -1)[0]))
    job = ServingJob(isl, osl, load="qps" if qps else "offline", qps=qps, num_requests=None if n_req == float("inf") else n_req,
                     weight_precision=w, activation_precision=a, kv_precision=kv,  # type: ignore[arg-type]
                     non_expert_weight_precision=_non_expert_precision(out["model"], overrides),  # type: ignore[arg-type]
                     eager_prompt_iterations=pytorch_backend, full_length_kv_pool=pytorch_backend,
                     moe_allgather=gather, moe_dispatch_precision=_dispatch_precision(w, out["model"], overrides))
    chunks: tuple[int, ...] = (8192,)
    if qps:
        fixed = {**fixed, "chunk_tokens": 8192.0}
        ladder: tuple[int, ...] = (int(scal.max_batch_size),)
    else:
        # Offline rows are trtllm-bench throughput runs whose option files leave max_batch_size and
        # max_num_tokens out: the bench's own heuristic sets them (per engine; per rank under
        # attention DP), see archsweep.model.inference.engine_limits.
        ranks = fixed["width"] if fixed["attention_dp"] else 1.0
        max_bs, max_tokens = trtllm_bench_limits(
            wl, checkpoint=_checkpoint(w, out["model"], overrides), kv_bytes_per_element=job.kv_bytes_per_element,
            tp=int(fixed["width"]), pp=int(fixed["pp"]), device_memory_bytes=float(np.reshape(hw.hbm_capacity_bytes, -1)[0]),
            input_tokens=isl, output_tokens=osl, kv_cache_fraction=scal.kv_cache_memory_fraction,
            whole_prompts=pytorch_backend)
        # The engine holds pp x max_batch_size sequences (PyTorchModelEngine.get_max_num_sequences: one
        # max_batch_size micro-batch per pipeline stage); the bench's heuristic already divides by pp.
        ladder = (int(min(max_bs * ranks * fixed["pp"], trtllm_bench_num_requests(isl, osl))),)
        chunks = (int(max_tokens * ranks),)
        if pytorch_backend:  # every options file of the table pads graph iterations (model.inference.cuda_graph)
            job = replace(job, cuda_graph_batch_sizes=captured_batch_sizes(PERF_OVERVIEW_BATCH_SIZES, int(max_bs), int(max_tokens)))
    cfg = enumerate_serving_configs(wl, job, n, concurrency_ladder=ladder, disaggregation=False, fixed=fixed)
    if len(cfg) == 0:
        return skip(f"mapping {fixed} invalid for {stem} on {n} accelerators")
    res = evaluate_serving_batch(hw, wl, job, tech=tech, calibration=cal, serving_calibration=scal,
                                 fp4_supported=entry.name in fp4_native_accelerators(), disaggregation=False, fixed=fixed,
                                 concurrency_ladder=ladder, chunk_sizes=chunks)
    if not (res["violation_memory"][0] <= 0 and res["violation_mapping"][0] <= 0):
        return skip("model predicts no feasible configuration (memory)")
    out["predicted_tokens_per_s"] = float(res["output_tokens_per_s"][0])
    out["predicted_tpot_s"] = float(res["tpot_s"][0])
    out["predicted_ttft_s"] = float(res["ttft_s"][0])
    if qps is not None and _num(rec["samples_per_s"]) < 0.8 * qps:
        # Overloaded in the measurement (achieved < 80 % of offered): a finite-run transient where
        # TTFT grows with the queued requests and ITL with the engine's batch limit; only the
        # saturated throughput is compared.
        out["measured_ttft_s"] = float("nan")
        out["measured_tpot_s"] = float("nan")
    return InferenceValidationRow(**out)


def validate_inference(path: Path | None = None) -> list[InferenceValidationRow]:
    """Predict every row of the inference validation table."""
    import pandas as pd

    path = Path(path) if path is not None else data_dir() / "validation" / "inference_runs.csv"
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError) as exc:
        raise InputError(str(path), "", f"<{exc}>", "a UTF-8 CSV file with a header row") from None
    if not is_inference_table(df.columns):
        raise InputError(str(path), "columns", ",".join(df.columns[:6]), "the inference layout (" + ", ".join(_INFERENCE_COLUMNS) + ")")
    run_ids = RunIds(path)  # the training reader's rules (validation.cells.read_measurements)
    for run_id in df["run_id"]:
        run_ids.add(str(run_id))
    run_ids.done()
    known = set(list_workloads())
    cal, scal, tech = load_calibration(), load_serving_calibration(), load_technology()
    overrides = load_bench_precisions()
    return [_row(rec, known, cal, scal, tech, overrides) for rec in df.to_dict("records")]


def _ape(pred: np.ndarray, meas: np.ndarray) -> np.ndarray:
    ok = np.isfinite(pred) & np.isfinite(meas) & (meas > 0)
    return np.abs(pred[ok] - meas[ok]) / meas[ok] * 100.0


def summarise(rows: list[InferenceValidationRow]) -> str:
    """Text report: rows modelled, skip reasons, MAPE per metric overall and per group."""
    lines = []
    total = len(rows)
    done = [r for r in rows if not r.skipped]
    lines.append(f"rows: {total}, modelled: {len(done)} ({100.0 * len(done) / max(total, 1):.1f} %)")
    reasons: dict[str, int] = {}
    for r in rows:
        if r.skipped:
            reasons[r.skipped] = reasons.get(r.skipped, 0) + 1
    for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]):
        lines.append(f"  skipped {v:4d}: {k}")
    metrics = (("output tok/s", "tokens_per_s"), ("TTFT", "ttft_s"), ("TPOT", "tpot_s"))
    groups = ["all"] + sorted({r.group for r in done}) + sorted({f"model:{r.model}" for r in done})
    lines.append(f"{'group':40s} " + " ".join(f"{m:>22s}" for m, _ in metrics))
    for g in groups:
        sel = [r for r in done if g == "all" or r.group == g or f"model:{r.model}" == g]
        cells = []
        for _, key in metrics:
            p = np.array([getattr(r, f"predicted_{key}") for r in sel])
            m = np.array([getattr(r, f"measured_{key}") for r in sel])
            e = _ape(p, m)
            cells.append(f"{e.mean():8.1f} % (n={e.size:3d})" if e.size else f"{'-':>22s}")
        lines.append(f"{g:40s} " + " ".join(f"{c:>22s}" for c in cells))
    return "\n".join(lines)


def is_inference_csv(path: str | Path) -> bool:
    """True when the CSV at ``path`` has the inference layout (its header only is read)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeError, csv.Error):
        return False  # the training validation reports the missing or unreadable file
    return is_inference_table(header)


def validate_inference_cli(path: str | Path, output: str | Path | None = None) -> int:
    """``archsweep validate`` on an inference CSV: print :func:`summarise`, optionally write every row."""
    import csv
    from dataclasses import asdict, fields

    rows = validate_inference(Path(path))
    print(summarise(rows))
    if output:
        with open(output, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=[f.name for f in fields(InferenceValidationRow)])
            writer.writeheader()
            writer.writerows(asdict(r) for r in rows)
        print(f"wrote {output}")
    return 0


def main() -> None:  # pragma: no cover - command-line entry
    print(summarise(validate_inference()))


if __name__ == "__main__":  # pragma: no cover
    main()
