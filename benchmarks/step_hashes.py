"""SHA-256 of every ``StepResult`` and ``memory_per_accelerator`` array of all mappings of 12 training jobs on two parts:
the check that a refactoring of the step model moved no value (run on both trees, diff the output).

Jobs: Llama-3 70B / 405B, DeepSeek-V3, Mixtral 8x7B as published; the embedding / loss pipeline split (Llama-3 70B,
DeepSeek-V3); two stated pipeline layouts (DeepSeek-V3's PP16 preset, Llama-2 13B's even one); LoRA; FP8 with activation
offload; Apex DistributedFusedAdam dtypes; selective recompute modules. Parts: H100-SXM and B200 at 64, 1,024 and
8,192 accelerators, every mapping of the model's enumeration (no stack restriction). Prints one line per (job, part)
and a total (s15-speed, docs/model-accuracy.md).

Usage: PYTHONPATH=<tree>/src python benchmarks/step_hashes.py [--flat] > hashes.txt (``--flat``: the same jobs under
DeepSpeed ZeRO-3's flat gathers and a weight gather that is not overlapped, s16-review)
"""

from __future__ import annotations

import argparse
import hashlib
import warnings
from dataclasses import fields, is_dataclass, replace
from typing import Any

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.workloads import load_workload
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.memory import memory_per_accelerator
from archsweep.model.training.step import training_step
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload


def _job(name: str, **kw: Any) -> tuple[str, Workload]:
    """(label, workload): the catalog workload ``name`` with the ``TrainingJob`` fields ``kw`` replaced."""
    wl = load_workload(name)
    return name + str(sorted(kw.items())), replace(wl, training=replace(wl.training, **kw)) if kw else wl


def _walk(obj: Any, h: Any, name: str = "") -> None:
    """Feed ``h`` (a hashlib object) every array of ``obj`` (dataclasses walked field by field) as float64 bytes,
    each after its dotted field name and its shape."""
    if is_dataclass(obj):
        for f in fields(obj):
            _walk(getattr(obj, f.name), h, name + "." + f.name)
    else:
        a = np.ascontiguousarray(np.asarray(obj, dtype=np.float64))
        h.update(name.encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())


def main(argv: list[str] | None = None) -> None:
    """Print the hashes (module doc); ``--flat``: under ``sharded_gather_flat`` 1 and ``param_gather_overlap`` off
    (the DeepSpeed ZeRO-3 placement and the serial weight gather, which the default calibration never reaches)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="Usage: PYTHONPATH=<tree>/src "
                                     "python benchmarks/step_hashes.py > hashes.txt; diff two trees' output.")
    parser.add_argument("--flat", action="store_true", help="ZeRO-3 flat gathers, weight gather not overlapped")
    flat = parser.parse_args(argv).flat
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    cal = replace(load_calibration(), sharded_gather_flat=1.0) if flat else load_calibration()
    jobs = [_job("llama3-70b"), _job("deepseek-v3"), _job("mixtral-8x7b"), _job("llama3-405b"),
            _job("llama3-70b", embedding_loss_in_pipeline_split=True),
            _job("deepseek-v3", embedding_loss_in_pipeline_split=True),
            _job("deepseek-v3", pipeline_layout="Et*4|(t*4|)*14tmL"),
            _job("llama2-13b", pipeline_layout="Et*10|t*10|t*10|t*10L"),
            _job("llama3-70b", mode="finetune_lora", lora_rank=16, lora_targets=("attention_qkv", "attention_dense")),
            _job("mixtral-8x7b", precision="fp8", activation_offload_layers=2),
            _job("gpt3-175b", dfa_state_dtype="bf16", dfa_grad_sync_dtype="fp32"),
            _job("llama3-8b", recompute_modules=("core_attn", "layernorm", "mlp"))]
    if flat:
        jobs = [("flat " + label, replace(wl, training=replace(wl.training, param_gather_overlap=False)))
                for label, wl in jobs]
    total = hashlib.sha256()
    for label, wl in jobs:
        kind = TrainingJobKind(wl, cal, None)
        mp = kind.mappings()
        m = len(mp)
        for part in ("H100-SXM", "B200"):
            hw = HardwareArrays.from_designs([get_accelerator(part).design.replace(accelerator_count=c)
                                              for c in (64, 1024, 8192)])
            hw = HardwareArrays(**{k: np.asarray(v).reshape(-1, 1) if np.ndim(v) else v for k, v in hw.columns().items()})
            res = training_step(hw, wl, mp.reshape((1, m)), cal, kind.fixed_dp)
            h = hashlib.sha256()
            _walk(res, h)
            _walk(memory_per_accelerator(wl, mp.reshape((1, m)), res.dp, res.microbatches, cal), h, "mem")
            total.update(h.digest())
            print(label[:60], part, m, h.hexdigest()[:16], flush=True)
    print("TOTAL", total.hexdigest())


if __name__ == "__main__":
    main()
