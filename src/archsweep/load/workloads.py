"""Load workload definitions (``models/<name>.yaml``) into frozen :class:`Workload` objects.

Parse, validate, build once at the edge (ZigZag-style): the YAML is read strictly
(duplicate keys rejected), validated against ``schemas/workload.schema.json``, then checked
across fields, every problem reported at once, and finally turned into a frozen
:class:`~archsweep.spec.workload.Workload`. Nothing past this module reads the raw dict.

Token counts (``training.global_batch.tokens``, ``training.total_tokens``) accept a plain
integer, decimal suffixes ``k/K, M, G/B, T`` (powers of 1000, "B" = billion) and binary
suffixes ``Ki, Mi, Gi, Ti`` (powers of 1024). Papers write "16M tokens" for 2048 x 8192 =
2**24 tokens: write that as ``"16Mi"``; ``"16M"`` does not divide 8192 and is rejected with
a hint, so a batch is never silently rounded.

Architecture vs job: a file holds an :class:`~archsweep.spec.architecture.Architecture` and, in its
optional ``training:`` section, the model's default :class:`~archsweep.spec.training.TrainingJob`.
The sequence length may sit in either section: ``architecture.seq_len`` (where every file has
it today; kept so files need no migration) is read as the default job's ``seq_len``, and
``training.seq_len`` is accepted instead (not both). ``architecture.max_context`` (optional) is
the released model's longest context. :func:`load_workload` pairs the architecture with the
default job; :func:`training_job` applies a study's overrides to it (its model-dependent options: job_fits_model)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from archsweep.load import paths
from archsweep.load.job_options import job_fits_model, job_option_values, lora_recipe
from archsweep.load.moe_routing import check_router_groups
from archsweep.load.schema import validate_document
from archsweep.load.yamlio import load_yaml
from archsweep.spec.architecture import Architecture, MLAConfig, MoEConfig
from archsweep.spec.errors import InputError, InputErrors, Problem
from archsweep.spec.job_option_table import JOB_OPTION_NAMES
from archsweep.spec.training import PRECISIONS, TRAINING_MODES, TrainingJob
from archsweep.spec.workload import Workload

__all__ = [
    "list_workloads",
    "load_architecture",
    "load_default_training",
    "load_workload",
    "parse_token_count",
    "stated_seq_len",
    "training_job",
]

_SCHEMA = "workload"
_JOB_KEYS = ("global_batch", "seq_len", "precision", "mode", "lora_rank", "lora_targets", "lora_dropout", "lora_a2a",
             "total_tokens", *JOB_OPTION_NAMES)
_SUFFIXES: dict[str, float] = {
    "": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "B": 1e9, "T": 1e12,
    "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40,
}
_TOKEN_COUNT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(Ki|Mi|Gi|Ti|k|K|M|G|B|T)?\s*$")
_TOKEN_ALLOWED = "a positive token count: an integer, '4M', '15.6T' (decimal) or '16Mi' (binary)"


def parse_token_count(raw: object, *, file: str = "<string>", key_path: str = "") -> float:
    """Parse a token count (``4096``, ``"4M"``, ``"15.6T"``, ``"16Mi"``) into tokens.

    Returns:
        the count in tokens (float; may be non-integral, e.g. ``"15.6T"`` is exact anyway).

    Raises:
        InputError: not a positive integer nor a number with a known suffix.
    """
    if isinstance(raw, bool):
        raise InputError(file, key_path, raw, _TOKEN_ALLOWED)
    if isinstance(raw, int):
        value = float(raw)
    elif isinstance(raw, str) and (match := _TOKEN_COUNT.match(raw)):
        value = float(match.group(1)) * _SUFFIXES[match.group(2) or ""]
    else:
        raise InputError(file, key_path, raw, _TOKEN_ALLOWED)
    if not value > 0:
        raise InputError(file, key_path, raw, _TOKEN_ALLOWED)
    return value


def list_workloads(models_dir: Path | None = None) -> list[str]:
    """Names (file stems) of the workload definitions in ``models_dir`` (default ``models/``)."""
    folder = paths.models_dir() if models_dir is None else Path(models_dir)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml") if p.is_file())


def _resolve(name_or_path: str | Path, models_dir: Path | None) -> Path:
    """A path (``Path``, or text with a separator or a .yaml/.yml suffix) or a stem in models_dir."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or "\\" in text or text.endswith((".yaml", ".yml")):
        return Path(name_or_path)
    folder = paths.models_dir() if models_dir is None else Path(models_dir)
    candidate = folder / f"{text}.yaml"
    if not candidate.is_file():
        names = list_workloads(folder)
        raise InputError("<workloads>", "workload", text,
                         f"one of: {', '.join(names)}" if names else f"a workload file in {folder} (none found)")
    return candidate


