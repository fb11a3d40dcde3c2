"""Options of a training job beyond batch, length, precision and mode (``training:`` keys of a model
file or a study entry, ``archsweep eval`` flags): the LoRA recipe and the job options of
:data:`archsweep.spec.job_option_table.JOB_OPTIONS`. :func:`job_option_values` reads every job option of a
``training:`` mapping (or of the what-if overrides, named by flag): a kind's generic reader
(:meth:`~archsweep.spec.job_option_table.JobOption.problem`) for a plain option, the hand-written readers here for
the options with a cross-field rule (precision fp8 only, SwiGLU only, no layout with the embedding / loss split)
or element-wise problems (recompute modules). Called by :func:`archsweep.load.workloads.training_job` and
:func:`archsweep.whatif.apply_overrides`; every problem is appended to ``p`` (reported together).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archsweep.spec.errors import InputError
from archsweep.spec.job_option_table import JOB_OPTION_NAMES, JOB_OPTIONS, JobOption, job_option
from archsweep.spec.pipeline_layout import parse_layout
from archsweep.spec.training import (
    BLOCK_RECOMPUTE_LAYERS_ALLOWED,
    LORA_TARGET_GROUPS,
    LORA_TARGETS,
    RECOMPUTE_MODULES,
    TrainingJob,
    cp_a2a_size_problem,
    expand_lora_targets,
)

__all__ = ["EMBEDDING_LOSS_SPLIT_KEY", "FP8_ACT_KEY", "FP8_DPA_KEY", "HAND_READ", "PIPELINE_LAYOUT_KEY", "RECOMPUTE_KEY",
           "bool_job_option", "fp8_act_option", "fp8_dpa_option", "job_fits_model", "job_option_values", "lora_recipe", "pipeline_options",
           "precision_recipe", "recompute_option"]

#: Key of the modules that the mapping's ``recompute = selective`` re-runs (:func:`recompute_option`).
RECOMPUTE_KEY = "recompute_modules"
#: Key of the SwiGLU input kept in FP8 (:func:`fp8_act_option`).
FP8_ACT_KEY = "activation_fp8_input_store"
#: Key of the pipeline split that counts the embedding and the loss as layers (:func:`pipeline_options`).
EMBEDDING_LOSS_SPLIT_KEY = "embedding_loss_in_pipeline_split"
#: Key of the attention core run in FP8 (precision fp8 only, :func:`fp8_dpa_option`).
FP8_DPA_KEY = "fp8_dot_product_attention"
#: Key of Megatron-Core's custom pipeline layout (:func:`pipeline_options`).
PIPELINE_LAYOUT_KEY = "pipeline_layout"
#: The job options read by a hand-written reader here (a cross-field rule or element-wise problems); every other
#: option of the table is read by :func:`_option` from its kind alone.
HAND_READ = ("low_precision_recipe", "fp8_params", "activation_offload_layers", RECOMPUTE_KEY, FP8_ACT_KEY,
             FP8_DPA_KEY, EMBEDDING_LOSS_SPLIT_KEY, PIPELINE_LAYOUT_KEY)


def _at(name: str, key: str, names: Mapping[str, str] | None) -> str:
    """Where a problem with option ``name`` is reported: its command-line flag ``names[name]`` (``archsweep eval``),
    else the key path ``key.<name>``."""
    return names[name] if names is not None and name in names else f"{key}.{name}".lstrip(".")


def job_option_values(raw: Mapping[str, Any], base: TrainingJob | None, precision: Any, ffn_type: str | None, file: str,
                      key: str, p: list[InputError], names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every job option (:data:`~archsweep.spec.job_option_table.JOB_OPTIONS`, by name) of ``raw``, each kept from
    ``base`` (else the table's default) where ``raw`` leaves it out; ``precision``: the job's (the fp8-only
    options), ``ffn_type``: the model's MLP (None = not known here). Problems appended to ``p`` at
    ``key.<name>`` or at ``names[<name>]`` (a command line's flag). The one reader of study entries, model files and
    what-if overrides."""
    recipe, fp8_params, offload = precision_recipe(raw, base, precision, file, key, p, names)
    values: dict[str, Any] = {
        "low_precision_recipe": recipe, "fp8_params": fp8_params, "activation_offload_layers": offload,
        RECOMPUTE_KEY: recompute_option(raw, base, file, key, p, names),
        FP8_ACT_KEY: fp8_act_option(raw, base, ffn_type, file, key, p, names)}
    for option in JOB_OPTIONS:
        if option.name not in HAND_READ:
            values[option.name] = _option(raw, option, base, file, key, p, names)
    values[FP8_DPA_KEY] = fp8_dpa_option(raw, base, precision, file, key, p, names)
    values[EMBEDDING_LOSS_SPLIT_KEY], values[PIPELINE_LAYOUT_KEY] = pipeline_options(raw, base, file, key, p, names)
    at_layers = _at("recompute_num_layers", key, names)
    reported = any(e.problem.key_path == at_layers for e in p)  # a bad value is reported once, not again as 0
    if values["recompute_method"] == "block" and values["recompute_num_layers"] < 1 and not reported:
        p.append(InputError(file, at_layers, values["recompute_num_layers"], BLOCK_RECOMPUTE_LAYERS_ALLOWED))
        values["recompute_method"] = "uniform"  # reported above; the job read stays a valid one
    allowed = cp_a2a_size_problem(values["cp_comm_type"], values["cp_a2a_size"])
    if allowed is not None:
        p += _cp_a2a_size_errors(raw, values, file, key, p, names)
        values["cp_comm_type"], values["cp_a2a_size"] = "p2p", 0  # reported; the job read stays a valid one
    return {name: values[name] for name in JOB_OPTION_NAMES}


