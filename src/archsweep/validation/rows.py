"""A published row -> the workload and the mapping it ran (stated, derived or the recipe default)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Literal

from archsweep.load.workloads import list_workloads, load_architecture
from archsweep.spec.architecture import Architecture
from archsweep.spec.training import TrainingJob
from archsweep.spec.workload import Workload
from archsweep.validation.cells import _int, _text, _yes_no, ds_overlap_comm, offload_layers, recompute_modules_of
from archsweep.validation.lora_recipe import apply_lora_recipe
from archsweep.validation.mlperf import transpose_cached
from archsweep.validation.precision import is_fp8, precision_of, recipe_of
from archsweep.validation.types import (
    _MICROBATCH_METRICS,
    _SWIGLU_FAMILIES,
    _TIED_FAMILIES,
    Skip,
)

Status = Literal["ok", "skipped"]
MappingSource = Literal["given", "partial", "searched", "-"]
#: ``megatron``: Narayanan SC21 Eq. 3 / Korthikanti App. A (hardware FLOPs include the
#: recomputation, model FLOPs 72 B s l h^2 (1 + s/6h + V/12lh), peak 312 TFLOP/s on A100);
#: ``mosaicml``: llm-foundry benchmark README (6 N + 12 l s h per token with N = the row's
#: parameter count; HFU = 4/3 MFU with activation checkpointing; peaks 312/989/1979 TFLOP/s);
#: ``archsweep``: the model's own MFU/HFU (PaLM App. B convention).
FlopConvention = Literal["megatron", "mosaicml", "archsweep"]

#: Columns of ``--output`` (in this order), then :data:`EXTRA_COLUMNS`.


# ---------------------------------------------------------------------------------------
# row -> workload
# ---------------------------------------------------------------------------------------

def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


#: Training-mode suffixes of a model string (data/validation/COVERAGE_NOTES.md, "Proposed name
#: resolution"): they name how the model was trained, not a different model.
_MODE_WORDS = re.compile(r"\b(lora(\s*fine-?tune)?|sft|fine-?tune|pre-?train(ing)?)\b", re.IGNORECASE)
#: Family spellings -> the models/ family prefix (normalised text, longest first). Llama 3.1 / 3.3
#: have the Llama 3 architecture; Megatron papers' "GPT <size>" is the GPT-3 / Megatron family;
#: NVIDIA's "Nemotron-8B/22B" are Nemotron-3, "Nemotron-15B/340B" Nemotron-4 (COVERAGE_NOTES.md).
_FAMILY_ALIASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("llama33", ("llama3",)), ("llama31", ("llama3",)), ("deepseekr1", ("deepseekv3",)),
    ("nemotron", ("nemotron3", "nemotron4", "nemotron")), ("gpt3", ("gpt3", "megatron")), ("gpt", ("gpt3", "megatron")),
)


def _stem_keys(model: str) -> list[str]:
    """Normalised candidate keys of a model string, most literal first."""
    inside = re.findall(r"\(([^)]*)\)", model)
    outside = re.sub(r"\([^)]*\)", " ", model)
    keys: list[str] = []
    for text in (model, outside, *inside):
        base = _norm(_MODE_WORDS.sub(" ", text))
        keys.append(base)
        for prefix, replacements in _FAMILY_ALIASES:
            if base.startswith(prefix) and re.match(r"\d", base[len(prefix):] or "x") or (
                    base.startswith(prefix) and prefix in ("llama33", "llama31", "deepseekr1")):
                keys.extend(r + base[len(prefix):] for r in replacements)
                break
    return [k for k in dict.fromkeys(keys) if k]


def _stem_for(model: str) -> str | None:
    """The models/ stem a CSV model string names (rules, not a per-row table), or None.

    Mode suffixes (LoRA, SFT) and parentheses are dropped, then family spellings are mapped
    (:data:`_FAMILY_ALIASES`); "DeepSeek-R1-0528" -> the DeepSeek-V3 architecture. A size that
    is no stem ("GPT-174.6B") stays unresolved: such rows carry their own architecture columns.
    """
    stems = {_norm(s): s for s in list_workloads()}
    for key in _stem_keys(model):
        if key in stems:
            return stems[key]
        # DeepSeek-R1-0528: a release date after the family name.
        trimmed = re.sub(r"\d{4}$", "", key)
        if trimmed != key and trimmed in stems:
            return stems[trimmed]
    return None


def _training_mode(row: Mapping[str, str]) -> tuple[str, int]:
    """(mode, LoRA rank) from the row's model / arch_type text.

    LoRA rank: the row's "rank N" when stated, else 16 (the MLPerf llama2_70b_lora reference,
    data/validation/SOURCE.md; NeMo's LoRA recipes use rank 16 to 32: adapters are < 0.3 % of a
    7B model's weights at either rank, so the choice moves the step time by < 1 %).
    """
    text = " ".join(_text(row, k) for k in ("model", "arch_type", "run_id")).lower()
    if "lora" in text:
        rank = re.search(r"rank\s*=?\s*(\d+)", text)
        return "finetune_lora", int(rank.group(1)) if rank else 16
    if re.search(r"\bsft\b|fine-?tun", text):
        return "finetune_full", 0
    return "pretrain", 0


def _ffn_type(row: Mapping[str, str], model: str, hidden: int, ffn: int, base: Architecture | None) -> Literal["gelu", "swiglu"]:
    text = (_text(row, "arch_type") + " " + model).lower()
    if "swiglu" in text or "geglu" in text:
        return "swiglu"
    if "gelu" in text:
        return "gelu"
    if base is not None:
        return base.ffn_type
    llama_like = any(f in text for f in _SWIGLU_FAMILIES)
    return "swiglu" if llama_like and ffn != 4 * hidden else "gelu"


def _workload(row: Mapping[str, str], metric: str, notes: list[str]) -> Workload:
    model = _text(row, "model") or _text(row, "run_id")
    stem = _stem_for(model)
    base = load_architecture(stem) if stem else None
    if base is not None:
        notes.append(f"base workload models/{stem}.yaml")
    arch = _text(row, "arch_type").lower()
    if base is None and ("moe" in arch or "mixture" in arch or "mla" in arch):
        raise Skip(f"arch_type {_text(row, 'arch_type')!r}: MoE/MLA details (experts, top-k) are not CSV columns "
                   "and no models/ file matches the model name")

    def pick(key: str, default: int | None) -> int:
        try:
            value = _int(row, key)
        except Skip:
            if base is None:
                raise
            # "expert 2880", "dense 18432 / expert 2048": MoE details come from the models/ file.
            notes.append(f"{key}={_text(row, key)!r}: models/{stem}.yaml value used")
            value = None
        if value is not None:
            return value
        if default is None:
            raise Skip(f"{key} missing (needed to build the workload)")
        return default

    layers = pick("layers", base.layers if base else None)
    hidden = pick("hidden", base.hidden if base else None)
    heads = pick("heads", base.heads if base else None)
    kv_heads = pick("kv_heads", base.kv_heads if base else heads)
    if heads % kv_heads != 0:
        raise Skip(f"heads={heads} not a multiple of kv_heads={kv_heads}")
    if base is not None and hidden == base.hidden and heads == base.heads:
        head_dim = base.head_dim
    elif hidden % heads == 0:
        head_dim = hidden // heads
    else:
        raise Skip(f"hidden={hidden} not a multiple of heads={heads}")
    if base is None and _int(row, "ffn_hidden") is None:
        notes.append("ffn_hidden assumed 4*hidden")
    ffn = pick("ffn_hidden", base.ffn_hidden if base else 4 * hidden)
    if _int(row, "vocab") is None and base is None:
        notes.append("vocab assumed 51200 (Megatron GPT, SC21 Sec. 5.1)")
    vocab = pick("vocab", base.vocab if base else 51200)
    seq_len = pick("seq_len", None)
    gbs = _int(row, "global_batch_seqs")
    if gbs is None and metric not in _MICROBATCH_METRICS:
        raise Skip("global_batch_seqs missing (needed for a throughput metric)")
    ffn_type = _ffn_type(row, model, hidden, ffn, base)
    family = model.lower()
    tied = base.tied_embeddings if base else any(f in family for f in _TIED_FAMILIES)
    attention = "mha" if kv_heads == heads else ("mqa" if kv_heads == 1 else "gqa")
    if base is not None and base.attention == "mla":
        attention = "mla"
    mode, rank = _training_mode(row)
    if mode != "pretrain":
        notes.append(f"mode {mode}" + (f" (rank {rank})" if rank else ""))
    training = TrainingJob(global_batch_seqs=gbs or 1, seq_len=seq_len, precision=precision_of(row), mode=mode, lora_rank=rank,  # type: ignore[arg-type]
                           low_precision_recipe=recipe_of(row), activation_offload_layers=offload_layers(row),
                           fp8_params=bool(_yes_no(row, "fp8_params")), activation_fp8_input_store=bool(_yes_no(row, "fp8_act")),
                           fp8_weight_transpose_cached=transpose_cached(row),
                           param_gather_overlap=_yes_no(row, "param_gather_overlap") is not False,
                           recompute_modules=recompute_modules_of(row) or ("core_attn",))
    training = apply_lora_recipe(training, row, notes)
    position = "alibi" if "alibi" in arch else (base.position_encoding if base is not None else "learned")
    if base is not None:
        architecture = replace(base, name=model, layers=layers, hidden=hidden, heads=heads, kv_heads=kv_heads,
                               head_dim=head_dim, ffn_hidden=ffn, ffn_type=ffn_type, vocab=vocab, attention=attention,
                               position_encoding=position)
    else:
        architecture = Architecture(name=model, layers=layers, hidden=hidden, heads=heads, kv_heads=kv_heads,
                                    head_dim=head_dim, ffn_hidden=ffn, ffn_type=ffn_type, vocab=vocab, tied_embeddings=tied,
                                    attention=attention, source=_text(row, "source"), position_encoding=position)
    return Workload(name=model, architecture=architecture, training=training)


# ---------------------------------------------------------------------------------------
# row -> mapping
# ---------------------------------------------------------------------------------------

def _recompute(row: Mapping[str, str]) -> str | None:
    raw = _text(row, "act_recompute")
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
    if (stated := _yes_no(row, "sp")) is not None:
        return stated
    text = _text(row, "act_recompute").lower()
    if "no sp" in text:
        return False
    if "sequence parallel" in text or "+ sequence" in text:
        return True
    return None


def _zero_stage(row: Mapping[str, str]) -> int | None:
    raw = _text(row, "fsdp_zero")
    text = raw.lower().replace(" ", "").replace("-", "").replace("_", "")
    if not text:
        return None
    if "hybrid" in text:
        raise Skip(f"fsdp_zero={raw!r}: hybrid sharding (shard in a node, replicate across) is not modelled")
    table = (("megatronfsdp", 3), ("fullshard", 3), ("zero3", 3), ("stage3", 3), ("shardgradop", 2), ("zero2", 2), ("stage2", 2),
             ("zero1", 1), ("stage1", 1), ("distributedoptimizer", 1), ("distopt", 1), ("noshard", 0), ("ddp", 0),
             ("zero0", 0), ("stage0", 0), ("none", 0))
    for key, stage in table:
        if key in text:
            return stage
    raise Skip(f"fsdp_zero={raw!r} not understood; allowed: FSDP FULL_SHARD/SHARD_GRAD_OP/NO_SHARD, ZeRO-0..3, "
               "distributed optimizer")


#: Software stack of a row (see :func:`_stack`) -> stack of data/calibration/software_stacks.yaml.
_STACK_CALIBRATION = {"megatron-2021": "megatron-2021", "llm-foundry": "pytorch-fsdp", "nemo": "megatron-core",
                      "other": "megatron-core"}
#: NeMo containers released before FlashAttention-3 (July 2024): Hopper attention ran FA2 kernels.
_PRE_FA3_NEMO = ("nemo 24.03", "nemo 24.05", "nemo 24.07", "nemo2403", "nemo2407")
#: Megatron-Core flex-dispatcher backends (moe_flex_dispatcher_backend): fused permute + dispatch.
_FLEX_DISPATCHERS = ("deepep", "hybridep")


def calibration_stack(row: Mapping[str, str]) -> str:
    """data/calibration/software_stacks.yaml stack of a row: TPU ``xla-tpu`` (JAX on GPUs: NCCL stacks); DeepSpeed ZeRO-3
    ``hf-deepspeed-zero3[-gaudi]`` under the HuggingFace Trainer, else ``deepspeed-zero3``; DeepSpeed ZeRO 0-1 of no named
    stack ``megatron-deepspeed`` (Gaudi 2 gpt3); pre-FA3 NeMo ``megatron-core-fa2[-fp8]``; else :func:`_stack`'s."""
    if _is_tpu(row):
        return "xla-tpu"
    framework = (_text(row, "framework") + " " + _text(row, "run_id")).lower()
    try:
        zero = _zero_stage(row)
    except Skip:
        zero = None
    if "deepspeed" in framework and zero == 3:  # HuggingFace eager modules + flash-attn 2 on NVIDIA parts
        gaudi = "gaudi" in _text(row, "accelerator_canonical").lower()
        return ("hf-deepspeed-zero3-gaudi" if gaudi else "hf-deepspeed-zero3") if "huggingface" in framework else "deepspeed-zero3"
    if _stack(row) == "other" and "deepspeed" in _text(row, "fsdp_zero").lower() and zero in (0, 1):
        return "megatron-deepspeed"  # Megatron layers under DeepSpeed's pipeline engine (Intel Gaudi 2 gpt3)
    if _stack(row) == "nemo" and any(v in framework for v in _PRE_FA3_NEMO):  # FP8: torch FSDP refuses it
        return "megatron-core-fa2-fp8" if is_fp8(row) else "megatron-core-fa2"
    if _stack(row) == "nemo" and _text(row, "moe_token_dispatcher").lower() in _FLEX_DISPATCHERS:
        return "megatron-core-flex"
    return _STACK_CALIBRATION[_stack(row)]