def load_architecture(name_or_path: str | Path, *, models_dir: Path | None = None) -> Architecture:
    """The architecture of a model file (see :func:`load_workload` for the arguments and errors)."""
    return _load(name_or_path, models_dir)[0]


def load_default_training(name_or_path: str | Path, *, models_dir: Path | None = None) -> TrainingJob | None:
    """The default training job of a model file (None when it has no ``training:`` section)."""
    return _load(name_or_path, models_dir)[1]


def stated_seq_len(name_or_path: str | Path, *, models_dir: Path | None = None) -> int | None:
    """The sequence length a model file states (``training.seq_len`` or ``architecture.seq_len``), or None."""
    return _load(name_or_path, models_dir)[2]


def load_workload(name_or_path: str | Path, *, models_dir: Path | None = None) -> Workload:
    """Load, validate and build a workload: the architecture and its default training job.

    Args:
        name_or_path: a workload name (``"llama3-405b"`` -> ``<models_dir>/llama3-405b.yaml``)
            or a path to a YAML file.
        models_dir: where names are looked up (default :func:`archsweep.load.paths.models_dir`).

    Returns:
        the frozen :class:`Workload` named after the file stem (files cached per resolved path
        and modification time).

    Raises:
        InputError / InputErrors: unknown name, missing or malformed file, schema violations,
            failed cross-field checks (all problems of one stage reported together), or a file
            without a ``training:`` section (set the job in the study entry instead).
    """
    path = _resolve(name_or_path, models_dir).resolve()
    arch, _, _, workload = _load(path, None)
    if workload is None:
        raise InputError(str(path), "training", "<missing>",
                         "a default training job (training: {global_batch, precision, mode}); or give the job in "
                         "the study entry: {model: " + arch.name + ", training: {...}}")
    return workload


def _load(name_or_path: str | Path, models_dir: Path | None) -> tuple[Architecture, TrainingJob | None, int | None, Workload | None]:
    path = _resolve(name_or_path, models_dir).resolve()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = -1  # load_yaml reports the missing/unreadable file
    return _load_cached(str(path), mtime)


@cache
def _load_cached(path: str, mtime_ns: int) -> tuple[Architecture, TrainingJob | None, int | None, Workload | None]:
    del mtime_ns  # part of the cache key only: an edited file is reloaded
    doc = load_yaml(path)
    validate_document(doc, _SCHEMA, path)
    arch, job, seq_len = _build(doc, path)
    return arch, job, seq_len, None if job is None else Workload(name=arch.name, architecture=arch, training=job)


# ---- cross-field checks and building ------------------------------------------------------

def _default_kv_heads(arch: dict[str, Any]) -> int | None:
    if "kv_heads" in arch:
        return int(arch["kv_heads"])
    return {"mha": arch["heads"], "mla": arch["heads"], "mqa": 1}.get(arch["attention"])


