"""The LoRA recipe of a measured row: the row's own ``lora_*`` columns (set from the run's published
launcher / config by data/validation/derive/lora_recipes.py), else its MLPerf benchmark's recipe
(mlperf_eval_rules.yaml ``lora``), else the :class:`TrainingJob` defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from archsweep.load.validation_data import load_mlperf_eval_rules
from archsweep.spec.errors import InputError
from archsweep.spec.training import LORA_TARGETS, TrainingJob, expand_lora_targets
from archsweep.spec.validation_data import LoraRecipe
from archsweep.validation.cells import cell_text
from archsweep.validation.mlperf import benchmark_of

__all__ = ["row_lora_recipe", "apply_lora_recipe"]

_WHERE = "data/validation/training_runs.csv"


def _row_columns(row: Mapping[str, str]) -> LoraRecipe | None:
    targets_text = cell_text(row, "lora_targets")
    if not targets_text:
        return None
    run = cell_text(row, "run_id")
    targets = expand_lora_targets(targets_text.split("+"))
    if any(t not in LORA_TARGETS for t in targets):
        raise InputError(_WHERE, f"{run}.lora_targets", targets_text, "'+'-joined names of " + ", ".join(LORA_TARGETS))
    try:
        rank, dropout = int(cell_text(row, "lora_rank")), float(cell_text(row, "lora_dropout") or 0.0)
    except ValueError as exc:
        raise InputError(_WHERE, f"{run}.lora_rank/lora_dropout", f"{cell_text(row, 'lora_rank')!r}, "
                         f"{cell_text(row, 'lora_dropout')!r}", "an integer rank > 0 and a probability") from exc
    return LoraRecipe(rank=rank, targets=targets, dropout=dropout, a2a=False,
                      source=cell_text(row, "lora_recipe_source"), locator="row columns", confidence="high")


def row_lora_recipe(row: Mapping[str, str]) -> tuple[LoraRecipe, str] | None:
    """(recipe, where it came from) for the row, or None when neither the row nor its benchmark states one."""
    own = _row_columns(row)
    if own is not None:
        return own, "the run's launcher"
    rule = load_mlperf_eval_rules().get(benchmark_of(row) or "")
    if rule is not None and rule.lora is not None:
        return rule.lora, "the benchmark"
    return None


def apply_lora_recipe(training: TrainingJob, row: Mapping[str, str], notes: list[str]) -> TrainingJob:
    """``training`` with the row's LoRA recipe applied (LoRA rows only), noting it."""
    found = row_lora_recipe(row) if training.mode == "finetune_lora" else None
    if found is None:
        return training
    recipe, origin = found
    notes.append(f"LoRA recipe of {origin}: rank {recipe.rank} on {'+'.join(recipe.targets)}, dropout "
                 f"{recipe.dropout:g}" + (", all-to-all output exchange" if recipe.a2a else ""))
    return replace(training, lora_rank=recipe.rank, lora_targets=recipe.targets, lora_dropout=recipe.dropout,
                   lora_a2a=recipe.a2a)
