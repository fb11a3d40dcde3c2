"""Steady training step of MLPerf Training submissions from their ``tracked_stats`` markers, to compare two parts
on one launch configuration (s8-gb200, docs/model-accuracy.md: GB200 / B200 same-configuration pairs).

Source: github.com/mlcommons/training_results_vX.Y, ``<submitter>/results/<system>/<benchmark>/result_*.txt``.
NeMo-based submissions log ``tracked_stats`` records whose ``value`` holds ``train_step_time`` (s), every few
steps of the training between two evaluations. Per result file the step is the median of those values; the
folder's step is the median over its files (the convention of the v5.0 LoRA rows' check in s7-gb200, which agrees
with ``mlperf_steady_step.py`` within 0.2 %). The global batch and gradient-accumulation markers are printed so
that a pair can be checked for one configuration (the launch configs themselves are compared by hand: they are
not named in NVIDIA's own logs).

Usage: python data/validation/derive/mlperf_pair_steps.py <mirror dir of training_results_vX.Y> \
           <submitter>/results/<system>/<benchmark> ...
prints one line per folder; writes nothing. The mirror is read at its pinned commit (pinned_mirrors.py ``COMMITS``).
"""

from __future__ import annotations

import statistics
import sys

from _mlperf_common import mllog_events, result_files
from pinned_mirrors import Mirror, open_mirror

_MARKERS = ("global_batch_size", "gradient_accumulation_steps", "submission_platform")


def file_step(text: str) -> tuple[float | None, dict[str, object]]:
    """(median ``train_step_time`` of one result file's ``tracked_stats`` records, s, or None when it logs
    none; the file's global batch / accumulation / platform markers)."""
    events = mllog_events(text)
    steps = [float(e["value"]["train_step_time"]) for e in events
             if e.get("key") == "tracked_stats" and isinstance(e.get("value"), dict)
             and "train_step_time" in e["value"]]
    markers = {e["key"]: e.get("value") for e in events if e.get("key") in _MARKERS}
    return (statistics.median(steps) if steps else None), markers


def folder_step(mirror: Mirror, folder: str) -> tuple[float, int, dict[str, object]]:
    """(median over the folder's result files of :func:`file_step`, s; files with a value; their markers)."""
    steps, markers = [], {}
    for name in result_files(mirror, folder):
        step, found = file_step(mirror.show(name))
        if step is not None:
            steps.append(step)
            markers = found
    if not steps:
        raise SystemExit(f"{folder}: no result file with tracked_stats train_step_time")
    return statistics.median(steps), len(steps), markers


def main(repo: str, folders: list[str]) -> None:
    mirror = open_mirror(repo)
    for folder in folders:
        step, files, markers = folder_step(mirror, folder)
        print(f"{folder}: median step {step:.4f} s over {files} files; {markers}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