def _check_attention(arch: dict[str, Any], kv_heads: int | None, file: str) -> list[InputError]:
    p: list[InputError] = []
    heads, attention = arch["heads"], arch["attention"]
    a = "architecture"
    if kv_heads is None:
        p.append(InputError(file, f"{a}.kv_heads", "<missing>", "kv_heads given when attention is gqa"))
    elif heads % kv_heads != 0:
        p.append(InputError(file, f"{a}.kv_heads", kv_heads, f"a divisor of heads ({heads})"))
    elif attention == "mha" and kv_heads != heads:
        p.append(InputError(file, f"{a}.kv_heads", kv_heads, f"equal to heads ({heads}) for attention mha (use gqa)"))
    elif attention == "mqa" and kv_heads != 1:
        p.append(InputError(file, f"{a}.kv_heads", kv_heads, "1 for attention mqa (use gqa)"))
    elif attention == "gqa" and not 1 < kv_heads < heads:
        p.append(InputError(file, f"{a}.kv_heads", kv_heads, f"between 2 and {heads - 1} for gqa (1: mqa, {heads}: mha)"))
    elif attention == "mla" and kv_heads != heads:
        p.append(InputError(file, f"{a}.kv_heads", kv_heads, f"equal to heads ({heads}) for attention mla"))
    if attention == "mla" and "mla" not in arch:
        p.append(InputError(file, f"{a}.mla", "<missing>", "an mla: block when attention is mla"))
    if attention != "mla" and "mla" in arch:
        p.append(InputError(file, f"{a}.mla", "<dict>", f"no mla: block unless attention is mla (got {attention})"))
    for key in ("sliding_window_pattern", "local_attention"):
        if key in arch and "sliding_window" not in arch:
            p.append(InputError(file, f"{a}.{key}", arch[key], "absent unless sliding_window is given"))
    if "head_dim" not in arch and attention != "mla" and arch["hidden"] % heads != 0:
        p.append(InputError(file, f"{a}.hidden", arch["hidden"],
                            f"a multiple of heads ({heads}), or give head_dim explicitly"))
    return p


def _check_moe(arch: dict[str, Any], file: str) -> list[InputError]:
    moe = arch.get("moe")
    if moe is None:
        return []
    p: list[InputError] = []
    if moe["top_k"] > moe["num_experts"]:
        p.append(InputError(file, "architecture.moe.top_k", moe["top_k"],
                            f"at most num_experts ({moe['num_experts']})"))
    p.extend(check_router_groups(moe, file))
    if moe.get("dense_layers", 0) > arch["layers"]:
        p.append(InputError(file, "architecture.moe.dense_layers", moe["dense_layers"],
                            f"at most layers ({arch['layers']})"))
    if not isinstance(moe.get("dropless", True), bool):
        p.append(InputError(file, "architecture.moe.dropless", moe["dropless"], "true (dropless, the default) or false (drop-and-pad)"))
    return p


def _global_batch_seqs(batch: Any, seq_len: int, file: str, key: str) -> tuple[int | None, list[InputError]]:
    """Sequences per step from ``{sequences: N}`` or ``{tokens: T}`` (T a multiple of seq_len)."""
    if "sequences" in batch:
        return int(batch["sequences"]), []
    key = f"{key}.tokens"
    try:
        tokens = parse_token_count(batch["tokens"], file=file, key_path=key)
    except InputError as exc:
        return None, [exc]
    if tokens != int(tokens) or int(tokens) % seq_len != 0:
        return None, [InputError(file, key, batch["tokens"],
                                 f"a whole multiple of seq_len ({seq_len}) tokens; got {tokens:.0f}"
                                 f"{_binary_hint(batch['tokens'], seq_len)}")]
    return int(tokens) // seq_len, []


def _binary_hint(raw: object, seq_len: int) -> str:
    """Suggest the binary suffix when a decimal one ("16M") misses a multiple of seq_len."""
    match = _TOKEN_COUNT.match(raw) if isinstance(raw, str) else None
    binary_suffix = {"k": "Ki", "K": "Ki", "M": "Mi", "G": "Gi", "B": "Gi", "T": "Ti"}.get(match.group(2) or "") if match else None
    if match is None or binary_suffix is None:
        return ""
    tokens = float(match.group(1)) * _SUFFIXES[binary_suffix]
    if tokens != int(tokens) or int(tokens) % seq_len != 0:
        return ""
    return f" (did you mean '{match.group(1)}{binary_suffix}' = {int(tokens)} tokens?)"


