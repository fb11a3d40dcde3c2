"""One what-if evaluation (``archsweep eval``): a workload on N catalog accelerators.

:func:`what_if` loads the workload (``models/<stem>.yaml``) and the catalog accelerator,
applies the overrides, and calls :func:`archsweep.model.driver.evaluate_design_batch` with
the given (or, for the keys left out, the best) mapping. The result is one flat dict of plain
Python values (ints for the mapping degrees, floats in SI units, None for NaN), the output
names of the model plus the inputs, ready for JSON or a table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from archsweep.load.catalog import get_accelerator
from archsweep.load.job_options import RECOMPUTE_KEY, job_fits_model, job_option_values
from archsweep.load.job_software import job_software
from archsweep.load.parameters import error
from archsweep.load.technology import load_technology
from archsweep.load.workloads import load_workload, parse_token_count
from archsweep.model.driver import evaluate_design_batch
from archsweep.model.training.communication import a2a_overlap_pairs
from archsweep.model.training.mapping import RECOMPUTE, MappingArrays, parse_strategy
from archsweep.spec.calibration import Calibration
from archsweep.spec.errors import InputError
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.job_option_table import JOB_OPTIONS
from archsweep.spec.strategy import MAX_ACCELERATOR_COUNT, strategy_problems
from archsweep.spec.training import PRECISIONS, TRAINING_MODES
from archsweep.spec.workload import Workload

__all__ = ["WorkloadOverrides", "apply_overrides", "what_if", "print_what_if", "INTEGER_COLUMNS"]

#: Output columns that are whole numbers (written as ints).
INTEGER_COLUMNS: tuple[str, ...] = ("tp", "pp", "dp", "cp", "ep", "vpp", "micro_batch", "zero_stage", "microbatches",
                                    "accelerator_count", "global_batch_seqs", "seq_len", "dies_per_package")


@dataclass(frozen=True)
class WorkloadOverrides:
    """Changes to the workload's training job (None keeps the model file's default job value).

    Attributes:
        global_batch_seqs: sequences per optimizer step.
        seq_len: tokens per sequence (the batch stays in sequences).
        precision: "bf16", "fp16" or "fp8".
        mode: "pretrain", "finetune_full" or "finetune_lora".
        lora_rank: LoRA rank (> 0 exactly when the resulting mode is finetune_lora; kept from the
            file while the mode stays finetune_lora).
        total_tokens: tokens of the whole run (time-to-train), e.g. "300B".
        low_precision_recipe .. pipeline_layout: the job options, one field each
            (:data:`archsweep.spec.job_option_table.JOB_OPTIONS`: meaning, allowed values and flag per row; a test
            holds these fields equal to the table's names); ``recompute_modules`` also as one comma-separated
            string (``--recompute-modules``).
    """

    global_batch_seqs: int | None = None
    seq_len: int | None = None
    precision: str | None = None
    mode: str | None = None
    lora_rank: int | None = None
    total_tokens: str | None = None
    low_precision_recipe: str | None = None
    fp8_params: bool | None = None
    activation_offload_layers: int | None = None
    recompute_modules: str | tuple[str, ...] | None = None
    recompute_method: str | None = None
    recompute_num_layers: int | None = None
    activation_fp8_input_store: bool | None = None
    lora_dropout_recompute: bool | None = None
    param_gather_overlap: bool | None = None
    moe_a2a_overlap: bool | None = None
    embedding_loss_in_pipeline_split: bool | None = None
    fp8_dot_product_attention: bool | None = None
    pipeline_layout: str | None = None
    tp_overlap_disable_qkv: bool | None = None
    tp_overlap_rs_dgrad: bool | None = None
    cp_comm_type: str | None = None
    cp_a2a_size: int | None = None
    optimizer: str | None = None


#: The command-line flag (``archsweep eval``) of each job option (:data:`archsweep.spec.job_option_table.JOB_OPTIONS`);
#: each option is also the :class:`WorkloadOverrides` field that carries it (:func:`apply_overrides` reads them by
#: this table).
_FLAGS = {option.name: option.flag for option in JOB_OPTIONS}


def apply_overrides(workload: Workload, overrides: WorkloadOverrides, *, source: str = "<command line>") -> Workload:
    """``workload`` with the overrides applied to its training job.

    Raises:
        InputError: a non-positive batch or sequence length, an unknown precision or mode, a LoRA
            rank that does not match the mode, or a malformed token count; and, named by flag
            (:data:`_FLAGS`), the problems of the low-precision / recompute / FP8-activation options
            (``archsweep.load.job_options``): --recipe or --fp8-params without precision fp8, an unknown
            --recipe, a --fp8-params or --fp8-act that is not true/false, a negative --offload-layers, an
            empty, unknown or repeated --recompute-modules entry, --fp8-act on a non-SwiGLU MLP, --fp8-dpa without
            precision fp8, a --pipeline-layout that does not parse or comes with --pp-split-embedding-loss; a
            --pipeline-layout that does not fit the model's layers (the workload's check).
        InputErrors: several of the option problems at once (all of them reported together).
    """
    training = workload.training
    for flag, value in (("--global-batch", overrides.global_batch_seqs), ("--seq-len", overrides.seq_len)):
        if value is not None and value < 1:
            raise InputError(source, flag, value, "a positive integer")
    if overrides.global_batch_seqs is not None:
        training = replace(training, global_batch_seqs=int(overrides.global_batch_seqs))
    if overrides.seq_len is not None:
        training = replace(training, seq_len=int(overrides.seq_len))
    precision = training.precision  # set together with the job options below: an FP8-only option the model file
    if overrides.precision is not None:  # keeps is dropped for another precision (as in a study entry), not refused
        if overrides.precision.lower() not in PRECISIONS:
            raise InputError(source, "--precision", overrides.precision, "one of " + ", ".join(PRECISIONS))
        precision = overrides.precision.lower()  # type: ignore[assignment]
    if overrides.mode is not None:
        if overrides.mode not in TRAINING_MODES:
            raise InputError(source, "--mode", overrides.mode, "one of " + ", ".join(TRAINING_MODES))
        rank = training.lora_rank if training.mode == "finetune_lora" == overrides.mode else 0
        training = replace(training, mode=overrides.mode, lora_rank=rank)  # type: ignore[arg-type]
    if overrides.lora_rank is not None:
        training = replace(training, lora_rank=int(overrides.lora_rank))
    if training.mode == "finetune_lora" and training.lora_rank <= 0:
        raise InputError(source, "--lora-rank", overrides.lora_rank if overrides.lora_rank is not None else "<missing>",
                         "a rank > 0 with mode finetune_lora")
    if training.mode != "finetune_lora" and training.lora_rank != 0:
        raise InputError(source, "--lora-rank", training.lora_rank, f"0 or absent unless --mode finetune_lora (mode {training.mode})")
    # The job options (archsweep.spec.job_option_table): the checks of a study entry's training keys
    # (load.job_options.job_option_values, then job_fits_model), named by flag.
    modules = overrides.recompute_modules
    if isinstance(modules, str):  # "core_attn,layernorm" (an empty string is the empty list)
        modules = tuple(m.strip() for m in modules.split(",")) if modules.strip() else ()
    given = {k: modules if k == RECOMPUTE_KEY else getattr(overrides, k) for k in _FLAGS}
    raw = {k: v for k, v in given.items() if v is not None}
    problems: list[InputError] = []
    options = job_option_values(raw, training, precision, workload.architecture.ffn_type, source, "", problems, _FLAGS)
    if problems:
        raise error([e.problem for e in problems])
    training = replace(training, precision=precision, **options)
    arch = workload.architecture
    problems = job_fits_model(training, arch.layers, arch.mtp_num_layers, arch.moe is not None, workload.name, source,
                              "", _FLAGS)
    if problems:
        raise error([e.problem for e in problems])
    if overrides.total_tokens is not None:
        total = parse_token_count(overrides.total_tokens, file=source, key_path="--total-tokens")
        training = replace(training, total_tokens=total)
    return replace(workload, training=training)


def _plain(name: str, value: Any) -> Any:
    item = np.ravel(value)[0] if isinstance(value, np.ndarray) else value
    if isinstance(item, (bool, np.bool_)):
        return bool(item)
    if isinstance(item, (int, np.integer)):
        return int(item)
    if isinstance(item, (float, np.floating)):
        number = float(item)
        if not math.isfinite(number):
            return None
        return int(round(number)) if name in INTEGER_COLUMNS else number
    return str(item)


def what_if(model: str, accelerator: str, count: int | None = None, strategy: str | None = None,
            overrides: WorkloadOverrides | None = None, *, objective: str = "step_time_s",
            software: str = "megatron-core", exhaustive: bool = False) -> dict[str, Any]:
    """Evaluate ``model`` on ``count`` accelerators of the catalog type ``accelerator``.

    Args:
        model: workload stem of ``models/`` (``"llama3-405b"``) or a YAML path.
        accelerator: catalog name or alias (``"H100-SXM"``, ``"H100"``).
        count: number of accelerators (default: the catalog entry's ``accelerator_count``).
        strategy: fixed mapping text (``"tp=8,pp=16,mb=1"``); keys left out are searched.
        overrides: training-setup overrides.
        objective: what the mapping search minimises.
        software: software stack whose kernel efficiencies apply.
        exhaustive: evaluate every mapping (the reference search) instead of the exact pruned
            search; the result is the same.

    Returns:
        flat dict: ``model``, ``accelerator``, ``accelerator_count``, ``global_batch_seqs``,
        ``seq_len``, ``precision``, ``low_precision_recipe``, ``fp8_params``, ``recompute_modules`` (comma-joined), ``mapping_source`` ("given", "partial" or "searched"),
        then every output column of the model (SI units).

    Raises:
        InputError: unknown model or accelerator, bad count, strategy or override, or a
            given strategy that no valid mapping satisfies (e.g. tp*pp does not divide count).
    """
    entry = get_accelerator(accelerator)
    workload = apply_overrides(load_workload(model), overrides or WorkloadOverrides())
    n = entry.design.accelerator_count if count is None else count
    if int(n) != n or n < 1 or n > MAX_ACCELERATOR_COUNT:
        raise InputError("<command line>", "--count", count, f"an integer from 1 to {MAX_ACCELERATOR_COUNT:,} (MAX_ACCELERATOR_COUNT)")
    fixed = parse_strategy(strategy) if strategy else {}
    for key, value, allowed in strategy_problems(fixed, workload):
        raise InputError("--strategy", key, f"{key}={value}", allowed)

    hw = HardwareArrays.from_designs(entry.design.replace(accelerator_count=int(n)))
    # The part's measured rates and the job's recipe, as validation applies them (one path).
    calibration, parallelism = job_software(software, entry, workload.training)
    result = evaluate_design_batch(hw, workload, tech=load_technology(), strategy=strategy or None, objective=objective,
                                   calibration=calibration, exhaustive=exhaustive, parallelism=parallelism)
    if strategy and float(np.ravel(result["violation_mapping"])[0]) > 0:
        raise InputError("--strategy", "", strategy,
                         f"a mapping valid for {int(n)} accelerators and global batch "
                         f"{workload.training.global_batch_seqs}: tp*pp*cp*dp = count and global batch divisible "
                         "by dp*micro_batch")
    searched = {"tp", "pp", "cp", "micro_batch", "recompute", "zero_stage"} - set(fixed)
    source = "searched" if not fixed else ("partial" if searched else "given")
    out: dict[str, Any] = {
        "model": workload.name, "accelerator": entry.name, "accelerator_count": int(n),
        "global_batch_seqs": workload.training.global_batch_seqs, "seq_len": workload.seq_len,
        "precision": workload.training.precision, "low_precision_recipe": workload.training.low_precision_recipe,
        "fp8_params": workload.training.fp8_params, "recompute_modules": ",".join(workload.training.recompute_modules),
        "activation_fp8_input_store": workload.training.activation_fp8_input_store,
        "lora_dropout_recompute": workload.training.lora_dropout_recompute,
        "param_gather_overlap": workload.training.param_gather_overlap,
        "moe_a2a_overlap": workload.training.moe_a2a_overlap,
        "embedding_loss_in_pipeline_split": workload.training.embedding_loss_in_pipeline_split,
        "fp8_dot_product_attention": workload.training.fp8_dot_product_attention,
        "pipeline_layout": workload.training.pipeline_layout,
        "tp_overlap_disable_qkv": workload.training.tp_overlap_disable_qkv,
        "tp_overlap_rs_dgrad": workload.training.tp_overlap_rs_dgrad,
        "cp_comm_type": workload.training.cp_comm_type,
        "cp_a2a_size": workload.training.cp_a2a_size,
        "optimizer": workload.training.optimizer,
        "mapping_source": source,
    }
    out.update({name: _plain(name, value) for name, value in result.items()})
    if workload.moe is not None:
        out["moe_a2a_overlap_paired"], note = _a2a_overlap_outcome(workload, calibration, out, software)
        if note:
            out["moe_a2a_overlap_note"] = note
    return out


def _a2a_overlap_outcome(workload: Any, calibration: Calibration, out: dict[str, Any], software: str) -> tuple[bool, str]:
    """Whether the evaluated mapping of a MoE ``workload`` pairs micro-batches under the EP all-to-all overlap
    (:func:`~archsweep.model.training.communication.a2a_overlap_pairs`), and, where the job asks for it and it
    does not, a sentence saying why ("" otherwise)."""
    if out.get("pp") is None or not isinstance(out.get("recompute"), str):
        return False, ""
    mapping = MappingArrays(**{f.name: np.array([float(RECOMPUTE.index(out[f.name]) if f.name == "recompute"
                                                       else out[f.name])]) for f in fields(MappingArrays)})
    paired = bool(a2a_overlap_pairs(workload, mapping, calibration)[0])
    if paired or not workload.training.moe_a2a_overlap:
        return paired, ""
    if calibration.moe_a2a_overlap <= 0:
        return False, f"moe_a2a_overlap asked, but the software stack {software} does not offer it: all-to-alls exposed"
    return False, (f"moe_a2a_overlap asked, but the mapping (pp={out['pp']}, vpp={out['vpp']}, ep={out['ep']}, "
                   f"recompute={out['recompute']}) does not pair micro-batches: Megatron-Core runs the combined 1F1B "
                   "schedule only at pp = 1 or with vpp > 1, with ep > 1 and without full recompute; all-to-alls exposed")


def _row(label: str, value: Any, unit: str = "", scale: float = 1.0) -> tuple[str, str]:
    if value is None:
        return label, "-"
    if isinstance(value, bool) or isinstance(value, str) or isinstance(value, int):
        return label, str(value)
    return label, f"{value / scale:,.4g}{(' ' + unit) if unit else ''}"


def print_what_if(result: dict[str, Any], console: Any = None) -> None:
    """Print ``result`` of :func:`what_if` as rich tables (mapping, step time, memory, PPA)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    step = result.get("step_time_s") or float("nan")
    console.print(f"[bold]{result['model']}[/bold] on {result['accelerator_count']} x {result['accelerator']}: "
                  f"global batch {result['global_batch_seqs']} x {result['seq_len']} tokens, {result['precision']}"
                  + (f" ({result['low_precision_recipe']} scaling{', FP8 weights' if result.get('fp8_params') else ''})"
                     if result["precision"] == "fp8" else ""))
    sections: list[tuple[str, list[tuple[str, str]]]] = [
        ("mapping", [_row(k, result.get(k)) for k in ("mapping_source", "tp", "pp", "dp", "cp", "ep", "vpp", "micro_batch",
                                           "microbatches", "recompute", "recompute_modules", "zero_stage", "sequence_parallel",
                                           "flash_attention", "tp_overlap", "dp_overlap")]),
        ("step time", [(k, f"{result[k]:.4g} s ({100 * result[k] / step:.1f}%)") if result.get(k) is not None
                       else (k, "-") for k in ("step_time_s", "compute_time_s", "recompute_time_s", "bubble_time_s",
                                               "tp_comm_exposed_s", "cp_comm_exposed_s", "ep_comm_exposed_s",
                                               "pp_comm_exposed_s", "dp_comm_exposed_s", "optimizer_time_s")]
         + [_row("tokens_per_s", result.get("tokens_per_s")), _row("mfu", result.get("mfu")),
            _row("hfu", result.get("hfu"))]),
        ("memory per accelerator", [_row(k, result.get(k), "GiB", 2**30) for k in (
            "memory_per_accelerator_bytes", "memory_weights_bytes", "memory_gradients_bytes", "memory_optimizer_bytes",
            "memory_activations_bytes", "memory_recompute_working_bytes", "memory_delayed_wgrad_bytes",
            "memory_moe_combine_grad_bytes", "memory_reserved_bytes", "hbm_capacity_bytes")]
         + [_row("feasible", result.get("feasible"))]
         + [_row(k, result.get(k)) for k in sorted(result) if k.startswith("violation_")]),
    ]
    ppa_keys = ("power_w", "tdp_w", "clock_hz", "die_area_mm2", "accelerator_cost_usd", "system_capex_usd",
                "system_power_w", "tco_usd_per_year", "usd_per_million_tokens", "energy_per_token_j",
                "time_to_train_s", "goodput")
    ppa = [_row(k, result[k]) for k in ppa_keys if k in result]
    if ppa:
        sections.append(("power, area, cost", ppa))
    if result.get("moe_a2a_overlap_note"):
        console.print(f"note: {result['moe_a2a_overlap_note']}")
    for title, rows in sections:
        table = Table("output", "value", title=title, title_justify="left")
        for label, text in rows:
            table.add_row(label, text)
        console.print(table)
