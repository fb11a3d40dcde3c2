"""Serving entries of a study's ``workloads`` list -> frozen :class:`ServingWorkload`.

A study's ``workloads`` may mix training stems (``llama3-70b``) and serving entries::

    workloads:
      - llama3-70b
      - model: deepseek-v3
        name: deepseek-v3-chat          # optional; default <model>-serving-<isl>-<osl>
        serving:
          input_tokens: 1024
          output_tokens: 256
          ttft_max: 2 s                 # optional SLO on mean time to first token
          tpot_max: 50 ms               # optional SLO on mean time per output token
          load: offline                 # or {concurrency: 256} or {qps: 20}
          precision: fp8                # weights and matrix inputs: bf16, fp8, fp4, int4 (weight-only)
          kv_precision: fp8             # optional; default fp8 for fp8/fp4, else bf16
          fp4_native: false             # matrix engines run FP4 at 2x FP8 (Blackwell NVFP4)
          disaggregation: true          # also search prefill/decode pool splits
          eager_prompt_iterations: false  # iterations with a prompt run without CUDA graphs (TensorRT-LLM PyTorch)
          full_length_kv_pool: false    # local-attention layers hold the KV cache at full length too
          moe_allgather: false          # attention-DP MoE all-gathers tokens, reduce-scatters BF16 (TensorRT-LLM)
          cuda_graph_padding: false     # generation-only iterations padded to a captured CUDA-graph batch size

Parsing is kept here, apart from :mod:`archsweep.load.study`; training entries
(``{model, name?, training: {...}}``) are parsed by :mod:`archsweep.load.training_workloads`. Every
problem is collected (file, key path, value, what is allowed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from archsweep.load.parameters import guard, problem
from archsweep.load.training_workloads import parse_training_entry
from archsweep.load.units import parse_quantity
from archsweep.load.workloads import list_workloads
from archsweep.spec.errors import InputError, Problem
from archsweep.spec.serving import (
    MAX_REQUEST_TOKENS,
    PERF_OVERVIEW_BATCH_SIZES,
    PRECISIONS,
    ServingJob,
    ServingWorkload,
)
from archsweep.spec.training import TrainingWorkload

__all__ = ["parse_serving_entry", "parse_workload_entries", "serving_job_from_options", "token_count"]

_SERVING_KEYS = ("input_tokens", "output_tokens", "ttft_max", "tpot_max", "load", "precision", "kv_precision",
                 "fp4_native", "disaggregation", "eager_prompt_iterations", "full_length_kv_pool", "moe_allgather",
                 "cuda_graph_padding")


def serving_job_from_options(*, input_tokens: float, output_tokens: float, load: str = "offline",
                             concurrency: float | None = None, qps: float | None = None,
                             ttft_max_s: float | None = None, tpot_max_s: float | None = None,
                             precision: str = "bf16", kv_precision: str | None = None,
                             eager_prompt_iterations: bool = False, full_length_kv_pool: bool = False,
                             moe_allgather: bool = False, cuda_graph_padding: bool = False) -> ServingJob:
    """A :class:`ServingJob` from one precision name (weights and matrix inputs) and an optional KV type.

    ``int4`` is weight-only: matrix inputs stay BF16. KV defaults to FP8 for FP8/FP4 and to BF16 otherwise.
    ``eager_prompt_iterations`` / ``full_length_kv_pool``: the engine behaviours of the same
    :class:`ServingJob` fields (TensorRT-LLM's PyTorch backend), both off by default; so are ``moe_allgather``
    (the field of that name) and ``cuda_graph_padding`` (``cuda_graph_batch_sizes`` = the perf-overview options'
    list, :data:`~archsweep.spec.serving.PERF_OVERVIEW_BATCH_SIZES`).
    """
    activation = "bf16" if precision == "int4" else precision
    kv = kv_precision or ("fp8" if precision in ("fp8", "fp4") else "bf16")
    return ServingJob(float(input_tokens), float(output_tokens), load=load, concurrency=concurrency,  # type: ignore[arg-type]
                      qps=qps, ttft_max_s=ttft_max_s, tpot_max_s=tpot_max_s, weight_precision=precision,  # type: ignore[arg-type]
                      activation_precision=activation, kv_precision=kv,  # type: ignore[arg-type]
                      eager_prompt_iterations=eager_prompt_iterations, full_length_kv_pool=full_length_kv_pool,
                      moe_allgather=moe_allgather,
                      cuda_graph_batch_sizes=PERF_OVERVIEW_BATCH_SIZES if cuda_graph_padding else ())


def token_count(raw: Any, file: str, key: str) -> float:
    """A request's input or output token count: > 0 and at most :data:`MAX_REQUEST_TOKENS`."""
    value = parse_quantity(raw, "dimensionless", file=file, key_path=key, positive=True)
    if value > MAX_REQUEST_TOKENS:
        raise InputError(file, key, raw, f"a token count <= {MAX_REQUEST_TOKENS} (MAX_REQUEST_TOKENS, 2^24)")
    return value


def _load(raw: Any, file: str, key: str) -> tuple[str, float | None, float | None]:
    if raw == "offline":
        return "offline", None, None
    if isinstance(raw, Mapping) and len(raw) == 1 and next(iter(raw)) in ("concurrency", "qps"):
        name, value = next(iter(raw.items()))
        v = parse_quantity(value, "dimensionless", file=file, key_path=f"{key}.{name}", positive=True)
        return (name, v, None) if name == "concurrency" else (name, None, v)
    raise InputError(file, key, repr(raw), "offline, {concurrency: N} or {qps: X}")


def parse_serving_entry(entry: Mapping[str, Any], file: str, key: str, problems: list[Problem]) -> ServingWorkload | None:
    """One ``{model, name?, serving: {...}}`` entry; problems are appended, None on failure."""
    model = entry.get("model")
    if model not in list_workloads():
        problems.append(problem(file, f"{key}.model", model, "a workload in models/: " + ", ".join(sorted(list_workloads()))))
        return None
    raw = entry.get("serving")
    if not isinstance(raw, Mapping):
        problems.append(problem(file, f"{key}.serving", raw, "a mapping with " + ", ".join(_SERVING_KEYS)))
        return None
    unknown = sorted(set(raw) - set(_SERVING_KEYS))
    if unknown:
        problems.append(problem(file, f"{key}.serving.{unknown[0]}", unknown[0], "one of " + ", ".join(_SERVING_KEYS)))
        return None
    sk = f"{key}.serving"

    def count(name: str) -> float | None:
        if name not in raw:
            problems.append(problem(file, f"{sk}.{name}", "<missing>", "a token count >= 1"))
            return None
        return guard(problems, lambda: token_count(raw[name], file, f"{sk}.{name}"))

    def limit(name: str) -> float | None:
        return guard(problems, lambda: parse_quantity(raw[name], "time", file=file, key_path=f"{sk}.{name}", positive=True)) if name in raw else None

    isl, osl = count("input_tokens"), count("output_tokens")
    ttft, tpot = limit("ttft_max"), limit("tpot_max")
    load = guard(problems, lambda: _load(raw.get("load", "offline"), file, f"{sk}.load"))
    precision = raw.get("precision", "bf16")
    if precision not in PRECISIONS:
        problems.append(problem(file, f"{sk}.precision", precision, "one of " + ", ".join(PRECISIONS)))
    kv = raw.get("kv_precision")
    if kv is not None and kv not in ("bf16", "fp8", "fp4"):
        problems.append(problem(file, f"{sk}.kv_precision", kv, "one of bf16, fp8, fp4"))
    flags = {}
    for flag, default in (("fp4_native", False), ("disaggregation", True), ("eager_prompt_iterations", False),
                          ("full_length_kv_pool", False), ("moe_allgather", False), ("cuda_graph_padding", False)):
        value = raw.get(flag, default)
        if not isinstance(value, bool):
            problems.append(problem(file, f"{sk}.{flag}", value, "true or false"))
        flags[flag] = bool(value)
    if None in (isl, osl, load) or problems:
        return None
    mode, conc, qps = load
    job = guard(problems, lambda: serving_job_from_options(input_tokens=isl, output_tokens=osl, load=mode, concurrency=conc,  # type: ignore[arg-type]
                                                           qps=qps, ttft_max_s=ttft, tpot_max_s=tpot, precision=precision,
                                                           kv_precision=kv,
                                                           eager_prompt_iterations=flags["eager_prompt_iterations"],
                                                           full_length_kv_pool=flags["full_length_kv_pool"],
                                                           moe_allgather=flags["moe_allgather"],
                                                           cuda_graph_padding=flags["cuda_graph_padding"]))
    if job is None:
        return None
    name = entry.get("name") or f"{model}-serving-{int(isl)}-{int(osl)}"  # type: ignore[arg-type]
    return ServingWorkload(name=str(name), model=str(model), job=job, fp4_native=flags["fp4_native"],
                           disaggregation=flags["disaggregation"])


def parse_workload_entries(raw: Sequence[Any], file: str, problems: list[Problem]
                           ) -> tuple[tuple[str, ...], tuple[ServingWorkload, ...], tuple[TrainingWorkload, ...]]:
    """(every workload label in file order, the serving workloads, the training entries).

    Strings pass through unchanged (checked against ``models/`` by the study loader);
    ``{model, serving}`` entries become :class:`ServingWorkload`, ``{model, training}`` entries
    :class:`TrainingWorkload` (:mod:`archsweep.load.training_workloads`); labels must be unique."""
    names: list[str] = []
    serving: list[ServingWorkload] = []
    training: list[TrainingWorkload] = []
    for i, entry in enumerate(raw):
        if isinstance(entry, str):
            names.append(entry)
            continue
        parsed: ServingWorkload | TrainingWorkload | None
        if isinstance(entry, Mapping) and "serving" in entry and "training" not in entry:
            parsed = parse_serving_entry(entry, file, f"workloads[{i}]", problems)
        elif isinstance(entry, Mapping) and "training" in entry and "serving" not in entry:
            parsed = parse_training_entry(entry, file, f"workloads[{i}]", problems)
        else:
            problems.append(problem(file, f"workloads[{i}]", entry,
                                    "a workload stem, {model: ..., training: {...}} or {model: ..., serving: {...}}"))
            continue
        if parsed is None:
            continue
        if parsed.name in names:
            problems.append(problem(file, f"workloads[{i}].name", parsed.name, "a name unique among the study's workloads"))
            continue
        names.append(parsed.name)
        (serving if isinstance(parsed, ServingWorkload) else training).append(parsed)  # type: ignore[arg-type]
    return tuple(names), tuple(serving), tuple(training)
