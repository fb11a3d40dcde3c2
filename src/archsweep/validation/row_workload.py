"""A published row -> the workload it ran: the architecture (the models/ file its model name resolves to,
with the row's stated columns over it, else the row's columns alone) and the training job (batch, sequence,
precision and recipe, training mode, LoRA, FP8 and offload settings the row states)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Literal

from archsweep.load.workloads import list_workloads, load_architecture
from archsweep.spec.architecture import Architecture
from archsweep.spec.training import OPTIMIZER_DTYPE_BYTES, TrainingJob
from archsweep.spec.workload import Workload
from archsweep.validation.cells import (
    cell_int,
    cell_text,
    offload_layers,
    recompute_layers_of,
    recompute_modules_of,
    stated_job_options,
)
from archsweep.validation.lora_recipe import apply_lora_recipe
from archsweep.validation.mlperf import transpose_cached
from archsweep.validation.precision import precision_of, recipe_of
from archsweep.validation.types import MICROBATCH_METRICS, SWIGLU_FAMILIES, TIED_FAMILIES, Skip


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


def row_training_mode(row: Mapping[str, str]) -> tuple[str, int]:
    """(mode, LoRA rank) from the row's model / arch_type text.

    LoRA rank: the row's "rank N" when stated, else 16 (the MLPerf llama2_70b_lora reference,
    data/validation/SOURCE.md; NeMo's LoRA recipes use rank 16 to 32: adapters are < 0.3 % of a
    7B model's weights at either rank, so the choice moves the step time by < 1 %).
    """
    text = " ".join(cell_text(row, k) for k in ("model", "arch_type", "run_id")).lower()
    if "lora" in text:
        rank = re.search(r"rank\s*=?\s*(\d+)", text)
        return "finetune_lora", int(rank.group(1)) if rank else 16
    if re.search(r"\bsft\b|fine-?tun", text):
        return "finetune_full", 0
    return "pretrain", 0


def _ffn_type(row: Mapping[str, str], model: str, hidden: int, ffn: int, base: Architecture | None) -> Literal["gelu", "swiglu"]:
    text = (cell_text(row, "arch_type") + " " + model).lower()
    if "swiglu" in text or "geglu" in text:
        return "swiglu"
    if "gelu" in text:
        return "gelu"
    if base is not None:
        return base.ffn_type
    llama_like = any(f in text for f in SWIGLU_FAMILIES)
    return "swiglu" if llama_like and ffn != 4 * hidden else "gelu"


def _training_job(row: Mapping[str, str], global_batch_seqs: int, seq_len: int, notes: list[str]) -> TrainingJob:
    """The training job a row states: mode and LoRA rank (:func:`row_training_mode`), precision and recipe, offload,
    FP8 weights / SwiGLU input / transpose cache, parameter-gather overlap (on unless the cell says "no"), EP
    all-to-all overlap, the embedding / loss pipeline split and FP8 attention (each on only where its cell says "yes"),
    recompute modules (default core_attn) and the full recompute's method / layers (``act_recompute``), then the
    row's LoRA recipe; what was read goes to ``notes``."""
    mode, rank = row_training_mode(row)
    dfa = _dfa_dtypes(row)
    if mode != "pretrain":
        notes.append(f"mode {mode}" + (f" (rank {rank})" if rank else ""))
    # The options in plain columns (FP8 weights / SwiGLU input, parameter-gather and EP all-to-all overlap, the
    # embedding / loss split, FP8 attention, the pipeline layout; an empty cell: the option's default), then those
    # whose cells need parsing.
    method, count = recompute_layers_of(row)
    training = TrainingJob(global_batch_seqs=global_batch_seqs, seq_len=seq_len, precision=precision_of(row),
                           mode=mode, lora_rank=rank,  # type: ignore[arg-type]
                           low_precision_recipe=recipe_of(row), activation_offload_layers=offload_layers(row),
                           recompute_modules=recompute_modules_of(row) or ("core_attn",),
                           recompute_method=method, recompute_num_layers=count,
                           fp8_weight_transpose_cached=transpose_cached(row),
                           dfa_state_dtype=dfa[0], dfa_grad_sync_dtype=dfa[1], **stated_job_options(row))
    return apply_lora_recipe(training, row, notes)