def training_job(raw: Any, *, base: TrainingJob | None, default_seq_len: int | None, file: str,
                 key: str, ffn_type: str | None = None) -> TrainingJob:
    """A training job from ``raw`` (a ``training:`` mapping), every key left out taken from ``base``.

    Keys (:class:`TrainingJob`): ``global_batch`` ({sequences: N} or {tokens: T}, T a multiple of seq_len),
    ``seq_len``, ``precision``, ``mode``, ``lora_rank`` / ``lora_targets`` / ``lora_dropout`` / ``lora_a2a``
    (finetune_lora only), ``total_tokens``, and the job options of
    :data:`archsweep.spec.job_option_table.JOB_OPTIONS` (:func:`archsweep.load.job_options.job_option_values`;
    ``activation_fp8_input_store`` true only when ``ffn_type``, the model's MLP, is swiglu or not given). Without
    ``base``: ``global_batch`` is required, ``seq_len`` defaults to ``default_seq_len``, precision to bf16, mode to
    pretrain. A changed ``seq_len`` keeps the batch in sequences; ``lora_*`` keys from ``base`` only in finetune_lora.

    Raises:
        InputError / InputErrors: every problem, each at ``<key>.<name>`` in ``file``.
    """
    if not isinstance(raw, dict):
        raise InputError(file, key, raw, "a mapping with any of global_batch, seq_len, precision, mode, lora_rank, "
                         "total_tokens")
    unknown = sorted(set(raw) - set(_JOB_KEYS))
    if unknown:
        raise InputError(file, f"{key}.{unknown[0]}", f"<unknown key {unknown[0]!r}>", "one of " + ", ".join(_JOB_KEYS))
    p: list[InputError] = []
    seq_len = raw.get("seq_len", base.seq_len if base is not None else default_seq_len)
    if seq_len is None:
        p.append(InputError(file, f"{key}.seq_len", "<missing>", "tokens per sequence (the model file states none)"))
    elif isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < 1:
        p.append(InputError(file, f"{key}.seq_len", seq_len, "an integer >= 1"))
        seq_len = None
    seqs: int | None = base.global_batch_seqs if base is not None else None
    if "global_batch" in raw:
        seqs = None
        batch = raw["global_batch"]
        if not (isinstance(batch, dict) and len(batch) == 1 and next(iter(batch)) in ("sequences", "tokens")):
            p.append(InputError(file, f"{key}.global_batch", batch, "{sequences: N} or {tokens: T}"))
        elif "sequences" in batch and (isinstance(batch["sequences"], bool) or not isinstance(batch["sequences"], int)
                                       or batch["sequences"] < 1):
            p.append(InputError(file, f"{key}.global_batch.sequences", batch["sequences"], "an integer >= 1"))
        elif seq_len is not None:
            seqs, batch_problems = _global_batch_seqs(batch, seq_len, file, f"{key}.global_batch")
            p += batch_problems
    elif base is None:
        p.append(InputError(file, f"{key}.global_batch", "<missing>",
                            "{sequences: N} or {tokens: T} (the model file has no default training job)"))
    precision = raw.get("precision", base.precision if base is not None else "bf16")
    if precision not in PRECISIONS:
        p.append(InputError(file, f"{key}.precision", precision, "one of " + ", ".join(PRECISIONS)))
    mode = raw.get("mode", base.mode if base is not None else "pretrain")
    if mode not in TRAINING_MODES:
        p.append(InputError(file, f"{key}.mode", mode, "one of " + ", ".join(TRAINING_MODES)))
    kept_rank = base.lora_rank if base is not None and base.mode == "finetune_lora" else 0
    rank = raw.get("lora_rank", kept_rank if mode == "finetune_lora" else 0)
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 0:
        p.append(InputError(file, f"{key}.lora_rank", rank, "an integer >= 0"))
    elif mode == "finetune_lora" and rank <= 0:
        p.append(InputError(file, f"{key}.lora_rank", "<missing>" if "lora_rank" not in raw else rank,
                            "a rank > 0 when mode is finetune_lora"))
    elif mode != "finetune_lora" and rank > 0:
        p.append(InputError(file, f"{key}.lora_rank", rank, f"0 or absent unless mode is finetune_lora (got {mode})"))
    lora_targets, lora_dropout, lora_a2a = lora_recipe(raw, base, mode, file, key, p)
    options = job_option_values(raw, base, precision, ffn_type, file, key, p)
    total = base.total_tokens if base is not None else 0.0
    if "total_tokens" in raw:
        try:
            total = parse_token_count(raw["total_tokens"], file=file, key_path=f"{key}.total_tokens")
        except InputError as exc:
            p.append(exc)
    if len(p) == 1:
        raise p[0]
    if p or seqs is None or seq_len is None:  # None only alongside a problem
        raise InputErrors([e.problem for e in p])
    return TrainingJob(global_batch_seqs=seqs, seq_len=seq_len, precision=precision, mode=mode, lora_rank=rank,
                       total_tokens=total, lora_targets=lora_targets, lora_dropout=lora_dropout, lora_a2a=lora_a2a,
                       **options)


