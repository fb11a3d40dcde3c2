"""The parallelism each software stack can run, from the ``parallelism`` block of a stack in
``data/calibration/software_stacks.yaml`` (:class:`~archsweep.spec.stack.StackParallelism`).

Block format, one entry per key of :data:`~archsweep.spec.stack.PARALLELISM_KEYS`::

    parallelism:
      tp: {value: [1], source: ..., locator: ..., confidence: high}
      recompute: {value: [none, full], source: ..., locator: ..., confidence: high}
      pp: {value: all, source: ..., locator: ..., confidence: high}

``all`` = every value the model enumerates. A stack ``based_on`` another without its own block
takes the other's; every stack of the file must end with a full block (all seven keys, sourced). Beside the
block, ``tp_comm_overlap: {value: true | false, source, locator, confidence}`` says whether the stack can overlap
the tensor-parallel collectives with the GEMMs (kept from the ``based_on`` stack where a stack leaves it out).
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from archsweep.load.low_precision import load_low_precision_recipes
from archsweep.load.paths import data_dir
from archsweep.load.yamlio import load_yaml
from archsweep.spec.errors import InputError
from archsweep.spec.stack import PARALLELISM_KEYS, StackParallelism, check_value
from archsweep.spec.training import TrainingJob

__all__ = ["CAPABILITY_KEYS", "SOFTWARE_KEYS", "job_parallelism", "load_stack_parallelism", "load_stack_software",
           "stacks_path"]

#: Stack keys on what the stack's software releases can run (:func:`load_stack_software`) and whether it can
#: overlap the TP collectives (``tp_comm_overlap``, read by :func:`load_stack_parallelism`): not constants.
SOFTWARE_KEYS = ("sharded_params_fp8_since", "sharded_params_mxfp8_since", "mlperf_round_software")
CAPABILITY_KEYS = ("tp_comm_overlap",)

_PROVENANCE = ("value", "source", "locator", "confidence")
_ALLOWED_TEXT = {"recompute": "'all' or a list of none, selective, full", "zero": "'all' or a list of ZeRO stages 0..3"}


def stacks_path() -> Path:
    """Path of the software-stack file, ``data/calibration/software_stacks.yaml`` (read here and by
    :mod:`archsweep.load.calibration`)."""
    return data_dir() / "calibration" / "software_stacks.yaml"


def _stack_entry(stack: str) -> tuple[str, dict[str, Any], Any]:
    """(file, whole document, ``stack``'s entry) of ``data/calibration/software_stacks.yaml``.

    Raises:
        InputError: ``stack`` is not a stack of the file (lists those that are).
    """
    path = stacks_path()
    file = str(path)
    doc = load_yaml(path)
    if not isinstance(doc, dict) or stack not in doc:
        raise InputError(file, "stack", stack, "one of " + ", ".join(doc if isinstance(doc, dict) else ()))
    return file, doc, doc[stack]


def _check_sourced(item: object, file: str, key_path: str) -> None:
    """Raises InputError naming ``key_path.<field>`` unless ``item`` is a mapping with value, source, locator, confidence."""
    for field in _PROVENANCE:
        if not isinstance(item, dict) or field not in item:
            raise InputError(file, f"{key_path}.{field}", "<missing>", "every entry carries value, source, locator, confidence")


@cache
def load_stack_parallelism(stack: str) -> StackParallelism:
    """What ``stack`` can run (its ``parallelism`` block, or its ``based_on`` stack's).

    Raises:
        InputError: unknown stack, a missing block or key, a value outside what is allowed, or an
            entry without value / source / locator / confidence (names file and key path).
    """
    file, doc, entry = _stack_entry(stack)
    block = entry.get("parallelism")
    if block is None and entry.get("based_on") in doc:
        base = load_stack_parallelism(entry["based_on"])
        return StackParallelism(stack, base.allowed, _tp_comm_overlap(file, stack, entry, base.tp_overlap))
    if not isinstance(block, dict):
        raise InputError(file, f"{stack}.parallelism", "<missing>",
                         "a mapping of " + ", ".join(PARALLELISM_KEYS) + " -> {value, source, locator, confidence}")
    unknown = sorted(set(block) - set(PARALLELISM_KEYS))
    if unknown:
        raise InputError(file, f"{stack}.parallelism.{unknown[0]}", "<unknown key>", "one of " + ", ".join(PARALLELISM_KEYS))
    allowed: list[tuple[str, tuple[int | str, ...] | None]] = []
    for key in PARALLELISM_KEYS:
        item, key_path = block.get(key), f"{stack}.parallelism.{key}"
        if not isinstance(item, dict):
            raise InputError(file, key_path, "<missing>", "{value, source, locator, confidence}")
        _check_sourced(item, file, key_path)
        value = item["value"]
        what = _ALLOWED_TEXT.get(key, "'all' or a list of positive integers")
        if value == "all":
            allowed.append((key, None))
            continue
        if not isinstance(value, list) or not value or not all(check_value(key, v) for v in value):
            raise InputError(file, f"{key_path}.value", value, what)
        allowed.append((key, tuple(value)))
    base_overlap = load_stack_parallelism(entry["based_on"]).tp_overlap if entry.get("based_on") in doc else None
    return StackParallelism(stack, tuple(allowed), _tp_comm_overlap(file, stack, entry, base_overlap))


def job_parallelism(stack: str, training: TrainingJob) -> StackParallelism:
    """What a study's search may choose for a ``training`` job on ``stack``: the stack's parallelism, with TP
    communication overlap only where the stack offers it AND the job's low-precision recipe runs with it
    (``tp_comm_overlap`` of ``data/calibration/low_precision_recipes.yaml``: false for NVFP4, whose published
    Megatron-Bridge recipes switch it off). BF16 / FP16 jobs keep the stack's.

    Raises:
        InputError: as :func:`load_stack_parallelism` and the recipe loader.
    """
    allowed = load_stack_parallelism(stack)
    if not allowed.tp_overlap or training.precision != "fp8":
        return allowed
    if load_low_precision_recipes()[training.low_precision_recipe].tp_comm_overlap:
        return allowed
    return replace(allowed, tp_overlap=False)


def _tp_comm_overlap(file: str, stack: str, entry: dict[str, Any], inherited: bool | None) -> bool:
    """The stack's ``tp_comm_overlap`` (sourced true / false: whether its software can overlap the TP collectives
    with the GEMMs), else the ``based_on`` stack's (``inherited``); a stack with neither must state it.

    Raises:
        InputError: the key is missing where nothing is inherited, lacks provenance, or is not a boolean.
    """
    key_path = f"{stack}.tp_comm_overlap"
    item = entry.get("tp_comm_overlap")
    if item is None:
        if inherited is None:
            raise InputError(file, key_path, "<missing>", "{value: true or false, source, locator, confidence}")
        return inherited
    _check_sourced(item, file, key_path)
    if not isinstance(item["value"], bool):
        raise InputError(file, f"{key_path}.value", item["value"], "true or false")
    return item["value"]


_RELEASE = re.compile(r"^\d\d\.\d\d$")


@cache
def load_stack_software(stack: str) -> dict[str, Any]:
    """The stack's software-release keys (``sharded_params_fp8_since``: first container release "YY.MM" that
    shards the parameters of an FP8 run; ``sharded_params_mxfp8_since``: the same for MXFP8 parameters;
    ``mlperf_round_software``: MLPerf round -> "YY.MM" bound), its own or,
    like the parallelism block, its ``based_on`` stack's when it has no parallelism of its own; {} when none. Releases are returned as (YY, MM) tuples.

    Raises:
        InputError: unknown stack, an entry without provenance, or a release that is not "YY.MM".
    """
    file, doc, entry = _stack_entry(stack)
    if not any(k in entry for k in SOFTWARE_KEYS) and "parallelism" not in entry and entry.get("based_on") in doc:
        return load_stack_software(entry["based_on"])
    out: dict[str, Any] = {}
    for key in SOFTWARE_KEYS:
        if key not in entry:
            continue
        item, key_path = entry[key], f"{stack}.{key}"
        _check_sourced(item, file, key_path)
        value = item["value"]
        releases = value.values() if isinstance(value, dict) else [value]
        if not all(isinstance(v, str) and _RELEASE.match(v) for v in releases):
            raise InputError(file, f"{key_path}.value", value, 'a release "YY.MM" (or a mapping of MLPerf round -> "YY.MM")')
        if isinstance(value, dict):
            out[key] = {str(k): _release(v) for k, v in value.items()}
        else:
            out[key] = _release(value)
    return out


def _release(text: str) -> tuple[int, int]:
    yy, mm = text.split(".")
    return int(yy), int(mm)
