"""Validation of the training model against published runs (``archsweep validate``).

Every row of a measurements CSV with the columns of ``data/validation/training_runs.csv`` is
turned into a workload, a system and a mapping, predicted with
:func:`archsweep.model.driver.evaluate_design_batch`, and compared with the metric the row
measured. A row that cannot be modelled is reported ``skipped`` with the reason, never dropped; so is a row
whose own source flags its figure (``source_caveat``, e.g. a footnote "Performance regression ... is a known
issue": :mod:`archsweep.validation.caveats`), with the source's words as the reason.

Row -> inputs (the rules, in one place):

* Workload: from the architecture columns (layers, hidden, heads, kv_heads, ffn_hidden, vocab,
  seq_len, global_batch_seqs). When the model name matches a ``models/`` stem ("GPT-3 175B" ->
  ``gpt3-175b``) that file is the base and the row's columns override it (MoE/MLA rows need
  it). FFN: SwiGLU when ``arch_type``/model mentions SwiGLU, or for a Llama-style family
  (llama, mistral, mixtral, qwen, deepseek, gemma, olmo, yi) whose ``ffn_hidden != 4*hidden``;
  GELU otherwise (GPT, MPT, BLOOM, OPT). Embeddings tied for GPT/MPT/BLOOM/OPT (Megatron-LM and
  MPT share input and output embedding), untied otherwise. Precision ``fp8`` when the text
  mentions FP8, ``bf16`` otherwise (FP16 and BF16 have the same peak and bytes); FP4/INT8/FP32
  recipes are skipped.
* System: ``accelerator_canonical`` (else ``accelerator``) through the catalog with its
  aliases, ``accelerator_count = num_accels`` (else tp*pp*cp*dp).
* Mapping: the row's tp, pp, dp, cp, ep, vpp, micro_batch, act_recompute, sp and fsdp_zero;
  what the row leaves out is searched by the model, over what the row's software stack can run
  (``parallelism`` of the stack in data/calibration/software_stacks.yaml) and the row is flagged ``partial``
  (``searched`` when it gives none of tp/pp/dp/micro_batch/act_recompute). Software stack:
  Megatron-LM of SC21 / Korthikanti (2021-22): no flash attention, no distributed optimizer
  (ZeRO stage 0) unless stated, and gradient all-reduce after the backward pass (the
  ``--DDP-impl local`` default of that code, no overlap) except under DeepSpeed ZeRO;
  MosaicML llm-foundry: flash attention on, FSDP (overlapped). CP = 1 when not stated.
* Metric, the first the row provides: ``step_time_s``, ``tokens_per_s_per_gpu``,
  ``tokens_per_s_total``, ``tflops_per_gpu``, ``mfu_pct``, ``hfu_pct``; then memory figures
  from ``other_metric`` (activations GiB; activation memory as % of the no-recompute,
  no-SP baseline). FLOP-based metrics use the row's FLOP convention (:data:`~archsweep.validation.types.FlopConvention`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator, load_catalog
from archsweep.load.part_physics import job_calibration
from archsweep.load.technology import load_technology
from archsweep.load.validation_data import load_mlperf_eval_rules
from archsweep.model.driver import evaluate_design_batch
from archsweep.spec.calibration import Calibration
from archsweep.spec.catalog import CatalogEntry
from archsweep.spec.errors import ArchsweepError, InputError
from archsweep.spec.hardware import HardwareArrays
from archsweep.validation.caveats import caveat_skip_reason
from archsweep.validation.cells import cell_int, cell_number, cell_text, read_measurements
from archsweep.validation.layer_time import layer_notes, measured_layer_times, predict_layer_times
from archsweep.validation.metrics import (
    consistency_skip_reason,
    flop_convention,
    measured_of,
    predict_metric,
)
from archsweep.validation.mlperf import EVAL_SHARE, eval_forward_share, eval_schedule, wallclock_factor
from archsweep.validation.row_workload import workload_of
from archsweep.validation.rows import calibration_stack, mapping_of, row_calibration
from archsweep.validation.software import row_parallelism
from archsweep.validation.types import LAYER_METRIC, MEMORY_METRICS, MICROBATCH_METRICS, RowPlan, RowResult, Skip

# ---------------------------------------------------------------------------------------
# plan, evaluate, summarise
# ---------------------------------------------------------------------------------------

def plan_row(row: Mapping[str, str], catalog: Mapping[str, CatalogEntry] | None = None) -> RowPlan:
    """Build the prediction inputs of one row.

    Raises:
        Skip: the row cannot be modelled (the reason names the column and value), or its own source flags the
            figure (:func:`~archsweep.validation.caveats.caveat_skip_reason`: the source's words).
    """
    if (caveat := caveat_skip_reason(row)) is not None:
        raise Skip(caveat)
    notes: list[str] = []
    metric, measured = measured_of(row)
    name = cell_text(row, "accelerator_canonical") or cell_text(row, "accelerator")
    if not name:
        raise Skip("accelerator_canonical and accelerator empty")
    try:
        entry = get_accelerator(name, catalog)
    except InputError:
        raise Skip(f"accelerator {name!r} not in the hardware catalog") from None
    wl = workload_of(row, metric, notes)
    count, strategies, baseline, mapping = mapping_of(row, wl, metric, notes)
    # What the row leaves open is searched only over what its software stack can run.
    stack = row_parallelism(row)
    strategies = tuple(dict.fromkeys(s2 for s in strategies for s2 in stack.strategies(s)))
    inconsistent = consistency_skip_reason(row, wl, count) if metric not in MICROBATCH_METRICS else None
    if inconsistent:
        raise Skip(inconsistent)
    if metric in MICROBATCH_METRICS and cell_int(row, "global_batch_seqs") is None:
        mb, dp, pp = cell_int(row, "micro_batch") or 1, cell_int(row, "dp"), cell_int(row, "pp") or 1
        tp, cp = cell_int(row, "tp") or 1, cell_int(row, "cp") or 1
        dp = dp or max(count // (tp * pp * cp), 1)
        wl = replace(wl, training=replace(wl.training, global_batch_seqs=mb * dp * pp))
        notes.append("global_batch_seqs assumed micro_batch*dp*pp (figure of one micro-batch)")
    params = (cell_number(row, "params_B") or 0.0) * 1e9 or wl.total_params
    per_sample, factor_note = eval_schedule(row) if metric not in MICROBATCH_METRICS else (0.0, None)
    if factor_note:
        notes.append(factor_note)
    return RowPlan(run_id=cell_text(row, "run_id"), source_group=cell_text(row, "source_group"), accelerator=entry.name,
                   model=wl.name, entry=entry, workload=wl, count=count, strategies=strategies, baseline_strategy=baseline,
                   mapping=mapping, metric=metric, measured=measured, convention=flop_convention(row), params=params,
                   notes=tuple(notes), eval_per_train_sample=per_sample)


def _invalid_reason(plan: RowPlan, result: Mapping[str, np.ndarray]) -> str:
    get = lambda key: float(np.ravel(result[key])[0])  # noqa: E731 - local accessor
    tp, pp, cp, dp, mb = get("tp"), get("pp"), get("cp"), get("dp"), get("micro_batch")
    gb = plan.workload.training.global_batch_seqs
    if plan.mapping == "searched":
        return f"the model finds no valid mapping for {plan.count} accelerators and global batch {gb}"
    if tp * pp * cp * dp != plan.count:
        return f"no dp makes tp*pp*cp*dp = {plan.count} (tp={tp:g}, pp={pp:g}, cp={cp:g})"
    if gb % (dp * mb):
        return f"global batch {gb} not divisible by dp*micro_batch = {dp:g}*{mb:g}"
    return f"mapping rejected by the model ({plan.strategies[0]})"


def evaluate_plan(plan: RowPlan, strategy: str, cache: dict[tuple[Any, ...], dict[str, np.ndarray]], tech: Any,
              calibration: Calibration) -> dict[str, np.ndarray]:
    calibration = job_calibration(calibration, plan.entry, plan.workload.training)  # as eval and studies
    key = (plan.entry.name, plan.workload, plan.count, strategy, calibration)
    if key not in cache:
        hw = HardwareArrays.from_designs(plan.entry.design.replace(accelerator_count=plan.count))
        cache[key] = evaluate_design_batch(hw, plan.workload, tech=tech, strategy=strategy, calibration=calibration,
                                          infeasible="least_violating")
    result = cache[key]
    if plan.eval_per_train_sample > 0.0 and EVAL_SHARE not in result:  # MLPerf evaluation pauses (mlperf.py)
        hw = HardwareArrays.from_designs(plan.entry.design.replace(accelerator_count=plan.count))
        hw = replace(hw, clock_hz=np.asarray(np.ravel(result["clock_hz"])[:1], dtype=float))
        result[EVAL_SHARE] = np.asarray([eval_forward_share(plan.workload, result, hw, calibration)])
    return result


def _skipped(row: Mapping[str, str], reason: str, metric: str = "", measured: float = math.nan) -> RowResult:
    return RowResult(run_id=cell_text(row, "run_id"), metric=metric, measured=measured, predicted=math.nan,
                     error_pct=math.nan, status="skipped", reason=reason, mapping="-",
                     source_group=cell_text(row, "source_group"),
                     accelerator=cell_text(row, "accelerator_canonical") or cell_text(row, "accelerator"),
                     model=cell_text(row, "model"), notes="")


def _validate_one(row: Mapping[str, str], catalog: Mapping[str, CatalogEntry], tech: Any, calibration: Any,
                  cache: dict[tuple[Any, ...], dict[str, np.ndarray]]) -> RowResult:
    try:
        plan = plan_row(row, catalog)
    except Skip as skip:
        return _skipped(row, skip.reason)
    except ArchsweepError as exc:  # a models/ file that fails to load, etc.
        return _skipped(row, f"input error: {exc}")
    try:
        # the row's stated software: MoE CUDA-graph scope, EP all-to-all overlap, fused grouped MLP
        calibration = row_calibration(row, calibration, plan.workload.architecture)
        results = [evaluate_plan(plan, s, cache, tech, calibration) for s in plan.strategies]
        valid = [r for r in results if float(np.ravel(r["violation_mapping"])[0]) <= 0]
        if not valid:
            raise Skip(_invalid_reason(plan, results[0]))
        result = min(valid, key=lambda r: float(np.ravel(r["step_time_s"])[0]))
        baseline = None
        if plan.metric == "activation_memory_pct_of_baseline":
            baseline = evaluate_plan(plan, plan.baseline_strategy, cache, tech, calibration)
        extra: tuple[str, ...] = ()
        layer = measured_layer_times(row) if plan.metric == LAYER_METRIC else None
        if layer is not None:
            layer_predicted = predict_layer_times(plan, result, job_calibration(calibration, plan.entry,
                                                                                 plan.workload.training))
            predicted, extra = layer_predicted.total_s, (layer_notes(layer, layer_predicted),)
        else:
            predicted = predict_metric(plan, result, baseline)
        if plan.eval_per_train_sample > 0.0:
            extra = (*extra, f"evaluation adds {100.0 * (wallclock_factor(plan, result) - 1.0):.1f}% to the model's "
                             f"steady step (forward share {float(np.ravel(result[EVAL_SHARE])[0]):.3f})")
    except Skip as skip:
        return replace(_skipped(row, skip.reason, plan.metric, plan.measured), mapping=plan.mapping)
    except (ArchsweepError, ValueError, ArithmeticError, KeyError) as exc:
        return replace(_skipped(row, f"model error ({type(exc).__name__}): {exc}", plan.metric, plan.measured),
                       mapping=plan.mapping)
    reason = ""
    if plan.metric not in MEMORY_METRICS and float(np.ravel(result["violation_memory"])[0]) > 0:
        over = 100.0 * float(np.ravel(result["violation_memory"])[0])
        reason = f"model: memory exceeds HBM by {over:.0f}%"
    if not math.isfinite(predicted):
        return replace(_skipped(row, "model prediction is not finite", plan.metric, plan.measured), mapping=plan.mapping)
    chosen = ",".join(f"{k}={_fmt_mapping(result[k])}" for k in ("tp", "pp", "dp", "vpp", "micro_batch", "recompute",
                                                                  "zero_stage"))
    notes = "; ".join((*plan.notes, *extra, f"mapping {chosen}"))
    error = 100.0 * (predicted - plan.measured) / plan.measured
    return RowResult(run_id=plan.run_id, metric=plan.metric, measured=plan.measured, predicted=predicted,
                     error_pct=error, status="ok", reason=reason, mapping=plan.mapping, source_group=plan.source_group,
                     accelerator=plan.accelerator, model=plan.model, notes=notes)


def _fmt_mapping(value: np.ndarray) -> str:
    item = np.ravel(value)[0]
    return f"{item:g}" if isinstance(item, (float, np.floating)) else str(item)


def validate_rows(rows: Iterable[Mapping[str, str]], *, catalog: Mapping[str, CatalogEntry] | None = None,
                  tech: Any = None, calibration: Any = None) -> list[RowResult]:
    """Predict and compare every row; one :class:`RowResult` per row, in input order."""

    catalog = load_catalog() if catalog is None else catalog
    tech = load_technology() if tech is None else tech
    load_mlperf_eval_rules()  # a bad rules file is an input error here, not a skipped row per MLPerf row
    cache: dict[tuple[Any, ...], dict[str, np.ndarray]] = {}
    if calibration is not None:
        return [_validate_one(row, catalog, tech, calibration, cache) for row in rows]
    return [_validate_one(row, catalog, tech, load_calibration(stack=calibration_stack(row)), cache)
            for row in rows]


def validate_file(path: Path | str) -> list[RowResult]:
    """:func:`validate_rows` over :func:`read_measurements` of ``path``."""
    return validate_rows(read_measurements(path))
