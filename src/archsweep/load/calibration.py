"""Calibration constants of the training performance model, from ``data/calibration/model.yaml``.

One set of constants for every accelerator (no per-run tuning). Each entry in the file carries
``value``, ``source``, ``locator`` and ``confidence``; this module parses it into a frozen
:class:`Calibration` in SI units.
"""

from __future__ import annotations

from dataclasses import fields, replace
from functools import cache
from pathlib import Path

from archsweep.load.paths import data_dir
from archsweep.load.stack_parallelism import CAPABILITY_KEYS, SOFTWARE_KEYS, stacks_path
from archsweep.load.units import parse_quantity
from archsweep.load.yamlio import load_yaml
from archsweep.spec.calibration import DEFAULT_STACK, Calibration
from archsweep.spec.errors import InputError

__all__ = ["held_out_lower_bounds", "held_out_priors", "load_calibration", "load_base_calibration", "software_stacks"]

# moe_host_s_per_token is seconds per token: a time, as its per-call sibling ("0.5 ms" / 4096 = "122 ns").
_DIMENSIONS = {"kernel_overhead_s": "time", "moe_layer_host_overhead_s": "time", "moe_host_ungraphed_extra_s": "time",
               "moe_host_shared_expert_ungraphed_s": "time", "moe_host_s_per_token": "time",
               "memory_reserved_bytes": "bytes"}
_REQUIRED_PROVENANCE = ("value", "source", "locator", "confidence")
_STACK_ONLY = {"stack", "elementwise_traffic_multiplier", "attention_mma_cap_flops_per_cycle_per_unit",
               "alibi_bias_bytes_per_score", "sharded_gather_flat", "zero3_live_params_cap",
               "zero3_grad_bucket_params", "zero3_max_reuse_distance_params", "zero3_nonunit_unsharded", "zero2_grad_queue_params",
               "moe_layer_host_overhead_s", "moe_host_s_per_token", "moe_host_ungraphed_extra_s",
               "moe_host_shared_expert_ungraphed_s", "moe_fp8_padding_bytes_per_element", "moe_a2a_overlap", "moe_a2a_overlap_sms",
               "moe_deepep_overlap_sms",
               "moe_local_sort_bytes_per_element", "moe_shared_add_bytes_per_element",
               "moe_dispatch_per_domain",
               "clamped_glu_bytes_fwd_per_element", "clamped_glu_bytes_bwd_per_element", "clamped_glu_kernels_fwd",
               "clamped_glu_kernels_bwd", "expert_bias_bytes_fwd_per_element", "expert_bias_bytes_bwd_per_element",
               "expert_bias_kernels_fwd_per_expert", "expert_bias_kernels_bwd_per_expert",
               "low_precision_gemm_dtype", "low_precision_gemm_rate_factor",
               "fp8_norm_quantize_bytes_per_element", "fp8_quantize_bytes_per_element_any_layout",
               "fp8_norm_quantize_bytes_per_element_any_layout", "fp8_weight_transpose_bytes_per_element",
               "te_fp8_weight_cache", "te_a2a_p2p_backward_sends_output", "fp8_weight_copy_bytes_per_param", "fp8_weight_copy_bytes_per_param_any_layout",
               "param_gather_bytes_per_param",
               "fp8_split_quantize_kernels", "fp8_split_quantize_kernels_any_layout",
               "fp8_tp_grad_regather_bytes_per_element", "fp8_quantize_hbm_share", "fp8_attention_rate_ratio",
               "hbm_usable_fraction", "checkpoint_early_stop", "dp_grad_reduce_bytes_per_param",
               "fsdp_unsharded_grad_pass_bytes_per_param", "fsdp_shard_grad_pass_bytes_per_param",
               "fsdp_shard_accumulate_bytes_per_param", "fsdp_param_cast_bytes_per_param"}
#: Figures that ``load.part_physics.job_calibration`` sets per job from data/calibration/low_precision_recipes.yaml
#: (the quantised weight copies, the FP8-parameter gather): a stack's value would be overwritten or, for a job
#: without FP8 parameters, read in its place, so software_stacks.yaml may not set them.
_PER_JOB = ("fp8_weight_copy_bytes_per_param", "fp8_weight_copy_bytes_per_param_any_layout",
            "param_gather_bytes_per_param")
