"""Precision and low-precision recipe of a measurement row (the ``precision`` column and the stack)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from archsweep.spec.low_precision import RecipeName
from archsweep.spec.training import Precision
from archsweep.validation.cells import cell_text
from archsweep.validation.types import Skip

__all__ = ["is_fp8", "precision_of", "recipe_of"]

#: A precision the text says the run does not use ("BF16 (no FP8 flag in the launch code)", "without FP8").
_NEGATED = re.compile(r"\b(?:no|not|without|non|w/o)[\s-]+(?:nv|mx)?(?:fp8|fp4|fp16|bf16|int8|int4)\b")


def _stated(row: Mapping[str, str]) -> str:
    """The row's ``precision`` text in lower case, without the precisions it negates."""
    return _NEGATED.sub(" ", cell_text(row, "precision").lower())


def precision_of(row: Mapping[str, str]) -> Precision:
    text = _stated(row)
    if "fp8" in text or "nvfp4" in text:
        return "fp8"  # the low-precision class; the recipe (recipe_of) says which
    if any(k in text for k in ("fp4", "int8", "int4")) or (text in ("fp32", "tf32")):
        raise Skip(f"precision {cell_text(row, 'precision')!r} not modelled; "
                   "allowed: BF16/FP16 mixed, FP8 recipes, NVFP4")
    return "bf16"


def is_fp8(row: Mapping[str, str]) -> bool:
    """Whether :func:`precision_of` puts the row in the low-precision (FP8 / NVFP4) class; a precision it skips
    (not modelled) counts as not FP8."""
    try:
        return precision_of(row) == "fp8"
    except Skip:
        return False


def recipe_of(row: Mapping[str, str]) -> RecipeName:
    """Scaling recipe of a low-precision row: named in the precision text (FP8-CS, FP8-MX / MXFP8,
    NVFP4), else the stack's per-tensor default: Megatron-Bridge performance scripts offer only
    current scaling as per-tensor FP8 (scripts/performance/argument_parser.py ``--compute_dtype``
    bf16 / fp8_cs / fp8_mx / fp8_sc / nvfp4), NeMo's and Megatron-LM's default is delayed scaling
    (NeMo scripts/performance ``--fp8_recipe`` default ``ds``; Megatron-LM ``--fp8-recipe delayed``)."""
    text = _stated(row)
    if "nvfp4" in text:
        return "nvfp4"
    if "mxfp8" in text or "fp8-mx" in text:
        return "mxfp8"
    if "fp8-cs" in text or "current" in text:
        return "current"
    stack = (cell_text(row, "framework") + " " + cell_text(row, "run_id")).lower()
    return "current" if ("megatron-bridge" in stack or stack.startswith("mbridge")) else "delayed"
