"""A fixed parallelism strategy as text (``"tp=8,pp=16,mb=1,recompute=selective,zero=1"``) and
the checks that need only the workload.

Parsed at the edge (a study's ``mapping.strategy``, ``archsweep eval --strategy``) and by the
model's mapping enumeration (:mod:`archsweep.model.training.mapping`), so one parser and one
set of divisibility rules serve both: a strategy that can never run on a workload is refused
when the study or the command is read, not after a sweep of infeasible rows.
"""

from __future__ import annotations

import numpy as np

from archsweep.spec.errors import InputError
from archsweep.spec.job_option_table import CP_COMM_TYPES
from archsweep.spec.pipeline_layout import parse_layout
from archsweep.spec.workload import Workload

__all__ = ["MAX_ACCELERATOR_COUNT", "MAX_DEGREE", "RECOMPUTE", "STRATEGY_KEYS", "parse_strategy", "tp_divides", "a2a_splits_heads", "cp_attention_runs", "cp_comm_types_run",
           "strategy_problems"]

#: Activation recomputation modes, by integer code used inside the arrays.
RECOMPUTE: tuple[str, ...] = ("none", "selective", "full")

#: Strategy text key -> mapping field (aliases allowed).
STRATEGY_KEYS: dict[str, str] = {
    "tp": "tp", "pp": "pp", "dp": "dp", "cp": "cp", "ep": "ep", "vpp": "vpp", "mb": "micro_batch",
    "micro_batch": "micro_batch", "recompute": "recompute", "zero": "zero_stage", "zero_stage": "zero_stage",
    "sp": "sequence_parallel", "sequence_parallel": "sequence_parallel", "fa": "flash_attention",
    "flash_attention": "flash_attention", "tp_overlap": "tp_overlap", "dp_overlap": "dp_overlap",
}
_FLAGS = {"sequence_parallel", "flash_attention", "tp_overlap", "dp_overlap"}
_BOOL_TEXT = {"1": 1, "0": 0, "true": 1, "false": 0, "yes": 1, "no": 0, "on": 1, "off": 0}
#: Most accelerators of one system (``archsweep eval --count``, a study's ``accelerator_count``):
#: 10x the largest training clusters announced (~10^5 GPUs), so a typo (10^21) is refused.
MAX_ACCELERATOR_COUNT = 1_000_000
#: Largest parallel degree a strategy may give: no more than the largest system.
MAX_DEGREE = MAX_ACCELERATOR_COUNT


def parse_strategy(text: str, *, source: str = "--strategy") -> dict[str, float]:
    """Parse ``"tp=8,pp=16,mb=1,recompute=selective,zero=1"`` into fixed mapping values.

    Keys not given are searched. ``dp=auto`` (or leaving dp out) derives dp from the
    accelerator count; an integer dp is checked against it.

    Raises:
        InputError: unknown or repeated key (aliases count: ``mb`` and ``micro_batch``),
            malformed pair or bad value (names the allowed ones).
    """
    fixed: dict[str, float] = {}
    given: dict[str, str] = {}
    allowed_keys = ", ".join(sorted(STRATEGY_KEYS))
    for raw_pair in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in raw_pair:
            raise InputError(source, raw_pair, raw_pair, f"key=value pairs with keys {allowed_keys}")
        key, value = (s.strip() for s in raw_pair.split("=", 1))
        name = STRATEGY_KEYS.get(key.lower())
        if name is None:
            raise InputError(source, key, key, f"one of {allowed_keys}")
        if name in given:
            raise InputError(source, key, f"{given[name]} and {raw_pair}",
                             f"each key at most once ({name} given twice)")
        given[name] = raw_pair
        if name == "recompute":
            if value.lower() not in RECOMPUTE:
                raise InputError(source, key, value, "one of " + ", ".join(RECOMPUTE))
            fixed[name] = float(RECOMPUTE.index(value.lower()))
        elif name in _FLAGS:
            if value.lower() not in _BOOL_TEXT:
                raise InputError(source, key, value, "on/off, true/false, 1/0")
            fixed[name] = float(_BOOL_TEXT[value.lower()])
        elif name == "dp" and value.lower() == "auto":
            continue
        else:
            try:
                number = int(value)
            except ValueError:
                raise InputError(source, key, value, "a positive integer") from None
            valid = 0 <= number <= 3 if name == "zero_stage" else 1 <= number <= MAX_DEGREE
            if not valid:
                raise InputError(source, key, value,
                                 "0, 1, 2 or 3" if name == "zero_stage" else f"an integer from 1 to {MAX_DEGREE:,}")
            fixed[name] = float(number)
    return fixed


