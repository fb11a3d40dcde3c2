"""Issue 10: the ``lora_targets`` / ``lora_dropout`` / ``lora_a2a`` training-job fields: accepted
values, NeMo group expansion, and errors that name file, key path, value and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from archsweep.load.workloads import training_job
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.training import LORA_TARGETS, TrainingJob

_LORA = {"global_batch": {"sequences": 8}, "mode": "finetune_lora", "lora_rank": 16}


def _job(extra: dict[str, Any], base: TrainingJob | None = None) -> TrainingJob:
    raw = {**_LORA, **extra} if base is None else extra
    return training_job(raw, base=base, default_seq_len=2048, file="models/x.yaml", key="training")


def _problems(extra: dict[str, Any]) -> list[Any]:
    with pytest.raises((InputError, InputErrors)) as err:
        _job(extra)
    exc = err.value
    return [exc.problem] if isinstance(exc, InputError) else list(exc.problems)


def test_groups_expand_as_nemo_get_target_modules():
    assert _job({"lora_targets": ["attention"]}).lora_targets == ("attention_qkv", "attention_dense")
    assert _job({"lora_targets": ["mlp", "attention_qkv"]}).lora_targets == ("attention_qkv", "mlp_fc1", "mlp_fc2")
    assert _job({"lora_targets": ["all"]}).lora_targets == LORA_TARGETS
    assert _job({}).lora_targets == LORA_TARGETS  # default: all four, what the model assumed before the field
    job = _job({"lora_dropout": 0.1, "lora_a2a": True})
    assert (job.lora_dropout, job.lora_a2a) == (0.1, True)


def test_lora_fields_are_kept_from_the_base_only_while_the_mode_stays_lora():
    base = _job({"lora_targets": ["attention_qkv"], "lora_dropout": 0.1})
    assert _job({"seq_len": 4096}, base=base).lora_targets == ("attention_qkv",)
    full = _job({"mode": "finetune_full", "lora_rank": 0}, base=base)
    assert (full.lora_targets, full.lora_dropout) == (LORA_TARGETS, 0.0)


@pytest.mark.parametrize(("extra", "path", "value", "allowed"), [
    ({"lora_targets": ["mlp_fc3"]}, "training.lora_targets", "mlp_fc3", "attention_qkv, attention_dense, mlp_fc1, mlp_fc2"),
    ({"lora_targets": []}, "training.lora_targets", "[]", "a non-empty list of"),
    ({"lora_targets": "attention"}, "training.lora_targets", "attention", "a non-empty list of"),
    ({"lora_dropout": 1.0}, "training.lora_dropout", "1.0", "a probability in [0, 1)"),
    ({"lora_dropout": True}, "training.lora_dropout", "True", "a probability in [0, 1)"),
    ({"lora_a2a": "yes"}, "training.lora_a2a", "yes", "true or false"),
    ({"mode": "pretrain", "lora_rank": 0, "lora_targets": ["attention"]}, "training.lora_targets", "attention",
     "absent unless mode is finetune_lora"),
    ({"mode": "finetune_full", "lora_rank": 0, "lora_dropout": 0.1}, "training.lora_dropout", "0.1",
     "absent unless mode is finetune_lora"),
])
def test_bad_lora_field_names_file_key_value_and_allowed(extra, path, value, allowed):
    problems = _problems(extra)
    assert len(problems) == 1
    p = problems[0]
    assert (p.file, p.key_path) == ("models/x.yaml", path)
    assert value in str(p.value)
    assert allowed in p.allowed


def test_training_job_type_rejects_unknown_targets_and_bad_dropout():
    with pytest.raises(InputError) as err:
        TrainingJob(8, 2048, lora_targets=("attention_qkv", "router"))
    assert err.value.problem.key_path == "lora_targets"
    with pytest.raises(InputError) as err:
        TrainingJob(8, 2048, lora_dropout=-0.1)
    assert err.value.problem.key_path == "lora_dropout"
