"""Fill ``grad_sync_dtype`` of the MLPerf Training v5.0 / v5.1 llama31_405b and llama31_8b rows (NeMo 2.0 code):
``bf16`` where the training code the row ran sets ``grad_reduce_in_fp32=False`` (a BF16 gradient buffer and
data-parallel reduce-scatter), read per submission.

What is read, at the results mirror's pinned commit (pinned_mirrors.py ``COMMITS``):

* the launch config the row's ``derived`` names (mlperf_llama31_405b_rows.py / mlperf_llama31_8b_rows.py) and its
  implementation folder (``_mlperf_common.impl_folder``);
* that folder's ``pretrain.py``, else the ``pretrain.py`` of the submitter's one other implementation folder of the
  same benchmark that ships one (University of Florida v5.1 ``hpg.dgxb200x8`` ships configs and run scripts only; its
  README.md: "Please refer to the implementation directory b200_nemo"; confidence medium): every keyword argument
  ``grad_reduce_in_fp32=<bool>`` of a call in it (``ast``). NVIDIA's ``pretrain.py`` (v5.0 L237-260 / L346,
  v5.1 L260-290 / L390) passes it to both ``MegatronMixedPrecision`` branches (FP8-or-FP4 and BF16; NeMo's
  ``MegatronMixedPrecision`` writes its value over the DDP config's) and to ``DistributedDataParallelConfig``:
  all must agree and one must be found, else the script stops ("read it by hand");
* a folder with no ``pretrain.py`` anywhere (Oracle v5.1 llama31_8b: configs and ``run.sub`` only, NVIDIA's
  container): the ``DistributedDataParallelConfig(grad_reduce_in_fp32=...)`` line every ``result_*.txt`` of the row
  prints (NeMo's ``Setting up DistributedDataParallel with config ...``), all alike; none printed: left empty.

Rule: ``False`` -> ``bf16``; ``True`` -> ``fp32`` (no row). The llama2_70b_lora rows are not filled (their DP reduce
is of the adapters only; what their code and logs say is in docs/model-accuracy.md, s19-P).

Usage: python data/validation/derive/mlperf_grad_reduce.py <mirror dir of training_results_vX.Y> ...
rewrites data/validation/training_runs.csv in place (idempotent), naming the pinned commit in the
``source_locator`` of the rows filled.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import PurePosixPath

from _mlperf_common import fill_mlperf_rows, impl_folder, mlperf_source, result_files
from pinned_mirrors import Mirror

_NOTE = "data/validation/derive/mlperf_grad_reduce.py"
_SOURCE = re.compile(r"training_results_(v5\.[01])\), (\S+?)/results/([^/]+)/(llama31_405b|llama31_8b)/result_\*\.txt")
_CONFIG = re.compile(r"training_results_v[\d.]+/(\S+?\.sh)")
_PRINTED = re.compile(r"DistributedDataParallelConfig\(grad_reduce_in_fp32=(True|False)\b")

#: (line, value) of one ``grad_reduce_in_fp32=<bool>`` keyword argument.
Setting = tuple[int, bool]


def settings(text: str) -> list[Setting]:
    """Every ``grad_reduce_in_fp32=<bool>`` keyword argument of a call in the Python source ``text``, in line order."""
    return sorted((kw.value.lineno, kw.value.value) for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Call)
                  for kw in node.keywords if kw.arg == "grad_reduce_in_fp32"
                  and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, bool))


def training_code(mirror: Mirror, config: str, submitter: str, benchmark: str) -> tuple[str, str] | None:
    """(path of the ``pretrain.py`` the launch config ``config`` ran, confidence): its implementation folder's, else
    the one other implementation folder's of ``submitter``'s ``benchmark`` (medium); None when none or several."""
    own = f"{impl_folder(config)}/pretrain.py"
    if own in set(mirror.ls(impl_folder(config) + "/", recursive=False)):
        return own, "high"
    others = [p for p in mirror.ls(f"{submitter}/benchmarks/{benchmark}/")
              if PurePosixPath(p).name == "pretrain.py" and PurePosixPath(p).parent.parent.name == "implementations"]
    return (others[0], "medium") if len(others) == 1 else None


def printed(mirror: Mirror, folder: str) -> tuple[bool, int] | None:
    """(the ``grad_reduce_in_fp32`` every result file of ``folder`` prints in its DDP config, how many files); None
    when one prints none or they differ."""
    found = [_PRINTED.findall(mirror.show(f)) for f in result_files(mirror, folder)]
    values = {v for f in found for v in f}
    if not found or any(not f for f in found) or len(values) != 1:
        return None
    return values.pop() == "True", len(found)


def grad_reduce(repos: dict[str, Mirror], row: dict[str, str]) -> tuple[str, str, str] | None:
    """(results version, ``bf16`` / ``fp32``, where it was read) of a llama31 row (module rule); None for other rows
    and where nothing is found (left as is)."""
    match = mlperf_source(repos, row, _SOURCE)
    config = _CONFIG.search(row["derived"])
    if match is None or not config:
        return None
    version, submitter, system, benchmark = match.groups()
    mirror = repos[version]
    code = training_code(mirror, config.group(1), submitter, benchmark)
    if code is not None:
        path, confidence = code
        sets = settings(mirror.show(path))
        if not sets or len({v for _, v in sets}) != 1:
            raise SystemExit(f"{row['run_id']}: {path}: grad_reduce_in_fp32 settings {sets}: read it by hand")
        value = sets[0][1]
        lines = ", ".join(f"L{line}" for line, _ in sets)
        where = f"{path} (grad_reduce_in_fp32={value} at {lines}; launch config {config.group(1)}; confidence {confidence})"
    else:
        folder = f"{submitter}/results/{system}/{benchmark}"
        logged = printed(mirror, folder)
        if logged is None:
            return None
        value, count = logged
        where = (f"{folder}/result_*.txt (all {count} print DistributedDataParallelConfig(grad_reduce_in_fp32="
                 f"{value}); no training code shipped; confidence high)")
    return version, "fp32" if value else "bf16", where


def main(mirrors: list[str]) -> None:
    fill_mlperf_rows(mirrors, "grad_sync_dtype", grad_reduce, _NOTE, 150)


if __name__ == "__main__":
    main(sys.argv[1:])