def _cp_a2a_size_errors(raw: Mapping[str, Any], values: Mapping[str, Any], file: str, key: str,
                        p: list[InputError], names: Mapping[str, str] | None) -> list[InputError]:
    """The error of a ``cp_a2a_size`` that does not fit the job's ``cp_comm_type`` (none where a bad value of either
    is already in ``p``): at ``cp_comm_type`` where ``raw`` switched the kind and kept the base job's size (a model
    file's ``a2a+p2p`` size under a study entry's or a flag's other kind), else at ``cp_a2a_size`` (``<missing>``
    where ``raw`` sets ``a2a+p2p`` without a size and none is kept)."""
    at_a2a, at_kind = _at("cp_a2a_size", key, names), _at("cp_comm_type", key, names)
    if any(e.problem.key_path in (at_a2a, at_kind) for e in p):
        return []
    kind, size = values["cp_comm_type"], values["cp_a2a_size"]
    if "cp_comm_type" in raw and "cp_a2a_size" not in raw and size != 0:
        return [InputError(file, at_kind, kind, f"a2a+p2p while the model file's cp_a2a_size {size} stands, or "
                                                f"cp_a2a_size set to 0 beside it ({at_a2a})")]
    shown = "<missing>" if "cp_a2a_size" not in raw and size == 0 else size
    return [InputError(file, at_a2a, shown, cp_a2a_size_problem(kind, size) or "")]


def _option(raw: Mapping[str, Any], option: JobOption, base: TrainingJob | None, file: str, key: str,
            p: list[InputError], names: Mapping[str, str] | None) -> Any:
    """``raw[option.name]`` where its kind allows it (a list of modules read as a tuple), else the value kept from
    ``base`` (or the table's default); a value its kind refuses appends a problem to ``p`` at ``key.<name>`` or
    ``names[<name>]`` (a command-line flag)."""
    kept = getattr(base, option.name) if base is not None else option.default
    if option.name not in raw:
        return kept
    value = raw[option.name]
    value = tuple(value) if option.kind == "modules" and isinstance(value, list) else value
    if (allowed := option.problem(value)) is not None:
        p.append(InputError(file, _at(option.name, key, names), list(value) if isinstance(value, tuple) else value,
                            allowed))
        return kept
    return value


