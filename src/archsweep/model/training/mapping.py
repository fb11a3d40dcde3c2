"""Parallelism mappings (the software side of co-design) as a struct of arrays.

A mapping fixes how one training step is laid out on the accelerators: tensor (TP, with or
without sequence parallelism), pipeline (PP, 1F1B with ``vpp`` interleaved virtual stages),
context (CP, ring attention), expert (EP, all-to-all) and data parallelism (DP, with
ZeRO-1/2/3 or FSDP = ZeRO-3), the micro-batch size, activation recomputation and
communication/computation overlap. The data-parallel degree is not enumerated: it follows
from the accelerator count, ``dp = N / (tp * pp * cp)``.

:func:`enumerate_mappings` returns every mapping that is valid for a workload (divisibility),
independent of the hardware, as one batch; :mod:`archsweep.model.driver` broadcasts it
against a batch of hardware candidates and picks the best feasible one per candidate.
Ranks are laid out Megatron-style, TP innermost, then CP, then DP (EP inside DP), PP outermost.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np

from archsweep.spec.columns import MAPPING_COLUMNS
from archsweep.spec.errors import InputError
from archsweep.spec.stack import StackParallelism
from archsweep.spec.strategy import (
    RECOMPUTE,
    STRATEGY_KEYS,
    a2a_splits_heads,
    cp_attention_runs,
    parse_strategy,
    tp_divides,
)
from archsweep.spec.workload import Workload

__all__ = ["MappingArrays", "RECOMPUTE", "parse_strategy", "enumerate_mappings", "restrict_to_stack", "MAPPING_COLUMNS",
           "data_parallel_degree", "microbatch_count", "TP_DEGREES", "PP_DEGREES", "CP_DEGREES", "MIN_CP_LOCAL_SEQ",
           "valid_cp_degrees"]

#: The TP / PP / CP degrees :func:`enumerate_mappings` tries (validation.optimism reads them to tell a stated
#: mapping outside the searched space).
TP_DEGREES = (1, 2, 4, 8, 16, 32, 64)
PP_DEGREES = (1, 2, 4, 8, 16, 32, 64, 128)
CP_DEGREES = (1, 2, 4, 8, 16, 32)
_VPP = (1, 2, 4)
_MB = (1, 2, 4, 8)
_ZERO = (1, 2, 3)
#: Smallest sequence per CP rank (tokens) the search offers: a guard, not a limit of the software. Neither
#: Megatron-LM nor TransformerEngine sets a minimum (only the divisibility of :func:`valid_cp_degrees`), and published
#: runs go down to 1024 tokens per rank: MLPerf Training v5.0 / v5.1 Llama 2 70B LoRA at 8192 tokens with TP1 CP8
#: (mlcommons/training_results_v5.1 NVIDIA/benchmarks/llama2_70b_lora/implementations/nemo/
#: config_GB200_18x4x1xtp1pp1cp8.sh ``export CP=8``; 30 CP8 configs of 8 submitters in v5.1, all DGX B200 / GB200 /
#: GB300). Lowered to 1024 the search picks CP 4 / CP 8 on Hopper, L40S and MI300X jobs, where no run measured them
#: and every expert config kept CP <= 2 (H100 / H200: TP4 CP2 in all v4.0-v5.0 multi-node configs), and search
#: optimism worsens (rows above 1.25: 21 -> 27, docs/model-accuracy.md s20-B). s21-G priced the ring per step from
#: TransformerEngine's code (each hop hidden only behind its own step: L40S 1.74 -> 1.67, Hopper NVLink unmoved)
#: and the short-kernel rates of FlashAttention-3 Fig. 5 / 6 (TP2 CP4 +2-3 % on H100, not coded: the Blackwell
#: CP8 rows would move the wrong way): the Hopper TP2 CP4 gain stays ~9 %, so the search stays at >= 4096 tokens.
MIN_CP_LOCAL_SEQ = 4096


@dataclass(frozen=True)
class MappingArrays:
    """A batch of mappings (float64 arrays of one broadcast shape; flags are 0/1).

    ``dp`` may be NaN in an enumerated batch: it is derived per hardware candidate.
    """

    tp: np.ndarray
    pp: np.ndarray
    cp: np.ndarray
    ep: np.ndarray
    vpp: np.ndarray
    micro_batch: np.ndarray
    recompute: np.ndarray
    zero_stage: np.ndarray
    sequence_parallel: np.ndarray
    flash_attention: np.ndarray
    tp_overlap: np.ndarray
    dp_overlap: np.ndarray

    def take(self, index: np.ndarray) -> MappingArrays:
        """Rows ``index`` of a 1-D batch."""
        return MappingArrays(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def reshape(self, shape: tuple[int, ...]) -> MappingArrays:
        return MappingArrays(**{f.name: np.reshape(getattr(self, f.name), shape) for f in fields(self)})

    def __len__(self) -> int:
        return int(np.size(self.tp))


def _valid_tp(workload: Workload) -> list[int]:
    return [t for t in TP_DEGREES if tp_divides(workload, t)]


def valid_cp_degrees(seq_len: int) -> tuple[int, ...]:
    """The CP degrees of :data:`CP_DEGREES` the search offers at ``seq_len`` tokens per sequence.

    cp > 1 needs ``seq_len % (2 cp) == 0``: the load-balanced causal split hands each rank two of 2 cp equal
    chunks (NVIDIA/Megatron-LM megatron/training/arguments.py L1335-1338 @d98e8a64dd asserts 'seq-length should
    be a multiple of 2 * context-parallel-size'; NVIDIA/TransformerEngine @d0067d0da
    transformer_engine/pytorch/attention/dot_product_attention/context_parallel.py L1569-1571 'Sequence length
    per GPU needs to be divisible by 2!'), and at least :data:`MIN_CP_LOCAL_SEQ` tokens per rank.
    """
    return tuple(c for c in CP_DEGREES
                 if c == 1 or (seq_len % (2 * c) == 0 and seq_len // c >= MIN_CP_LOCAL_SEQ))


def _valid_cp(workload: Workload) -> list[int]:
    return list(valid_cp_degrees(workload.seq_len))


def _valid_ep(workload: Workload) -> list[int]:
    if workload.moe is None:
        return [1]
    e = workload.moe.num_experts
    return [x for x in (1, 2, 4, 8, 16, 32, 64, 128, 256) if x <= e and e % x == 0]


def _product(choices: dict[str, Iterable[float]]) -> dict[str, np.ndarray]:
    names = list(choices)
    grid = np.array(list(itertools.product(*(list(choices[n]) for n in names))), dtype=np.float64)
    return {n: grid[:, i] for i, n in enumerate(names)}


def enumerate_mappings(workload: Workload, fixed: dict[str, float] | None = None, *,
                       tp_overlap: bool = False) -> tuple[MappingArrays, float | None]:
    """Every hardware-independent valid mapping for ``workload`` as one 1-D batch (under ``cp_comm_type`` "a2a" only
    the tp x cp whose rank's heads cp splits, under "a2a+p2p" only a cp that is 1 or a multiple of ``cp_a2a_size``
    with the heads split by it: :func:`~archsweep.spec.strategy.a2a_splits_heads`; for a model with sliding-window
    layers cp > 1 only under "a2a" / "all_gather", with attention sinks only under "a2a":
    :func:`~archsweep.spec.strategy.cp_attention_runs`).

    Args:
        workload: the model being trained.
        fixed: values from :func:`parse_strategy`; those keys are not searched.
        tp_overlap: the software stack can overlap the TP collectives with the GEMMs (a stack's
            ``tp_comm_overlap``, :class:`archsweep.spec.stack.StackParallelism`): where ``fixed`` leaves it
            open, every mapping with tp > 1 and sequence parallelism runs it (Megatron-LM asserts sequence
            parallelism for ``tp_comm_overlap``: megatron/training/arguments.py L1441-1442 @d98e8a64dd). Only the
            overlapped variant is offered, not both: the model prices the overlap as a share
            (``tp_overlap_residual`` <= 1) of the same exposed TP time and charges it no memory, so it never
            costs more (tests/model/test_study_tp_overlap.py). False: 0 (validation, which keeps a row's stated overlap).
            A fixed ``tp_overlap`` runs only where sequence parallelism does, as Megatron-LM requires.

    Returns:
        (mappings, dp) where dp is the fixed data-parallel degree, or None to derive it.

    Raises:
        InputError: ``fixed`` turns TP overlap on with sequence parallelism off at a TP degree above 1
            (Megatron-LM arguments.py L1441-1442 asserts against it).
    """
    fixed = dict(fixed or {})
    if fixed.get("tp_overlap") and not fixed.get("sequence_parallel", 1) and fixed.get("tp", 2) != 1:
        raise InputError("<mapping>", "strategy.tp_overlap", "tp_overlap=1",
                         "with sp on (Megatron-LM asserts sequence parallelism for tp_comm_overlap)")
    fixed_dp = fixed.pop("dp", None)
    layers = workload.layers
    choices: dict[str, Iterable[float]] = {
        "tp": _valid_tp(workload),
        "pp": [p for p in PP_DEGREES if p <= layers],
        "cp": _valid_cp(workload),
        "ep": _valid_ep(workload),
        "vpp": _VPP,
        "micro_batch": [m for m in _MB if m <= workload.training.global_batch_seqs],
        "recompute": range(len(RECOMPUTE)),
        "zero_stage": _ZERO,
        "sequence_parallel": (1,),
        "flash_attention": (1,),
        "tp_overlap": (1,) if tp_overlap else (0,),
        "dp_overlap": (1,),
    }
    for name, value in fixed.items():
        choices[name] = (value,)
    cols = _product(choices)
    pp, vpp, tp = cols["pp"], cols["vpp"], cols["tp"]
    keep = np.ones(pp.shape, dtype=bool)
    if "vpp" not in fixed:
        # Interleaving only with a pipeline and at least one layer per virtual stage (uneven splits
        # allowed, as in Llama 3's pipeline: the slowest stage takes ceil(L / pp) layers).
        keep &= (vpp == 1) | ((pp > 1) & (layers >= pp * vpp))
    if "recompute" not in fixed:
        # With flash attention, selective recomputation (of the unfused attention core) costs and
        # saves nothing: identical to "none", so it is not enumerated twice.
        keep &= ~((cols["flash_attention"] > 0) & (cols["recompute"] == RECOMPUTE.index("selective")))
    keep &= a2a_splits_heads(workload, tp, cols["cp"])  # TransformerEngine's all-to-all splits each rank's heads over cp
    keep &= cp_attention_runs(workload, cols["cp"])  # and runs a window / sinks only under some cp_comm_types
    cols["sequence_parallel"] = np.where(tp > 1, cols["sequence_parallel"], 0.0)
    overlap_ok = (tp > 1) & (cols["sequence_parallel"] > 0)
    cols["tp_overlap"] = np.where(overlap_ok, cols["tp_overlap"], 0.0)
    mappings = MappingArrays(**{k: v[keep] for k, v in cols.items()})
    return mappings, fixed_dp


def restrict_to_stack(mappings: MappingArrays, parallelism: StackParallelism) -> MappingArrays:
    """The mappings of ``mappings`` the software stack can run (its ``parallelism`` block in
    ``data/calibration/software_stacks.yaml``): e.g. no TP / PP / CP on llm-foundry's FSDP, no
    pipeline under DeepSpeed ZeRO-3; no TP communication overlap where the stack has none
    (``tp_comm_overlap`` false). Unrestricted keys keep every value; order is kept (the same
    object when the stack restricts nothing)."""
    no_overlap = not parallelism.tp_overlap and bool(np.any(np.asarray(mappings.tp_overlap) > 0))
    if all(allowed is None for _, allowed in parallelism.allowed) and not no_overlap:
        return mappings
    keep = np.ones(len(mappings), dtype=bool)
    if no_overlap:
        keep &= np.asarray(mappings.tp_overlap) == 0
    for key, allowed in parallelism.allowed:
        if allowed is None:
            continue
        column = np.asarray(getattr(mappings, STRATEGY_KEYS[key]))
        codes = [RECOMPUTE.index(str(v)) for v in allowed] if key == "recompute" else [float(v) for v in allowed]
        keep &= np.isin(column, codes)
    return mappings.take(np.flatnonzero(keep))


def data_parallel_degree(accelerator_count: np.ndarray, mp: MappingArrays, fixed_dp: float | None) -> np.ndarray:
    """Data-parallel degree: the accelerators left after TP x PP x CP (at least 1), or the given one."""
    n_acc = np.asarray(accelerator_count, dtype=np.float64)
    dp = np.floor(n_acc / (mp.tp * mp.pp * mp.cp)) if fixed_dp is None else np.full(np.shape(n_acc), float(fixed_dp))
    return np.maximum(dp, 1.0)


def microbatch_count(global_batch_seqs: int, dp: np.ndarray, mp: MappingArrays) -> np.ndarray:
    """Micro-batches per step and pipeline: global batch / (dp x micro-batch), at least 1."""
    return np.maximum(np.floor(float(global_batch_seqs) / (dp * mp.micro_batch)), 1.0)


def expert_tensor_parallel(mp: MappingArrays, dp: np.ndarray) -> np.ndarray:
    """Tensor-parallel width of the expert layers (Megatron-Core "MoE parallel folding", Liu et al.,
    arXiv:2504.14960; ``expert_tensor_parallel_size``): experts are split like the dense layers
    (ETP = tp) when EP fits in DP x CP, else EP folds over the TP ranks too with unsplit experts
    (ETP = 1), e.g. TP 2 x EP 32 on 256 H100 with DP x CP = 16 (the Megatron-Bridge Qwen3-235B rows).
    """
    fits = (mp.ep <= dp * mp.cp) & (np.mod(dp * mp.cp, mp.ep) == 0)
    return np.where(fits, mp.tp, 1.0)