#: 0 / 1 switches: collectives reads moe_dispatch_per_domain > 0 as 1, memory, part_physics and cp_collectives read
#: the others as on / off, so no other value may pass.
_SWITCHES = ("checkpoint_early_stop", "moe_dispatch_per_domain", "te_fp8_weight_cache", "te_a2a_p2p_backward_sends_output",
             "zero3_nonunit_unsharded")
#: Shares: name -> (0 allowed, the range as an error names it). ``hbm_usable_fraction`` is a share of the HBM
#: capacity; ``overlap_interference`` 0 = perfect overlap, 1 = serial (model.training.overlap): above 1 an
#: overlapped collective would cost more than a serial one.
_SHARES: dict[str, tuple[bool, str]] = {"hbm_usable_fraction": (False, "a fraction in (0, 1]"),
                                        "overlap_interference": (True, "a share in [0, 1]"),
                                        "attention_fwd_tail_share": (True, "a share in [0, 1] of the longest block"),
                                        "attention_bwd_tail_share": (True, "a share in [0, 1] of the longest block")}


@cache
def software_stacks() -> tuple[str, ...]:
    """Names of the software stacks in ``data/calibration/software_stacks.yaml``."""
    doc = load_yaml(stacks_path())
    return tuple(doc) if isinstance(doc, dict) else ()


@cache
def load_calibration(path: Path | None = None, *, stack: str = DEFAULT_STACK) -> Calibration:
    """Model constants for ``stack`` (default ``data/calibration/model.yaml`` + the stack's overrides).

    Raises:
        InputError: unknown stack (lists the known ones), or a malformed/unsourced constant.
    """
    base = _load_base(path)
    stacks_file = stacks_path()
    doc = load_yaml(stacks_file)
    if not isinstance(doc, dict) or stack not in doc:
        raise InputError(str(stacks_file), "stack", stack, "one of " + ", ".join(software_stacks()))
    overrides: dict[str, float] = {}
    names = {f.name for f in fields(Calibration)} - {"stack"}
    parent = doc[stack].get("based_on")
    if parent is not None:
        # A recipe variant of another stack: that stack's constants, then its own overrides.
        if parent not in doc or parent == stack or "based_on" in doc[parent]:
            raise InputError(str(stacks_file), f"{stack}.based_on", str(parent),
                             "another stack of the file that is not itself based on one")
        base = load_calibration(path, stack=parent)
    for name, entry in doc[stack].items():
        if name in ("description", "based_on", "parallelism", *SOFTWARE_KEYS, *CAPABILITY_KEYS):
            continue
        if name not in names:
            raise InputError(str(stacks_file), f"{stack}.{name}", "<unknown key>",
                             "one of " + ", ".join(sorted(names)))
        if name in _PER_JOB:
            raise InputError(str(stacks_file), f"{stack}.{name}", "<a stack value>", "no stack value: set per job "
                             "from data/calibration/low_precision_recipes.yaml (load.part_physics.job_calibration)")
        overrides[name] = _sourced_number(entry, name, str(stacks_file), f"{stack}.{name}")
        _check_share(name, overrides[name], str(stacks_file), f"{stack}.{name}.value")
        if name in _SWITCHES and overrides[name] not in (0.0, 1.0):
            raise InputError(str(stacks_file), f"{stack}.{name}.value", str(overrides[name]), "0 or 1")
    return replace(base, stack=stack, **overrides)


def held_out_priors(path: Path | None = None) -> dict[tuple[str, str], float]:
    """Sourced priors of fitted constants, ``(stack, constant) -> value`` in SI units, from
    ``data/calibration/held_out_priors.yaml``: what a held-out refit takes where no row of the
    constant's fit set remains (``archsweep.validation.holdout``).

    Raises:
        InputError: an unknown stack or constant, or a value without its provenance.
    """
    return _held_out(_held_out_path(path))[0]