def lora_recipe(raw: Mapping[str, Any], base: TrainingJob | None, mode: Any, file: str, key: str,
                 p: list[InputError]) -> tuple[tuple[str, ...], float, bool]:
    """(targets, dropout, a2a) of a LoRA job; problems appended to ``p``."""
    kept = base if base is not None and base.mode == mode == "finetune_lora" else TrainingJob(1, 1)
    targets, dropout, a2a = kept.lora_targets, kept.lora_dropout, kept.lora_a2a
    given = [k for k in ("lora_targets", "lora_dropout", "lora_a2a") if k in raw]
    if given and mode != "finetune_lora":
        p.append(InputError(file, f"{key}.{given[0]}", raw[given[0]], f"absent unless mode is finetune_lora (got {mode})"))
        return targets, dropout, a2a
    allowed = "a non-empty list of " + ", ".join(LORA_TARGETS) + " or the groups " + ", ".join(LORA_TARGET_GROUPS)
    if "lora_targets" in raw:
        names = raw["lora_targets"]
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            p.append(InputError(file, f"{key}.lora_targets", names, allowed))
        else:
            bad = [n for n in names if n not in LORA_TARGETS and n not in LORA_TARGET_GROUPS]
            if bad:
                p.append(InputError(file, f"{key}.lora_targets", bad[0], allowed))
            else:
                targets = expand_lora_targets(names)
    if "lora_dropout" in raw:
        value = raw["lora_dropout"]
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and 0.0 <= value < 1.0
        dropout = float(value) if ok else dropout
        if not ok:
            p.append(InputError(file, f"{key}.lora_dropout", value, "a probability in [0, 1)"))
    if "lora_a2a" in raw:
        a2a = raw["lora_a2a"] if isinstance(raw["lora_a2a"], bool) else a2a
        if not isinstance(raw["lora_a2a"], bool):
            p.append(InputError(file, f"{key}.lora_a2a", raw["lora_a2a"], "true or false"))
    return targets, dropout, a2a


def precision_recipe(raw: Mapping[str, Any], base: TrainingJob | None, precision: Any, file: str, key: str,
                     p: list[InputError], names: Mapping[str, str] | None = None) -> tuple[Any, bool, int]:
    """(low_precision_recipe, fp8_params, activation_offload_layers), each kept from ``base`` (else the
    :class:`TrainingJob` default) where ``raw`` leaves it out. ``low_precision_recipe`` and
    ``fp8_params`` only with precision fp8 (they describe how FP8 runs); problems appended to ``p``,
    each at ``key.<name>`` or at ``names[<name>]`` (a command line's flag: ``archsweep eval``). Each value's
    type and range as its kind says (:func:`_option`); the fp8-only rule here. The one implementation of these
    checks (study and model-file entries, what-if overrides)."""
    kept = base if base is not None else TrainingJob(1, 1)
    recipe, fp8_params, offload = kept.low_precision_recipe, kept.fp8_params, kept.activation_offload_layers
    for name in ("low_precision_recipe", "fp8_params"):
        if name in raw and precision != "fp8":
            p.append(InputError(file, _at(name, key, names), raw[name],
                                f"absent unless precision is fp8 (got {precision})"))
            return recipe, fp8_params, offload
    recipe, fp8_params, offload = (_option(raw, job_option(name), base, file, key, p, names)  # each kind's check
                                   for name in ("low_precision_recipe", "fp8_params", "activation_offload_layers"))
    if precision != "fp8":  # a study entry that turns an FP8 file's job into BF16 drops its FP8 options
        recipe, fp8_params = TrainingJob(1, 1).low_precision_recipe, False
    return recipe, fp8_params, offload


