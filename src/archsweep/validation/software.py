"""What a row's software release could run: the stack's parallelism narrowed by the release's capabilities.

A stack of ``data/calibration/software_stacks.yaml`` describes its newest software. A row names the release it
ran (NGC / NeMo container ``YY.MM`` in its ``framework`` or ``run_id``: "NeMo Framework Release 24.04",
``ngc24.09``, "NeMo 24.07", ``nemo2407``, or the month of the NeMo git tag its code checks out, "a 2024-05 NeMo
tag"; the newest named when several are); an MLPerf row that names none is
bounded by its round's publication month (``mlperf_round_software``). An FP8 row whose release precedes the
stack's ``sharded_params_fp8_since`` could not shard parameters or gradients (NeMo's torch FSDP refuses FP8;
Megatron-FSDP came with NeMo 2.3.0 / container 25.04): the search keeps ZeRO 0-1 for it. Likewise an MXFP8 row
with FP8 parameters (``fp8_params`` yes) whose release precedes ``sharded_params_mxfp8_since`` (Megatron-FSDP
could not hold MXFP8 parameters before NeMo 26.02: TransformerEngine's ``replace_raw_data`` /
``cast_master_weights_to_fp8`` refuse ``MXFP8Tensor``; sources in the stack's entry). A row that names no
release and no round keeps the stack's whole parallelism.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from archsweep.load.stack_parallelism import load_stack_parallelism, load_stack_software
from archsweep.spec.stack import StackParallelism
from archsweep.validation.cells import cell_yes_no
from archsweep.validation.precision import is_fp8, recipe_of
from archsweep.validation.rows import calibration_stack

__all__ = ["row_parallelism", "row_release"]

#: Container release in free text: "release 24.04", "ngc24.09", "nemo 24.07", "nemo2407", "pytorch 24.04"; the month
#: of a NeMo git tag a Dockerfile checks out, "a 2024-05 NeMo tag" (data/validation/derive/mlperf_nemo_stack.py).
_RELEASE_PATTERNS = (re.compile(r"(?:release|ngc|nemo|pytorch|mxnet|hugectr)\s*(\d\d)\.(\d\d)\b"),
                     re.compile(r"\b(?:release|ngc|nemo)\s*(\d\d)(\d\d)\b"),
                     re.compile(r"\b(\d\d)\.(\d\d)\s+(?:mxnet|pytorch|nemo)"),
                     re.compile(r"\b20(\d\d)-(\d\d) nemo tag\b"))
_MLPERF_ROUND = re.compile(r"mlperf_train_v(\d+\.\d+)_")


def row_release(row: Mapping[str, str], rounds: Mapping[str, tuple[int, int]] | None = None) -> tuple[int, int] | None:
    """(YY, MM) of the newest container release the row's ``framework`` / ``run_id`` name, else its MLPerf
    round's bound from ``rounds``, else None."""
    text = " ".join(str(row.get(k) or "") for k in ("framework", "run_id")).lower().replace("_", " ")
    found = [(int(a), int(b)) for pat in _RELEASE_PATTERNS for a, b in pat.findall(text) if 1 <= int(b) <= 12]
    if found:
        return max(found)
    match = _MLPERF_ROUND.search(str(row.get("run_id") or "").lower())
    return (rounds or {}).get(match.group(1)) if match else None


def row_parallelism(row: Mapping[str, str]) -> StackParallelism:
    """What the search may choose for ``row``: its stack's parallelism, ZeRO 0-1 only for an FP8 row whose
    software release precedes the stack's ``sharded_params_fp8_since``, or an MXFP8 row with FP8 parameters
    (``fp8_params`` yes) whose release precedes ``sharded_params_mxfp8_since``."""
    stack = calibration_stack(row)
    allowed = load_stack_parallelism(stack)
    software = load_stack_software(stack)
    if not is_fp8(row):
        return allowed
    since = software.get("sharded_params_fp8_since")
    if recipe_of(row) == "mxfp8" and cell_yes_no(row, "fp8_params") and "sharded_params_mxfp8_since" in software:
        since = max(since or (0, 0), software["sharded_params_mxfp8_since"])
    if since is None:
        return allowed
    release = row_release(row, software.get("mlperf_round_software"))
    if release is None or release >= since:
        return allowed
    zero = allowed.values("zero")
    kept = tuple(z for z in (zero if zero is not None else (0, 1, 2, 3)) if isinstance(z, int) and z <= 1)
    return replace(allowed, allowed=tuple((k, kept if k == "zero" else v) for k, v in allowed.allowed))