def held_out_lower_bounds(path: Path | None = None) -> frozenset[tuple[str, str]]:
    """``(stack, constant)`` pairs whose prior in ``data/calibration/held_out_priors.yaml`` is a
    sourced lower bound (``bound: lower``): a held-out refit from the remaining rows never goes
    below it (``archsweep.validation.holdout``).

    Raises:
        InputError: a ``bound`` other than ``lower``; the errors of :func:`held_out_priors`.
    """
    return _held_out(_held_out_path(path))[1]


def _held_out_path(path: Path | None) -> Path:
    return Path(path) if path is not None else data_dir() / "calibration" / "held_out_priors.yaml"


@cache
def _held_out(path: Path) -> tuple[dict[tuple[str, str], float], frozenset[tuple[str, str]]]:
    """``data/calibration/held_out_priors.yaml`` read and checked once: (priors, lower bounds). Every value is
    checked before any ``bound``, so the first error a file reports does not depend on which view asked."""
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise InputError(str(path), "", type(doc).__name__, "a mapping of stack -> constant -> {value, source, locator, confidence}")
    names = {f.name for f in fields(Calibration)} - {"stack"}
    stacks = software_stacks()
    priors: dict[tuple[str, str], float] = {}
    bounds: list[tuple[str, str, object]] = []
    for stack, entries in doc.items():
        if stack not in stacks:
            raise InputError(str(path), str(stack), "<unknown stack>", "one of " + ", ".join(stacks))
        if not isinstance(entries, dict):
            raise InputError(str(path), str(stack), type(entries).__name__, "a mapping of constant -> {value, source, locator, confidence}")
        for name, entry in entries.items():
            if name not in names:
                raise InputError(str(path), f"{stack}.{name}", "<unknown key>", "one of " + ", ".join(sorted(names)))
            priors[(str(stack), str(name))] = _sourced_number(entry, name, str(path), f"{stack}.{name}")
            if entry.get("bound") is not None:
                bounds.append((str(stack), str(name), entry["bound"]))
    for stack, name, bound in bounds:
        if bound != "lower":
            raise InputError(str(path), f"{stack}.{name}.bound", str(bound),
                             "lower (the prior is a sourced lower bound), or no bound key")
    return priors, frozenset((stack, name) for stack, name, _ in bounds)


def load_base_calibration() -> Calibration:
    """``data/calibration/model.yaml`` alone: the unfitted defaults a held-out fit falls back to."""
    return _load_base(None)


def _sourced_number(entry: object, name: str, file: str, key_path: str) -> float:
    if not isinstance(entry, dict):
        raise InputError(file, key_path, "<missing>", "{value, source, locator, confidence}")
    for key in _REQUIRED_PROVENANCE:
        if key not in entry:
            raise InputError(file, f"{key_path}.{key}", "<missing>", "every constant carries value, source, locator, confidence")
    return parse_quantity(entry["value"], _DIMENSIONS.get(name, "dimensionless"),  # type: ignore[arg-type]
                          file=file, key_path=f"{key_path}.value", non_negative=True)


@cache
def _load_base(path: Path | None) -> Calibration:
    path = Path(path) if path is not None else data_dir() / "calibration" / "model.yaml"
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise InputError(str(path), "", type(doc).__name__, "a mapping of constant name -> {value, source, locator, confidence}")
    names = [f.name for f in fields(Calibration) if f.name not in _STACK_ONLY]
    unknown = sorted(set(doc) - set(names))
    if unknown:
        raise InputError(str(path), unknown[0], "<unknown key>", "one of " + ", ".join(names))
    values = {name: _sourced_number(doc.get(name), name, str(path), name) for name in names}
    for name, value in values.items():
        _check_share(name, value, str(path), f"{name}.value")
    return Calibration(**values)


def _check_share(name: str, value: float, file: str, key: str) -> None:
    """A figure of :data:`_SHARES` must lie in its range (:func:`_sourced_number` already refuses a negative value)."""
    if name in _SHARES:
        zero_allowed, allowed = _SHARES[name]
        if not (0.0 <= value <= 1.0 and (zero_allowed or value > 0.0)):
            raise InputError(file, key, str(value), allowed)