def _build(doc: dict[str, Any], file: str) -> tuple[Architecture, TrainingJob | None, int | None]:
    """Cross-field checks (all reported together), then the frozen architecture and default job."""
    arch = doc["architecture"]
    problems: list[Problem] = []
    stem = Path(file).stem
    if doc["name"] != stem:
        problems.append(InputError(file, "name", doc["name"], f"the file stem {stem!r}").problem)
    kv_heads = _default_kv_heads(arch)
    problems += [e.problem for e in _check_attention(arch, kv_heads, file)]
    problems += [e.problem for e in _check_moe(arch, file)]
    job = None
    if "training" in doc:
        if "seq_len" in arch and "seq_len" in doc["training"]:
            problems.append(InputError(file, "training.seq_len", doc["training"]["seq_len"],
                                       "absent when architecture.seq_len is given (state it once)").problem)
        try:
            job = training_job(doc["training"], base=None, default_seq_len=arch.get("seq_len"), file=file, key="training",
                               ffn_type=arch.get("ffn_type"))
        except InputErrors as exc:
            problems += exc.problems
        except InputError as exc:
            problems.append(exc.problem)
        problems += [e.problem for e in job_fits_model(job, arch["layers"], arch.get("mtp_num_layers", 0), "moe" in arch,
                                                       doc["name"], file, "training")] if job is not None else []
    if problems or kv_heads is None:  # None only alongside a problem
        raise InputError.from_problem(problems[0]) if len(problems) == 1 else InputErrors(problems)

    mla = MLAConfig(**arch["mla"]) if "mla" in arch else None
    if "head_dim" in arch:
        head_dim = int(arch["head_dim"])
    elif mla is not None:
        head_dim = mla.qk_nope_head_dim + mla.qk_rope_head_dim
    else:
        head_dim = arch["hidden"] // arch["heads"]
    moe_raw = arch.get("moe")
    moe = None if moe_raw is None else MoEConfig(
        num_experts=moe_raw["num_experts"], top_k=moe_raw["top_k"],
        shared_experts=moe_raw.get("shared_experts", 0), expert_ffn_hidden=moe_raw["expert_ffn_hidden"],
        dense_layers=moe_raw.get("dense_layers", 0), capacity_factor=float(moe_raw.get("capacity_factor", 1.0)),
        dropless=moe_raw.get("dropless", True),
        router_groups=int(moe_raw.get("router_groups", 1)), router_group_topk=int(moe_raw.get("router_group_topk", 1)),
        expert_bias=bool(moe_raw.get("expert_bias", False)),
    )
    architecture = Architecture(
        name=doc["name"], layers=arch["layers"], hidden=arch["hidden"], heads=arch["heads"],
        kv_heads=kv_heads, head_dim=head_dim, ffn_hidden=arch["ffn_hidden"], ffn_type=arch["ffn_type"],
        vocab=arch["vocab"], tied_embeddings=arch["tied_embeddings"], attention=arch["attention"], moe=moe, mla=mla,
        source=doc["source"], max_context=arch.get("max_context"), sliding_window=arch.get("sliding_window"),
        sliding_window_pattern=arch.get("sliding_window_pattern"), local_attention=arch.get("local_attention", "sliding"),
        softmax_type=arch.get("softmax_type", "vanilla"),
        dropout=float(arch["dropout"]), activation_clamp=arch.get("activation_clamp"),
        mtp_num_layers=int(arch.get("mtp_num_layers", 0)))
    seq_len = doc["training"].get("seq_len", arch.get("seq_len")) if "training" in doc else arch.get("seq_len")
    return architecture, job, seq_len
