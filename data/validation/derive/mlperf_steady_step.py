"""Derive ``steady_step_time_s`` of the MLPerf Training llama2_70b_lora rows from their mllog files.

Source: github.com/mlcommons/training_results_v4.0 / _v4.1, ``<submitter>/results/<system>/llama2_70b_lora/
result_*.txt`` (the path in each row's ``source`` column). Each result file logs ``block_start`` /
``block_stop`` around the training between two evaluations (``samples_count`` in the metadata) and
``eval_start`` / ``eval_stop`` around each evaluation. The steady-state step is, per file, the median
over the blocks after the first of ``block time / (block samples / global_batch_size)``; the row's
value is the median over its files. The first block is left out (it holds the warm-up: 7-19 s more
than its steps at the steady rate on NVIDIA's H100 runs); evaluations are outside the blocks. The
``tracked_stats`` throughput these files also log agrees within 0.5 %. Files in another log layout
(epoch-based blocks: Intel-Habana, Juniper DeepSpeed) give no value and keep the wall-clock metric.

Usage: python data/validation/derive/mlperf_steady_step.py <mirror dir of training_results_vX.Y> ...
rewrites data/validation/training_runs.csv in place (adds / fills the ``steady_step_time_s`` column).
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

from runs_table import read_runs, write_runs

_SOURCE = re.compile(r"training_results_(v[\d.]+)\), (\S+)/result_\*\.txt")


def _events(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        if ":::MLLOG" in line:
            try:
                out.append(json.loads(line.split(":::MLLOG", 1)[1]))
            except json.JSONDecodeError:
                continue
    return out


def steady_step(text: str) -> float | None:
    """Median steady-state step (s) of one result file, or None when its blocks are not sample-based."""
    ev = _events(text)
    gbs = next((e["value"] for e in ev if e["key"] == "global_batch_size"), None)
    starts = [(e["time_ms"], e["metadata"].get("samples_count")) for e in ev if e["key"] == "block_start"]
    stops = [(e["time_ms"], e["metadata"].get("samples_count")) for e in ev if e["key"] == "block_stop"]
    blocks = [(t1 - t0, s1 - s0) for (t0, s0), (t1, s1) in zip(starts, stops, strict=False)
              if s0 is not None and s1 is not None and s1 > s0]
    if not gbs or len(blocks) < 2:
        return None
    step = statistics.median(dt / 1000.0 / (ds / gbs) for dt, ds in blocks[1:])
    return step if step > 1e-3 else None  # block markers logged back to back: no timing in them


def main(mirrors: list[str]) -> None:
    repos = {re.search(r"(v[\d.]+)", Path(m).as_posix().split("training_results_")[-1]).group(1): m for m in mirrors}
    fields, rows = read_runs()
    if "steady_step_time_s" not in fields:
        fields.insert(fields.index("step_time_s") + 1, "steady_step_time_s")
    for row in rows:
        row.setdefault("steady_step_time_s", "")
        match = _SOURCE.search(row["source"])
        if row["source_group"] != "mlperf" or not match or not row["run_id"].endswith("llama2_70b_lora"):
            continue
        version, folder = match.groups()
        repo = repos.get(version)
        if repo is None:
            continue
        names = subprocess.run(["git", "-C", repo, "ls-tree", "--name-only", "HEAD", folder + "/"],
                               capture_output=True, text=True, check=True).stdout.split()
        values = [v for name in names if re.search(r"result_\d+\.txt$", name)
                  if (v := steady_step(subprocess.run(["git", "-C", repo, "show", "HEAD:" + name],
                                                      capture_output=True, text=True, check=True).stdout))]
        row["steady_step_time_s"] = ""
        if values:
            row["steady_step_time_s"] = f"{statistics.median(values):.4g}"
            note = ("steady_step_time_s = median over result_*.txt of the median (block_stop - block_start) / "
                    "(block samples / GBS) over the blocks after the first (no evaluation, no warm-up)")
            if note not in row["derived"]:
                row["derived"] = (row["derived"] + "; " if row["derived"] else "") + note
    write_runs(fields, rows)


if __name__ == "__main__":
    main(sys.argv[1:])
