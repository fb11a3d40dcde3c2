"""What parallelism a software stack can run (``parallelism`` of a stack in
``data/calibration/software_stacks.yaml``): the mapping values its code offers, per key.

A documented fact about the software, not a model constant: llm-foundry of 2023-24 trains with
PyTorch FSDP only, so a validation row that ran on it is searched over FSDP mappings only (the
best-mapping search must not claim a TP/PP/CP layout the row's stack could not run). Pure: the
loader (:mod:`archsweep.load.stack_parallelism`) builds it; validation expands a row's strategy
text with :meth:`StackParallelism.strategies`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from archsweep.spec.strategy import RECOMPUTE, STRATEGY_KEYS, parse_strategy

__all__ = ["PARALLELISM_KEYS", "StackParallelism", "check_value"]

#: Keys of a stack's ``parallelism`` block, in strategy-text spelling (recompute by name).
PARALLELISM_KEYS: tuple[str, ...] = ("tp", "pp", "cp", "ep", "vpp", "zero", "recompute")


@dataclass(frozen=True)
class StackParallelism:
    """Allowed values per key (``None``: every value the model enumerates), and whether the stack offers
    tensor-parallel communication overlap (``tp_overlap``: the stack's ``tp_comm_overlap`` key, e.g.
    Megatron-Core's ``--tp-comm-overlap`` through TransformerEngine userbuffers; a study's search then offers the
    overlapped variant of each TP + sequence-parallel mapping, :func:`archsweep.model.training.mapping.enumerate_mappings`)."""

    stack: str
    allowed: tuple[tuple[str, tuple[int | str, ...] | None], ...]
    tp_overlap: bool = False

    def values(self, key: str) -> tuple[int | str, ...] | None:
        """Allowed values of ``key`` (a :data:`PARALLELISM_KEYS` name), None when unrestricted."""
        return dict(self.allowed).get(key)

    def allows(self, key: str, value: int | str) -> bool:
        """Whether the stack can run ``key = value`` (``recompute`` by name, others integers)."""
        vals = self.values(key)
        return vals is None or value in vals

    def strategies(self, strategy: str) -> tuple[str, ...]:
        """``strategy`` with every restricted key it leaves open fixed to each allowed value.

        Keys the text states are kept as stated (the row ran them); an open key with one allowed
        value is fixed, one with several gives one strategy per value (the caller keeps the
        fastest), so the model's search never picks what the stack cannot run.
        """
        given = {STRATEGY_KEYS[k.strip().split("=")[0].lower()] for k in strategy.split(",") if "=" in k}
        parse_strategy(strategy)  # a malformed text fails here with the key named
        open_keys = [(k, v) for k, v in self.allowed if v is not None and STRATEGY_KEYS[k] not in given]
        if not open_keys:
            return (strategy,)
        out = []
        for combo in itertools.product(*(v for _, v in open_keys)):
            extra = ",".join(f"{k}={x}" for (k, _), x in zip(open_keys, combo, strict=True))
            out.append(f"{strategy},{extra}" if strategy else extra)
        return tuple(out)


def check_value(key: str, value: object) -> bool:
    """Whether ``value`` is a valid entry of ``key`` in a parallelism block."""
    if key == "recompute":
        return value in RECOMPUTE
    if key == "zero":
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
