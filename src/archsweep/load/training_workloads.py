"""Training entries of a study's ``workloads`` list -> frozen :class:`TrainingWorkload`.

A study trains a model under its file's default job (a plain stem, ``llama3-70b``) or under a
job the study sets, any subset of keys overriding the file's default job::

    workloads:
      - llama3-70b                      # the default job of models/llama3-70b.yaml
      - model: gpt3-175b
        name: gpt3-fp8                  # optional; default the model stem
        training:
          global_batch: {sequences: 1536}   # or {tokens: 4Mi}: a whole multiple of seq_len
          seq_len: 2048
          precision: fp8                # bf16, fp16, fp8
          mode: pretrain                # pretrain, finetune_full, finetune_lora (needs lora_rank)
          lora_rank: 16
          total_tokens: 300B

A model file without a ``training:`` section has no default job: its entry must give at least
``global_batch`` (and ``seq_len`` when the file states none). Keys left out keep the default
job's values; a changed ``seq_len`` keeps the batch in sequences. The job is resolved here, at
load, so every problem names ``workloads[i].training.<key>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archsweep.load.job_options import job_fits_model
from archsweep.load.parameters import guard, problem
from archsweep.load.workloads import (
    list_workloads,
    load_architecture,
    load_default_training,
    stated_seq_len,
    training_job,
)
from archsweep.spec.errors import Problem
from archsweep.spec.training import TrainingWorkload

__all__ = ["check_default_job", "parse_training_entry"]


def parse_training_entry(entry: Mapping[str, Any], file: str, key: str, problems: list[Problem]) -> TrainingWorkload | None:
    """One ``{model, name?, training: {...}}`` entry; problems are appended, None on failure."""
    model = entry.get("model")
    if model not in list_workloads():
        problems.append(problem(file, f"{key}.model", model, "a workload in models/: " + ", ".join(sorted(list_workloads()))))
        return None
    loaded = guard(problems, lambda: (load_architecture(model), load_default_training(model)))
    if loaded is None:
        return None
    arch, base = loaded
    job = guard(problems, lambda: training_job(entry.get("training"), base=base, default_seq_len=stated_seq_len(model),
                                               file=file, key=f"{key}.training", ffn_type=arch.ffn_type))
    if job is None:
        return None
    fit = job_fits_model(job, arch.layers, arch.mtp_num_layers, arch.moe is not None, str(model), file, f"{key}.training")
    problems.extend(e.problem for e in fit)
    if fit:
        return None
    return TrainingWorkload(name=str(entry.get("name") or arch.name), model=str(model), job=job)


def check_default_job(model: str, file: str, key: str, problems: list[Problem]) -> None:
    """A plain stem entry needs a model file with a default training job."""
    own: list[Problem] = []
    loaded = guard(own, lambda: load_default_training(model))
    if own:  # a broken model file: name the entry, then the file's own problems
        problems.append(problem(file, key, model, "a workload whose own file is valid (its problems follow)"))
        problems.extend(own)
    elif loaded is None:
        problems.append(problem(file, key, model,
                                f"a model with a default training job (models/{model}.yaml has no training: section); "
                                f"write {{model: {model}, training: {{global_batch: ..., ...}}}}"))