def tp_divides(workload: Workload, tp: int) -> bool:
    """Whether tensor parallelism ``tp`` splits the attention heads of ``workload``: ``tp``
    divides the query heads, and divides the KV heads or is a multiple of them (KV heads
    replicated, as Megatron-LM does for GQA)."""
    kv = workload.kv_heads
    return workload.heads % tp == 0 and (kv % tp == 0 or tp % kv == 0)


def a2a_splits_heads(workload: Workload, tp: np.ndarray | int, cp: np.ndarray | int) -> np.ndarray:
    """Whether the job's all-to-all context parallelism can run at (``tp``, ``cp``), element-wise over arrays (one
    bool per mapping). ``cp_comm_type`` "a2a": the query heads per TP rank (heads / tp) and the KV heads per TP rank
    (kv_heads / tp, at least 1: replicated when tp exceeds them) both divisible by ``cp`` (NVIDIA/TransformerEngine
    release_v2.8 transformer_engine/pytorch/attention/dot_product_attention/context_parallel.py,
    ``AttnFuncWithCPAndQKVOA2A`` asserts 'The number of attention heads needs to be divisible by CP size!').
    "a2a+p2p": ``cp`` a multiple of the job's ``cp_a2a_size`` (Megatron-Core's hierarchical sizes multiply to cp)
    and those heads divisible by ``cp_a2a_size`` (the same split, over the all-to-all group). True at cp 1 and for
    the other kinds."""
    tp, cp = np.asarray(tp), np.asarray(cp)
    kind = workload.training.cp_comm_type
    if kind not in ("a2a", "a2a+p2p"):
        return np.ones(np.broadcast(tp, cp).shape, dtype=bool)
    group = cp if kind == "a2a" else np.full_like(cp, workload.training.cp_a2a_size)
    splits = ((workload.heads // tp) % group == 0) & (np.maximum(workload.kv_heads // tp, 1) % group == 0)
    return (cp <= 1) | (splits & (cp % group == 0))


def _windowed(workload: Workload) -> bool:
    """Whether ``workload`` has sliding-window attention layers (``local_attention`` "sliding"; chunked is not)."""
    return workload.sliding_window is not None and workload.local_attention == "sliding"


def cp_comm_types_run(workload: Workload) -> tuple[str, ...]:
    """The ``cp_comm_type`` values under which TransformerEngine runs context parallelism for ``workload``'s attention
    (``attn_forward_func_with_cp``: release_v2.8 L3742-3763, v2.18 L5057-5068 alike): sliding-window layers
    (``local_attention`` "sliding", gpt-oss) only "a2a" / "all_gather" ('does not support sliding window attention
    with cp_comm_type'); a non-vanilla softmax (gpt-oss's learnable sinks) only "a2a" ('only supports softmax_type
    with cp_comm_type = 'a2a''). Llama 4's chunked local attention is another mask and keeps every type. Not
    modelled, because release v2.18 dropped them: v2.8 / v2.12's refusal of MLA outside "p2p" / "a2a+p2p" and of FP8
    attention with a non-vanilla softmax under cp."""
    allowed: tuple[str, ...] = CP_COMM_TYPES
    if _windowed(workload):
        allowed = tuple(t for t in allowed if t in ("a2a", "all_gather"))
    if workload.softmax_type != "vanilla":
        allowed = tuple(t for t in allowed if t == "a2a")
    return allowed


def cp_attention_runs(workload: Workload, cp: np.ndarray | int) -> np.ndarray:
    """Whether the job's ``cp_comm_type`` runs ``workload``'s attention at context parallelism ``cp``, element-wise:
    True at cp 1, and at cp > 1 where the type is one of :func:`cp_comm_types_run`."""
    cp = np.asarray(cp)
    if workload.training.cp_comm_type in cp_comm_types_run(workload):
        return np.ones(cp.shape, dtype=bool)
    return cp <= 1


def _cp_attention_refusal(workload: Workload) -> str:
    """Why TransformerEngine refuses ``workload``'s attention at cp > 1 under the job's ``cp_comm_type``."""
    reasons = []
    if _windowed(workload):
        reasons.append("sliding-window attention layers")
    if workload.softmax_type != "vanilla":
        reasons.append(f"a {workload.softmax_type} softmax (attention sinks)")
    allowed = " or ".join(cp_comm_types_run(workload))
    return (f"1: {workload.name} has {' and '.join(reasons)}, which TransformerEngine runs under context parallelism "
            f"only with cp_comm_type {allowed} (here {workload.training.cp_comm_type})")


def strategy_problems(fixed: dict[str, float], workload: Workload) -> list[tuple[str, int, str]]:
    """Why the fixed values of a strategy can never run ``workload``, whatever the hardware:
    ``(key, value, allowed)`` for each problem (empty when none)."""
    out: list[tuple[str, int, str]] = []
    name = workload.name
    if "tp" in fixed and not tp_divides(workload, int(fixed["tp"])):
        allowed = (f"a tp dividing the {workload.heads} attention heads of {name} and dividing (or a multiple of) "
                   f"its {workload.kv_heads} KV heads")
        out.append(("tp", int(fixed["tp"]), allowed))
    if "pp" in fixed and fixed["pp"] > workload.layers:
        out.append(("pp", int(fixed["pp"]), f"at most the {workload.layers} layers of {name}"))
    if "cp" in fixed and fixed["cp"] > 1 and workload.seq_len % (2 * int(fixed["cp"])) != 0:
        out.append(("cp", int(fixed["cp"]), f"a cp with 2*cp dividing the sequence length {workload.seq_len} of {name}"))
    # Without a fixed tp, tp 1 is the most permissive: a tp dividing the heads keeps (heads / tp) % n only where
    # heads % n already is 0 (the KV heads likewise; replicated ones, 1 a rank, split by no n >= 2).
    tp = int(fixed.get("tp", 1))
    if "cp" in fixed and not bool(a2a_splits_heads(workload, tp, int(fixed["cp"]))):
        at = f"at tp={tp}" if "tp" in fixed else "at tp=1 (no tp splits them better)"
        if workload.training.cp_comm_type == "a2a":
            out.append(("cp", int(fixed["cp"]), f"with cp_comm_type a2a, a cp dividing the {workload.heads // tp} "
                        f"query heads and {max(workload.kv_heads // tp, 1)} KV head(s) per rank {at} of {name}"))
        else:
            a2a = workload.training.cp_a2a_size
            out.append(("cp", int(fixed["cp"]), f"with cp_comm_type a2a+p2p and cp_a2a_size {a2a}, 1 or a multiple of "
                        f"{a2a}, where {a2a} divides the {workload.heads // tp} query heads and "
                        f"{max(workload.kv_heads // tp, 1)} KV head(s) per rank {at} of {name}"))
    if "cp" in fixed and not bool(cp_attention_runs(workload, int(fixed["cp"]))):
        out.append(("cp", int(fixed["cp"]), _cp_attention_refusal(workload)))
    if "ep" in fixed:
        ep = int(fixed["ep"])
        experts = workload.moe.num_experts if workload.moe is not None else 1
        if experts % ep != 0:
            out.append(("ep", ep, f"a divisor of the {experts} expert(s) of {name}" +
                        (" (a dense model: ep=1)" if workload.moe is None else "")))
    out += _pipeline_problems(fixed, workload)
    out += _recompute_layer_problems(fixed, workload)
    if "zero_stage" in fixed and fixed["zero_stage"] > workload.training.max_zero_stage:
        out.append(("zero", int(fixed["zero_stage"]), "0 or 1 with the Muon optimizer (Megatron-Core's Muon refuses "
                    "the distributed optimizer; ZeRO 1 is its layer-wise distributed optimizer)"))
    if "micro_batch" in fixed and fixed["micro_batch"] > workload.training.global_batch_seqs:
        out.append(("micro_batch", int(fixed["micro_batch"]),
                    f"at most the global batch of {name} ({workload.training.global_batch_seqs} sequences)"))
    return out


def _pipeline_problems(fixed: dict[str, float], workload: Workload) -> list[tuple[str, int, str]]:
    """A fixed pp / vpp that the job's pipeline cannot take: vpp > 1 without a pipeline (pp = 1) or with fewer layers
    than virtual stages (the search's own rule, :mod:`archsweep.model.training.mapping`); a pp (x vpp) that the job's
    ``pipeline_layout`` does not run at (Megatron-Core: pp x vpp = its stages). A pp not dividing layers + 2 under
    ``embedding_loss_in_pipeline_split`` stays an infeasible row (tests/load/test_embedding_loss_split_key.py)."""
    out: list[tuple[str, int, str]] = []
    job, layers = workload.training, workload.layers
    pp, vpp = int(fixed.get("pp", 0)), int(fixed.get("vpp", 0))
    if vpp > 1 and pp == 1:
        out.append(("vpp", vpp, "vpp 1 with pp=1 (an interleaved schedule needs a pipeline: pp > 1)"))
    elif vpp > 1 and pp > 1 and layers < pp * vpp:
        out.append(("vpp", vpp, f"at most {layers // pp} with pp={pp}: one of the {layers} layers of {workload.name} "
                                "per virtual stage at least"))
    if job.pipeline_layout and pp:
        layout = parse_layout(job.pipeline_layout)
        runs = [p for p in layout.pipeline_sizes() if not vpp or p * vpp == layout.stage_count]
        if pp not in runs:
            key, value = ("vpp", vpp) if vpp and layout.runs_on(pp) else ("pp", pp)
            out.append((key, value, f"pp x vpp = the {layout.stage_count} stages of pipeline_layout "
                                    f"{job.pipeline_layout!r} (pp one of {', '.join(map(str, runs)) or 'none'})"))
    return out


def _recompute_layer_problems(fixed: dict[str, float], workload: Workload) -> list[tuple[str, int, str]]:
    """A job's ``recompute_num_layers`` above the layers of one (virtual) pipeline stage of a strategy that fixes
    full recompute and pp (vpp 1 unless fixed): Megatron-Core counts it per TransformerBlock, i.e. per virtual stage
    (NVIDIA/Megatron-LM @d98e8a6 megatron/core/recompute.py ``checkpointed_forward``; its own message names "1 and
    num_layers_per_pipeline_rank"). A searched pp is not refused: a stage with fewer layers recomputes them all."""
    k = workload.training.recompute_num_layers
    if k <= 1 or fixed.get("recompute") != float(RECOMPUTE.index("full")) or "pp" not in fixed:
        return []
    pp, vpp = int(fixed["pp"]), int(fixed.get("vpp", 1))
    stage = -(-workload.layers // pp) // max(vpp, 1)
    if k <= stage:
        return []
    return [("pp", pp, f"a pipeline whose (virtual) stages hold at least the job's recompute_num_layers={k} of the "
                       f"{workload.layers} layers of {workload.name} (pp={pp}, vpp={vpp}: {stage} per stage)")]
