"""A published row -> the mapping it ran (stated, derived or the recipe default). The row's workload is
:mod:`archsweep.validation.row_workload`'s, its software stack :mod:`archsweep.validation.row_stack`'s
(:func:`calibration_stack` is re-exported here); :func:`row_calibration` applies the row's stated software to a
calibration, the one step validate, the optimism search and the same-silicon ceiling share."""

from __future__ import annotations

import re
from collections.abc import Mapping

from archsweep.load.stack_parallelism import load_stack_parallelism
from archsweep.spec.architecture import Architecture
from archsweep.spec.calibration import Calibration
from archsweep.spec.workload import Workload
from archsweep.validation.cells import (
    cell_int,
    cell_text,
    cell_yes_no,
    cell_zero_stage,
    ds_overlap_comm,
    offload_layers,
    recompute_modules_of,
    states_fused_adam,
)
from archsweep.validation.dispatcher_sms import dispatcher_sms_calibration
from archsweep.validation.fused_mlp import fused_grouped_mlp_calibration
from archsweep.validation.moe_graphs import graph_scope_calibration
from archsweep.validation.row_stack import calibration_stack, stack_of
from archsweep.validation.types import MICROBATCH_METRICS, MappingSource, Skip

__all__ = ["calibration_stack", "mapping_of", "row_calibration"]


def row_calibration(row: Mapping[str, str], calibration: Calibration, architecture: Architecture | None) -> Calibration:
    """``calibration`` (the row's stack's) with the software the row states: its MoE CUDA-graph scope and EP
    all-to-all overlap (:func:`~archsweep.validation.moe_graphs.graph_scope_calibration`, for the trained
    ``architecture``), then TransformerEngine's fused grouped MLP
    (:func:`~archsweep.validation.fused_mlp.fused_grouped_mlp_calibration`), and the SMs its flex dispatcher's
    overlapped all-to-alls hold (:func:`~archsweep.validation.dispatcher_sms.dispatcher_sms_calibration`). Raises
    ``Skip`` on a cell that is not yes / no."""
    return dispatcher_sms_calibration(
        row, fused_grouped_mlp_calibration(row, graph_scope_calibration(row, calibration, architecture)))


def _recompute(row: Mapping[str, str]) -> str | None:
    raw = cell_text(row, "act_recompute")
    text = raw.lower()
    if not text:
        # Megatron-Core refuses recomputation with CPU offloading (NVIDIA/Megatron-LM @d98e8a6
        # megatron/core/transformer/transformer_config.py: "CPU offloading does not work when activation
        # recomputation is enabled"): a row that offloads runs without recompute.
        # A preset's recompute_modules run selective recompute (cells.recompute_modules_of).
        return "none" if offload_layers(row) > 0 else ("selective" if recompute_modules_of(row) else None)
    if re.search(r"\bfull\b", text) or "with recompute" in text:
        return "full"
    if "selective" in text:
        return "selective"
    if re.search(r"\b(none|no|off|false|without)\b", text) or text in ("sequence parallelism",):
        return "none"
    raise Skip(f"act_recompute={raw!r} not understood; allowed: text naming none, selective or full")


def _sequence_parallel(row: Mapping[str, str]) -> bool | None:
    if (stated := cell_yes_no(row, "sp")) is not None:
        return stated
    text = cell_text(row, "act_recompute").lower()
    if "no sp" in text:
        return False
    if "sequence parallel" in text or "+ sequence" in text:
        return True
    return None


def _vpp(row: Mapping[str, str]) -> int | str | None:
    """vpp as an integer, ``"interleaved"`` (chunks not stated: > 1) or None (not stated)."""
    raw = cell_text(row, "vpp")
    if "interleav" in raw.lower():
        return "interleaved"
    return cell_int(row, "vpp")