def _mtp_layers(model: str, base: Architecture) -> int:
    """The models/ file's MTP layers, none where the row's model name says the run had none ("w/o MTP": the
    Megatron-Bridge 25.11 DeepSeek-V3 table rows)."""
    return 0 if re.search(r"w/o\s*mtp|without\s+mtp", model, re.I) else base.mtp_num_layers


def _dfa_dtypes(row: Mapping[str, str]) -> tuple[str, str]:
    """The Apex DistributedFusedAdam dtypes a row states (columns ``optim_dtype``, ``grad_sync_dtype``: the
    NeMo 1.x conf's ``optim.dtype`` / ``optim.grad_sync_dtype``; an empty ``grad_sync_dtype`` is Apex's
    default, the state dtype); both empty: the stack's optimizer; ``grad_sync_dtype`` alone: the stack's optimizer
    with its gradient buffer and reduce in that dtype (Megatron-Core ``grad_reduce_in_fp32``). Other text skips
    the row."""
    state, grad = cell_text(row, "optim_dtype").lower(), cell_text(row, "grad_sync_dtype").lower()
    for key, value in (("optim_dtype", state), ("grad_sync_dtype", grad)):
        if value not in ("", *OPTIMIZER_DTYPE_BYTES):
            raise Skip(f"{key}={value!r} not understood; allowed: fp32, bf16 or empty")
    return state, grad or state


def workload_of(row: Mapping[str, str], metric: str, notes: list[str]) -> Workload:
    model = cell_text(row, "model") or cell_text(row, "run_id")
    stem = _stem_for(model)
    base = load_architecture(stem) if stem else None
    if base is not None:
        notes.append(f"base workload models/{stem}.yaml")
    arch = cell_text(row, "arch_type").lower()
    if base is None and ("moe" in arch or "mixture" in arch or "mla" in arch):
        raise Skip(f"arch_type {cell_text(row, 'arch_type')!r}: MoE/MLA details (experts, top-k) are not CSV columns "
                   "and no models/ file matches the model name")

    def pick(key: str, default: int | None) -> int:
        try:
            value = cell_int(row, key)
        except Skip:
            if base is None:
                raise
            # "expert 2880", "dense 18432 / expert 2048": MoE details come from the models/ file.
            notes.append(f"{key}={cell_text(row, key)!r}: models/{stem}.yaml value used")
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
    if base is None and cell_int(row, "ffn_hidden") is None:
        notes.append("ffn_hidden assumed 4*hidden")
    ffn = pick("ffn_hidden", base.ffn_hidden if base else 4 * hidden)
    if cell_int(row, "vocab") is None and base is None:
        notes.append("vocab assumed 51200 (Megatron GPT, SC21 Sec. 5.1)")
    vocab = pick("vocab", base.vocab if base else 51200)
    seq_len = pick("seq_len", None)
    gbs = cell_int(row, "global_batch_seqs")
    if gbs is None and metric not in MICROBATCH_METRICS:
        raise Skip("global_batch_seqs missing (needed for a throughput metric)")
    ffn_type = _ffn_type(row, model, hidden, ffn, base)
    family = model.lower()
    tied = base.tied_embeddings if base else any(f in family for f in TIED_FAMILIES)
    attention: Literal["mha", "gqa", "mqa", "mla"] = "mha" if kv_heads == heads else ("mqa" if kv_heads == 1 else "gqa")
    if base is not None and base.attention == "mla":
        attention = "mla"
    training = _training_job(row, gbs or 1, seq_len, notes)
    position = "alibi" if "alibi" in arch else (base.position_encoding if base is not None else "learned")
    if base is not None:
        architecture = replace(base, name=model, layers=layers, hidden=hidden, heads=heads, kv_heads=kv_heads,
                               head_dim=head_dim, ffn_hidden=ffn, ffn_type=ffn_type, vocab=vocab, attention=attention,
                               position_encoding=position, mtp_num_layers=_mtp_layers(model, base))
    else:
        architecture = Architecture(name=model, layers=layers, hidden=hidden, heads=heads, kv_heads=kv_heads,
                                    head_dim=head_dim, ffn_hidden=ffn, ffn_type=ffn_type, vocab=vocab, tied_embeddings=tied,
                                    attention=attention, source=cell_text(row, "source"), position_encoding=position)
    return Workload(name=model, architecture=architecture, training=training)
