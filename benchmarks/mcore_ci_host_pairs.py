"""Megatron-LM's own CI timings of one test case on DGX GB200 (Grace host) and DGX H100 (x86 host) (issue 10, s21-E).

    python benchmarks/mcore_ci_host_pairs.py MEGATRON_LM_GIT_DIR [--commit REV] [--match SUBSTRING]

NVIDIA/Megatron-LM keeps, per functional test case (``tests/functional_tests/test_cases/<model>/<case>/``), golden
values per platform (``golden_values_dev_dgx_gb200.json``, ``golden_values_dev_dgx_h100.json``) with an
``iteration-time`` series (s per training step); the case's ``model_config.yaml`` holds the job (layers, micro and
global batch, TP / PP / CP). The CI recipes run 8 GPUs on both platforms (``tests/test_utils/recipes/gb200/*.yaml``:
2 nodes x 4 GPUs; ``h100/*.yaml``: 1 node x 8). The test models are tiny (e.g. 12 layers of hidden 512), so a case's
step is the host's time to issue it, not the GPUs': a GB200 / H100 ratio above 1 on such a case is the Grace host
issuing the same eager Megatron-Core / TransformerEngine code slower than the DGX H100's Xeon. Per case: the median
``iteration-time`` over steps after the tenth on each platform, their ratio, the commit that last wrote each file
(same commit = same code for both, when the commit regenerated them) and, where the config gives it, the step per
layer and micro-batch of the busiest pipeline stage: ``step / (ceil(layers / pp) x global_batch / (dp x mbs))``,
``dp = 8 / (tp x pp x cp)``; an upper bound on the host time of one layer's forward + backward (the step also holds
the embedding, loss and per-step work). Reads the git object store only (``git show``); nothing is fitted.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

_CASES = "tests/functional_tests/test_cases"
_PLATFORMS = ("gb200", "h100")
_CI_GPUS = 8
_FIRST_STEP = 10


@dataclass(frozen=True)
class Pair:
    """One test case timed on both platforms: median step (s) each, the commits that wrote them, and the step per
    layer and micro-batch (s, None where the config lacks a field)."""

    case: str
    step_gb200_s: float
    step_h100_s: float
    commit_gb200: str
    commit_h100: str
    per_layer_gb200_s: float | None
    per_layer_h100_s: float | None

    @property
    def ratio(self) -> float:
        return self.step_gb200_s / self.step_h100_s


def median_iteration_time(golden: Mapping) -> float | None:
    """Median of a golden-values file's ``iteration-time`` over steps after the tenth (numbers only; the series
    starts with warm-up steps and some files hold NaN strings); None without the series."""
    series = golden.get("iteration-time")
    if not isinstance(series, Mapping) or not isinstance(series.get("values"), Mapping):
        return None
    values = [v for k, v in series["values"].items()
              if int(k) > _FIRST_STEP and isinstance(v, (int, float)) and math.isfinite(v)]
    return statistics.median(values) if values else None


def layer_microbatches(model_args: Mapping) -> float | None:
    """Layers of the busiest pipeline stage x micro-batches per step on the CI's 8 GPUs, from a case's MODEL_ARGS
    (``--num-layers``, ``--micro-batch-size``, ``--global-batch-size``, ``--tensor- / --pipeline- /
    --context-parallel-size``, default 1); None where a field is missing or the GPUs do not divide."""
    def arg(name: str, default: int | None = None) -> int | None:
        value = model_args.get(name, default)
        return int(value) if isinstance(value, (int, float)) else default

    fields = (arg("--num-layers"), arg("--micro-batch-size"), arg("--global-batch-size"),
              arg("--tensor-model-parallel-size", 1), arg("--pipeline-model-parallel-size", 1),
              arg("--context-parallel-size", 1))
    if any(v is None or v < 1 for v in fields):
        return None
    layers, mbs, gbs, tp, pp, cp = (int(v or 0) for v in fields)
    if _CI_GPUS % (tp * pp * cp) or gbs % (_CI_GPUS // (tp * pp * cp) * mbs):
        return None
    return math.ceil(layers / pp) * gbs / (_CI_GPUS // (tp * pp * cp) * mbs)


def _git(repo: str, *args: str) -> str | None:
    done = subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


def _model_args(repo: str, rev: str, case_dir: str) -> Mapping:
    import yaml  # a project dependency; imported here so the pure helpers above need nothing

    text = _git(repo, "show", f"{rev}:{case_dir}/model_config.yaml")
    doc = yaml.safe_load(text) if text else None
    args = doc.get("MODEL_ARGS") if isinstance(doc, dict) else None
    return args if isinstance(args, dict) else {}


def pairs(repo: str, rev: str, match: str) -> list[Pair]:
    """Every test case with golden values on both platforms at ``rev`` whose path contains ``match``."""
    listing = _git(repo, "ls-tree", "-r", "--name-only", rev, _CASES)
    if listing is None:
        raise SystemExit(f"mcore_ci_host_pairs: cannot list {_CASES} at {rev} in {repo} (a Megatron-LM git dir?)")
    suffix = f"/golden_values_dev_dgx_{_PLATFORMS[0]}.json"
    found = []
    for path in listing.split():
        if not path.endswith(suffix) or match not in path:
            continue
        case_dir = path[: -len(suffix)]
        steps, commits = [], []
        for platform in _PLATFORMS:
            file = f"{case_dir}/golden_values_dev_dgx_{platform}.json"
            text = _git(repo, "show", f"{rev}:{file}")
            steps.append(median_iteration_time(json.loads(text)) if text else None)
            commits.append((_git(repo, "log", "-1", "--format=%h", rev, "--", file) or "").strip())
        if steps[0] is None or steps[1] is None:
            continue
        count = layer_microbatches(_model_args(repo, rev, case_dir))
        found.append(Pair(case_dir[len(_CASES) + 1:], steps[0], steps[1], commits[0], commits[1],
                          steps[0] / count if count else None, steps[1] / count if count else None))
    return sorted(found, key=lambda p: p.ratio)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", help="a Megatron-LM git directory (e.g. the fetch tool's mirror)")
    parser.add_argument("--commit", default="HEAD", help="revision to read (default HEAD)")
    parser.add_argument("--match", default="", help="only cases whose path contains this")
    args = parser.parse_args(argv)
    print("step_gb200_s,step_h100_s,gb200_over_h100,per_layer_mb_gb200_ms,per_layer_mb_h100_ms,"
          "commit_gb200,commit_h100,case")
    for p in pairs(args.repo, args.commit, args.match):
        per = [f"{1e3 * v:.2f}" if v is not None else "" for v in (p.per_layer_gb200_s, p.per_layer_h100_s)]
        print(f"{p.step_gb200_s:.4f},{p.step_h100_s:.4f},{p.ratio:.3f},{per[0]},{per[1]},"
              f"{p.commit_gb200},{p.commit_h100},{p.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
