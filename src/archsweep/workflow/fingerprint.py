"""What a space or evaluate job reads, as a short hash: the rules' ``params:`` (Snakemake reruns
a job when its params change), in place of the study file's modification time.

A space job reads the study's base, parameters, sampling, seed and shard count, its roadmap
scenarios (by content: ``data/roadmap/<name>.yaml`` as parsed, not the file's path), the hardware
catalog and the technology data. An evaluate job reads its space shard (an input file), those
study parts, the workloads (and their ``models/<name>.yaml``), the jobs the study's training and serving
entries set (every option: two studies whose entries differ only in, e.g., ``moe_a2a_overlap`` or
``embedding_loss_in_pipeline_split`` under the same name evaluate apart), the mapping choice and the
calibration data. Neither reads the constraints, objectives, description or search section:
constraints and objectives are applied after evaluation
(:func:`archsweep.results.objectives.apply_constraints_table` in
:func:`archsweep.workflow.stages.collect`), so editing them re-runs collect, pareto and report
but no model evaluation. Package and model versions are part of both hashes, and so is the code
each job runs (:func:`archsweep.results.provenance.code_sha256`: the space job's candidates, loaders
and specs, the evaluate job's also the model), so a resumed study re-evaluates after a code change.

Imported by ``rules/common.smk`` at DAG time: keep it light (no model, no plotting, no Optuna).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from archsweep import MODEL_VERSION, __version__
from archsweep.load.paths import data_dir, models_dir
from archsweep.results.provenance import EVALUATION_CODE, SPACE_CODE, code_sha256
from archsweep.spec.study import Study

__all__ = ["SPACE_DATA", "EVALUATE_DATA", "space_fingerprint", "evaluate_fingerprint", "workload_file"]

#: Folders of ``data/`` a space job reads (catalog for the base design, memories for HBM generations).
SPACE_DATA: tuple[str, ...] = ("hardware", "technology")
#: Folders of ``data/`` an evaluate job reads (the above plus the kernel/software calibration).
EVALUATE_DATA: tuple[str, ...] = ("hardware", "technology", "calibration")
_HEX = 16


def workload_file(name: str) -> Path:
    """The file a workload name refers to (as :func:`archsweep.load.workloads.load_workload` resolves it)."""
    if "/" in name or "\\" in name or name.endswith((".yaml", ".yml")):
        return Path(name)
    return models_dir() / f"{name}.yaml"


def _file_digest(path: Path) -> str:
    """sha256 of the file's bytes (``"missing"`` when absent: the job itself reports it)."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


def _data_digest(folders: Iterable[str]) -> dict[str, str]:
    """sha256 of every file under ``data/<folder>``, keyed by its path relative to ``data/``."""
    root = data_dir()
    files = sorted(p for folder in folders for p in (root / folder).rglob("*") if p.is_file())
    return {str(p.relative_to(root)): _file_digest(p) for p in files}


def _space_parts(study: Study) -> dict[str, object]:
    return {
        "base": study.base,
        "parameters": [dataclasses.asdict(p) for p in study.parameters],
        "sampling": study.sampling_method,
        "samples": study.samples,
        "seed": study.seed,
        "shards": study.shards,
        # roadmap scenarios by content (their overrides, limits, allowed values), not by the file's path
        "scenarios": [{k: v for k, v in dataclasses.asdict(sc).items() if k != "file"} for sc in study.scenarios],
        "archsweep": __version__,
        "model": MODEL_VERSION,
        "code": code_sha256(SPACE_CODE),
    }


def _digest(parts: dict[str, object]) -> str:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HEX]


def space_fingerprint(study: Study) -> str:
    """Hash of what the space job reads (see the module docstring); 16 hex characters."""
    return _digest({**_space_parts(study), "data": _data_digest(SPACE_DATA)})


def evaluate_fingerprint(study: Study) -> str:
    """Hash of what an evaluate job reads besides its shard file (see the module docstring)."""
    return _digest({
        **_space_parts(study),
        "workloads": list(study.workloads),
        "workload_files": {w: _file_digest(workload_file(w)) for w in study.workloads},
        "training": [dataclasses.asdict(t) for t in study.training],
        "serving": [dataclasses.asdict(s) for s in study.serving],
        "mapping": dataclasses.asdict(study.mapping),
        "data": _data_digest(EVALUATE_DATA),
        "code": code_sha256(EVALUATION_CODE),
    })