def _stack_without_cp(row: Mapping[str, str]) -> bool:
    """Whether the row's software stack has no context parallelism: ``parallelism.cp`` of its
    :func:`calibration_stack` in data/calibration/software_stacks.yaml allows 1 only (e.g. Megatron-LM of 2021-22,
    before --context-parallel-size; llm-foundry's FSDP), so an unstated cp is 1."""
    return load_stack_parallelism(calibration_stack(row)).values("cp") == (1,)


def _interleaved_choices(layers: int, pp: int | None) -> list[int | None]:
    """vpp values > 1 that give every virtual stage whole layers (None: let the model search)."""
    if pp is None:
        return [None]
    if pp == 1:
        return [1]
    choices = [v for v in range(2, layers // pp + 1) if layers % (pp * v) == 0]
    return choices or [1]


def mapping_of(row: Mapping[str, str], wl: Workload, metric: str,
             notes: list[str]) -> tuple[int, tuple[str, ...], str, MappingSource]:
    """(accelerator count, candidate strategy texts, no-recompute/no-SP baseline strategy, mapping flag).

    Several candidates only where the row says "interleaved" without the chunk count: every
    vpp > 1 that divides the stage's layers is tried and the fastest kept.
    """
    tp, pp, dp, mb = cell_int(row, "tp"), cell_int(row, "pp"), cell_int(row, "dp"), cell_int(row, "micro_batch")
    cp, ep, vpp_raw = cell_int(row, "cp"), cell_int(row, "ep"), _vpp(row)
    vpp_choices: list[int | None] = (_interleaved_choices(wl.layers, pp) if vpp_raw == "interleaved"
                                     else [vpp_raw if isinstance(vpp_raw, int) else None])
    vpp = vpp_choices[0]
    recompute, sp, zero = _recompute(row), _sequence_parallel(row), cell_zero_stage(row)
    count = cell_int(row, "num_accels")
    stack = stack_of(row)
    if cp is None and (None not in (tp, pp, dp) or metric in MICROBATCH_METRICS or _stack_without_cp(row)):
        cp = 1
    if ep is None and wl.moe is None:
        ep = 1
    cp_n = 1 if cp is None else cp  # an unstated cp that is searched counts as 1 where the row's degrees must multiply up
    if count is None:
        if None in (tp, pp, dp):
            raise Skip("num_accels missing and tp/pp/dp do not give it")
        count = tp * pp * cp_n * dp
        notes.append("num_accels = tp*pp*cp*dp")
    if tp is not None and pp is not None and dp is not None and tp * pp * cp_n * dp != count:
        raise Skip(f"tp*pp*cp*dp = {tp}*{pp}*{cp_n}*{dp} = {tp * pp * cp_n * dp} != num_accels {count}")
    if metric in MICROBATCH_METRICS:
        # Memory and per-layer figures are per micro-batch in flight: an unstated batch or vpp is irrelevant.
        if tp is not None and pp is not None and dp is None and count % (tp * pp * cp_n) == 0:
            dp = count // (tp * pp * cp_n)
        if vpp is None:
            vpp = 1
    fa = stack != "megatron-2021"
    dp_overlap: bool | None = None
    tp_overlap: bool | None = None
    if stack == "megatron-2021":
        zero = 0 if zero is None else zero
        sp = False if sp is None else sp  # SP appeared with Korthikanti'22, whose rows state it
        dp_overlap = zero >= 1  # local DDP: all-reduce after backward; DeepSpeed ZeRO overlaps
    elif stack == "llm-foundry":
        dp_overlap = True
        if zero is None:
            zero = 3
    elif stack == "nemo":
        # NeMo 2.0 / Megatron-Bridge recipe defaults where a row does not state them (param_gather_overlap: cell
        # of its own): SP with TP, gradient reduce-scatter and parameter all-gather overlapped with the backward /
        # forward, TP comm overlapped with the GEMMs (TE userbuffers) in the perf recipes (NVIDIA/NeMo
        # nemo/collections/llm/recipes/llama3_70b.py @0189a3b: trainer(sequence_parallelism=True, ddp overlap_grad_reduce=True,
        # overlap_param_gather=True); pretrain_recipe_performance: MegatronCommOverlapCallback(
        # tp_comm_overlap=True, tp_comm_overlap_cfg=userbuffers_bf16_h100_h8192_tp4_mbs1_seqlen8192)).
        sp = True if sp is None else sp
        dp_overlap = True
        tp_overlap = True
    if (stated_overlap := cell_yes_no(row, "tp_comm_overlap")) is not None:  # a launch config's TP_COMM_OVERLAP
        tp_overlap = stated_overlap
    dp_overlap = stated if (stated := ds_overlap_comm(row)) is not None else dp_overlap  # DeepSpeed overlap_comm
    if tp == 1:
        sp = False
    if states_fused_adam(row) and (sp or (pp or 1) > 1):
        # NeMo 1.x without the distributed optimizer all-reduces the gradients after the whole backward, on the
        # compute stream: with SP or PP > 1 it turns the async (per-chunk, during the backward) all-reduce off
        # (NVIDIA/NeMo v2.0.0.rc0.beta, megatron_base_model.py configure_optimizers: async_grad_allreduce only
        # with pp 1 and no sequence_parallel / gradient_accumulation_fusion), and training_step calls
        # MainParamsOptimizerWrapper.allreduce_main_grads (one synchronous torch.distributed.all_reduce of the
        # contiguous FP32 grad buffer, optimizer_with_main_params.py GradBucket.allreduce_buffer) after fwd_bwd_step
        # (megatron_gpt_model.py training_step). That is the megatron_amp_O2 path the rows run (NVIDIA v4.0
        # llama2_70b_lora nemo/conf/base/model_config.yaml L53 megatron_amp_O2: true); without O2 NeMo calls
        # allreduce_gradients() after the backward whatever SP / PP (s21-N review). The optimism search keeps the
        # row's dp_overlap (optimism._STACK_KEYS) for every searched tp / pp / sp.
        dp_overlap = False
    if sp is False and tp_overlap:
        # No TP overlap without sequence parallelism: Megatron-LM asserts it (megatron/training/arguments.py
        # L1441-1442 @d98e8a64dd), NeMo 1.x turns ub_tp_comm_overlap off with a message (megatron_base_model.py
        # @r2.0.0rc1 L998-1013); the mapping enumeration refuses a fixed overlap with sp off.
        tp_overlap = False
    if pp == 1 and vpp is None:
        vpp = 1
    fixed: dict[str, object] = {"tp": tp, "pp": pp, "cp": cp, "ep": ep, "vpp": vpp, "mb": mb, "recompute": recompute,
                                "zero": zero, "sp": sp, "fa": fa, "dp_overlap": dp_overlap}
    if tp_overlap is not None and (tp is None or tp > 1):
        fixed["tp_overlap"] = tp_overlap
    if dp is not None and (tp is None or pp is None):
        fixed["dp"] = dp
    text = lambda values: ",".join(f"{k}={_flag(v)}" for k, v in values.items() if v is not None)  # noqa: E731
    vpp_choices = vpp_choices if len(vpp_choices) > 1 else [vpp]
    strategies = tuple(text({**fixed, "vpp": v}) for v in vpp_choices)
    if len(vpp_choices) > 1:
        notes.append("vpp tried: " + ", ".join(str(v) for v in vpp_choices))
    baseline = text({**fixed, "recompute": "none", "sp": False, **({"tp_overlap": False} if "tp_overlap" in fixed else {})})
    core = (tp, pp, dp, mb, recompute)
    searched = [k for k, v in fixed.items() if v is None and not (k == "ep" and wl.moe is None)]
    searched += ["vpp"] if len(vpp_choices) > 1 else []
    if all(v is None for v in core):
        source: MappingSource = "searched"
    elif searched:
        source = "partial"
        notes.append("searched: " + ", ".join(searched))
    else:
        source = "given"
    notes.append(f"stack {stack}")
    return count, strategies, baseline, source


def _flag(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)