def _is_tpu(row: Mapping[str, str]) -> bool:
    """A Google TPU row (``accelerator`` / ``accelerator_canonical``: "TPU-v5p", "TPU v6e", "TPU-trillium")."""
    return any("tpu" in _text(row, k).lower() for k in ("accelerator", "accelerator_canonical"))


def _stack(row: Mapping[str, str]) -> str:
    text = " ".join(_text(row, k).lower() for k in ("source", "framework", "run_id"))
    if any(k in text for k in ("narayanan", "korthikanti", "2104.04473", "2205.05198")):
        return "megatron-2021"
    if any(k in text for k in ("mosaicml", "llm-foundry", "composer")):
        return "llm-foundry"
    if any(k in text for k in ("nemo", "megatron-bridge", "megatron-core")):
        return "nemo"  # the Megatron-Core stack (NeMo / Megatron-Bridge, or Megatron-LM's own scripts)
    return "other"


def _vpp(row: Mapping[str, str]) -> int | str | None:
    """vpp as an integer, ``"interleaved"`` (chunks not stated: > 1) or None (not stated)."""
    raw = _text(row, "vpp")
    if "interleav" in raw.lower():
        return "interleaved"
    return _int(row, "vpp")


def _interleaved_choices(layers: int, pp: int | None) -> list[int | None]:
    """vpp values > 1 that give every virtual stage whole layers (None: let the model search)."""
    if pp is None:
        return [None]
    if pp == 1:
        return [1]
    choices = [v for v in range(2, layers // pp + 1) if layers % (pp * v) == 0]
    return choices or [1]


def _mapping(row: Mapping[str, str], wl: Workload, metric: str,
             notes: list[str]) -> tuple[int, tuple[str, ...], str, MappingSource]:
    """(accelerator count, candidate strategy texts, no-recompute/no-SP baseline strategy, mapping flag).

    Several candidates only where the row says "interleaved" without the chunk count: every
    vpp > 1 that divides the stage's layers is tried and the fastest kept.
    """
    tp, pp, dp, mb = _int(row, "tp"), _int(row, "pp"), _int(row, "dp"), _int(row, "micro_batch")
    cp, ep, vpp_raw = _int(row, "cp"), _int(row, "ep"), _vpp(row)
    vpp_choices: list[int | None] = (_interleaved_choices(wl.layers, pp) if vpp_raw == "interleaved"
                                     else [vpp_raw if isinstance(vpp_raw, int) else None])
    vpp = vpp_choices[0]
    recompute, sp, zero = _recompute(row), _sequence_parallel(row), _zero_stage(row)
    count = _int(row, "num_accels")
    if cp is None:
        cp = 1
    if ep is None and wl.moe is None:
        ep = 1
    if count is None:
        if None in (tp, pp, dp):
            raise Skip("num_accels missing and tp/pp/dp do not give it")
        count = tp * pp * cp * dp
        notes.append("num_accels = tp*pp*cp*dp")
    if tp is not None and pp is not None and dp is not None and tp * pp * cp * dp != count:
        raise Skip(f"tp*pp*cp*dp = {tp}*{pp}*{cp}*{dp} = {tp * pp * cp * dp} != num_accels {count}")
    if metric in _MICROBATCH_METRICS:
        # Memory and per-layer figures are per micro-batch in flight: an unstated batch or vpp is irrelevant.
        if tp is not None and pp is not None and dp is None and count % (tp * pp * cp) == 0:
            dp = count // (tp * pp * cp)
        if vpp is None:
            vpp = 1
    stack = _stack(row)
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
    if (stated_overlap := _yes_no(row, "tp_comm_overlap")) is not None:  # a launch config's TP_COMM_OVERLAP
        tp_overlap = stated_overlap
    dp_overlap = stated if (stated := ds_overlap_comm(row)) is not None else dp_overlap  # DeepSpeed overlap_comm
    if tp == 1:
        sp = False
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
    baseline = text({**fixed, "recompute": "none", "sp": False})
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