def recompute_option(raw: Mapping[str, Any], base: TrainingJob | None, file: str, key: str, p: list[InputError],
                     names: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """``recompute_modules``: what the mapping's ``recompute = selective`` re-runs (Megatron-Core
    ``recompute_modules``; :data:`archsweep.spec.training.RECOMPUTE_MODULES`), kept from ``base`` (else the
    :class:`TrainingJob` default, the attention core) where ``raw`` leaves it out. A non-empty list of
    known modules, each once; returned in :data:`RECOMPUTE_MODULES` order (the model reads it as a set).
    Problems appended to ``p`` at ``key.recompute_modules`` (``[i]`` for one entry) or at
    ``names["recompute_modules"]`` (a command line's flag). The one implementation of this check (study
    and model-file entries, what-if overrides)."""
    kept = base.recompute_modules if base is not None else TrainingJob(1, 1).recompute_modules
    if RECOMPUTE_KEY not in raw:
        return kept
    at, allowed = _at(RECOMPUTE_KEY, key, names), job_option(RECOMPUTE_KEY).allowed
    value = raw[RECOMPUTE_KEY]
    if not isinstance(value, (list, tuple)) or not value:
        p.append(InputError(file, at, list(value) if isinstance(value, tuple) else value, allowed))
        return kept
    seen: set[str] = set()
    for i, name in enumerate(value):
        if not isinstance(name, str) or name not in RECOMPUTE_MODULES:
            p.append(InputError(file, f"{at}[{i}]", name, "one of " + ", ".join(RECOMPUTE_MODULES)))
            return kept
        if name in seen:
            p.append(InputError(file, f"{at}[{i}]", name, f"each module once ({name} is listed twice); "
                                "modules: " + ", ".join(RECOMPUTE_MODULES)))
            return kept
        seen.add(name)
    return tuple(m for m in RECOMPUTE_MODULES if m in seen)


def fp8_act_option(raw: Mapping[str, Any], base: TrainingJob | None, ffn_type: str | None, file: str, key: str,
                   p: list[InputError], names: Mapping[str, str] | None = None) -> bool:
    """``activation_fp8_input_store``: the SwiGLU keeps its input (the FC1 output) in FP8 for the backward
    (Megatron-Core ``activation_func_fp8_input_store``; NeMo ``FP8_ACT``), kept from ``base`` (else off)
    where ``raw`` leaves it out. true or false; true only for a SwiGLU model (``ffn_type``, None = not
    known here), as Megatron-Core requires (transformer_config.py @d98e8a6 L2467). Problems appended to
    ``p`` at ``key.activation_fp8_input_store`` or ``names["activation_fp8_input_store"]`` (a flag)."""
    kept = base.activation_fp8_input_store if base is not None else False
    value = bool_job_option(raw, FP8_ACT_KEY, base, file, key, p, names)  # kept where raw leaves it out or errs
    if raw.get(FP8_ACT_KEY) is True and ffn_type is not None and ffn_type != "swiglu":
        p.append(InputError(file, _at(FP8_ACT_KEY, key, names), True,
                            f"false for a {ffn_type} MLP (Megatron-Core stores the activation "
                            "input in FP8 only for SwiGLU)"))
        return kept
    return value


def bool_job_option(raw: Mapping[str, Any], name: str, base: TrainingJob | None, file: str, key: str,
                    p: list[InputError], names: Mapping[str, str] | None = None) -> bool:
    """A true-or-false job option ``name`` (a bool row of :data:`~archsweep.spec.job_option_table.JOB_OPTIONS`; what
    each means and its source: the row's description): ``raw[name]``, kept from ``base`` where ``raw`` leaves it
    out, else the row's default. A value that is not a boolean appends a problem to ``p`` at ``key.<name>`` or
    ``names[name]`` (a flag)."""
    option = job_option(name)
    if option.kind != "bool":
        raise KeyError(f"{name} is a {option.kind} option, not a true-or-false one")
    return bool(_option(raw, option, base, file, key, p, names))


def fp8_dpa_option(raw: Mapping[str, Any], base: TrainingJob | None, precision: Any, file: str, key: str,
                   p: list[InputError], names: Mapping[str, str] | None = None) -> bool:
    """``fp8_dot_product_attention`` (:func:`bool_job_option`): true only with precision fp8 (TransformerEngine
    runs FP8 attention inside ``fp8_autocast``); a value kept from ``base`` is dropped when the precision is not
    fp8, a true value given with another precision appends a problem to ``p``."""
    value = bool_job_option(raw, FP8_DPA_KEY, base, file, key, p, names)
    if value and precision != "fp8":
        if FP8_DPA_KEY in raw:
            p.append(InputError(file, _at(FP8_DPA_KEY, key, names), True,
                                f"false for a {precision} job (FP8 attention runs only with "
                                "precision fp8)"))
        return False
    return value


def pipeline_options(raw: Mapping[str, Any], base: TrainingJob | None, file: str, key: str, p: list[InputError],
                     names: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """(``embedding_loss_in_pipeline_split``, ``pipeline_layout``) of a job: the split as :func:`bool_job_option`;
    the layout a Megatron-Core ``pipeline_model_parallel_layout`` string (:mod:`archsweep.spec.pipeline_layout`;
    "" = none), kept from ``base`` where ``raw`` leaves it out. A layout that does not parse, or one set together
    with the split (Megatron-Core refuses both), appends a problem at ``key.pipeline_layout`` (or its flag);
    whether it fits the model (its t and m counts) is checked with the workload (``Workload``)."""
    split = bool_job_option(raw, EMBEDDING_LOSS_SPLIT_KEY, base, file, key, p, names)
    layout = base.pipeline_layout if base is not None else ""
    if PIPELINE_LAYOUT_KEY not in raw:
        return split, layout
    at = _at(PIPELINE_LAYOUT_KEY, key, names)
    value = raw[PIPELINE_LAYOUT_KEY]
    if (allowed := job_option(PIPELINE_LAYOUT_KEY).problem(value)) is not None:  # "" or a layout that parses
        p.append(InputError(file, at, value, allowed))
        return split, layout
    if value and split:
        p.append(InputError(file, at, value, f"no layout together with {EMBEDDING_LOSS_SPLIT_KEY} (Megatron-Core "
                            "refuses both: transformer_config.py L1306-1315)"))
        return split, layout
    return split, value


def job_fits_model(job: TrainingJob, layers: int, mtp_num_layers: int, moe: bool, model: str, file: str, key: str,
                   names: Mapping[str, str] | None = None) -> list[InputError]:
    """The job's options that depend on the model, checked where the job is read (model file, study entry,
    ``archsweep eval`` flag), each at ``key.<name>`` (or its flag in ``names``): the EP all-to-all overlap only for a
    MoE model; a pipeline layout holding the model's ``layers`` transformer and ``mtp_num_layers`` MTP layers;
    at most the model's layers in a recompute unit / block (``recompute_num_layers``; a mapping's own stage is
    checked where pp is fixed: :func:`archsweep.spec.strategy.strategy_problems`); fewer offloaded layers than the
    model has (Megatron-Core TransformerConfig.__post_init__: "CPU offloading can be
    done only for layers less than num_layers", NVIDIA/Megatron-LM@60e039626:megatron/core/transformer/
    transformer_config.py L1862-L1867)."""
    out = []
    if job.moe_a2a_overlap and not moe:
        out.append(InputError(file, _at("moe_a2a_overlap", key, names), True,
                              f"only for a MoE model: {model} has no experts, so no EP all-to-all to overlap"))
    if job.pipeline_layout:
        try:
            parse_layout(job.pipeline_layout, file).check_model(layers, mtp_num_layers, file)
        except InputError as exc:
            out.append(InputError(file, _at(PIPELINE_LAYOUT_KEY, key, names), job.pipeline_layout, exc.problem.allowed))
    if job.recompute_num_layers > layers:
        out.append(InputError(file, _at("recompute_num_layers", key, names), job.recompute_num_layers,
                              f"at most the model's {layers} layers (Megatron-Core recompute_num_layers: layers per "
                              "recompute unit or per pipeline stage)"))
    if job.activation_offload_layers >= layers:
        out.append(InputError(file, _at("activation_offload_layers", key, names), job.activation_offload_layers,
                              f"fewer layers than the model's {layers} (Megatron-Core offloads layers < num_layers)"))
    return out
