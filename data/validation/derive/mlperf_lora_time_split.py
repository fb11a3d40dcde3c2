"""Split each MLPerf llama2_70b_lora row's time to train into training steps and the rest, from its own mllog files.

Source: github.com/mlcommons/training_results_v4.0 / v4.1 / v5.0, ``<submitter>/results/<system>/llama2_70b_lora/
result_*.txt`` (the folder each row's ``source`` names), read at the commit pinned_mirrors.py ``COMMITS`` pins. The
benchmark's time to train runs from ``run_start`` to ``run_stop``; ``init_start`` .. ``init_stop`` lies before it and
is excluded by the rules (MLPerf Training rules, "Timing": model creation, compilation and warm-up done before
``run_start`` are not timed, as in the v5.0 NVIDIA logs, whose ``tracked_stats`` ``warmup_time`` falls inside init).
Inside the timed run the NeMo callbacks log ``block_start`` / ``block_stop`` around the training between two
evaluations and ``eval_start`` / ``eval_stop`` around each evaluation (the 173-sample validation set, every 384
samples from the first evaluation on). Per result file:

* ``steps``: samples at ``run_stop`` / global batch;
* ``steady_step_s``: the median over the blocks after the first of block time / block steps (the rule of
  mlperf_steady_step.py, whose ``steady_step_time_s`` column this reproduces; it is the step the model predicts);
* ``tracked_step_s``: the median of the step the callback's own ``tracked_stats`` give in the blocks after the first
  (``train_step_time`` where logged, else global batch / ``throughput``), an independent reading of the same step;
* ``eval_s``: the sum of the evaluations (``eval_stop - eval_start``), ``evaluations`` their count;
* ``warmup_s``: the first block minus its steps at the steady step (what the first steps cost beyond a steady step:
  graph capture, allocator growth, first-iteration kernels tuning; v5.0 does this before ``run_start``);
* ``other_s``: time to train minus steps x steady step, the evaluations and the warm-up (gaps between markers).
The row's value of each quantity is the median over its files (so the parts of the median file need not add to the
median time to train exactly). Rows whose result files have no sample-counted blocks (HuggingFace-Trainer logs:
Juniper DeepSpeed, Intel-Habana) are left out: their blocks hold no timing (mlperf_steady_step.py
``steady_step_stamps``).

Usage: python data/validation/derive/mlperf_lora_time_split.py <mirror dir of training_results_vX.Y> ...
writes data/validation/mlperf_lora_time_split.csv (one line per llama2_70b_lora row of training_runs.csv with block
timing in the given mirrors; the commit read in ``source_locator``).
"""

from __future__ import annotations

import re
import statistics
import sys
from pathlib import Path

from _mlperf_common import mllog_events, result_files
from mlperf_steady_step import block_end
from pinned_mirrors import open_mirrors
from runs_table import read_runs, write_table

OUT = Path(__file__).resolve().parents[1] / "mlperf_lora_time_split.csv"
FIELDS = ("run_id", "files", "time_to_train_s", "init_s", "steps", "steady_step_s", "tracked_step_s", "evaluations",
          "eval_s", "first_block_steps", "warmup_s", "other_s", "step_share", "source", "source_locator",
          "confidence")
_SOURCE = re.compile(r"training_results_(v[\d.]+)\), (\S+)/result_\*\.txt")
_NUMERIC = FIELDS[2:13]


def _times(ev: list[dict], key: str) -> list[tuple[int, int | None]]:
    return [(e["time_ms"], e.get("metadata", {}).get("samples_count")) for e in ev if e.get("key") == key]


def _tracked_steps(ev: list[dict], gbs: int, after_ms: int) -> list[float]:
    """Steps (s) the ``tracked_stats`` records logged after ``after_ms`` give: ``train_step_time``, else GBS /
    ``throughput`` (samples/s)."""
    out = []
    for e in ev:
        value = e.get("value")
        if e.get("key") != "tracked_stats" or e["time_ms"] <= after_ms or not isinstance(value, dict):
            continue
        if "train_step_time" in value:
            out.append(float(value["train_step_time"]))
        elif value.get("throughput"):
            out.append(gbs / float(value["throughput"]))
    return out


def file_split(text: str) -> dict[str, float] | None:
    """The time split of one result file (seconds; see the module docstring), or None without sample-counted blocks,
    ``run_start`` / ``run_stop`` or a global batch."""
    ev = mllog_events(text)
    gbs = next((e["value"] for e in ev if e.get("key") == "global_batch_size"), None)
    one = {k: _times(ev, k) for k in ("init_start", "init_stop", "run_start", "run_stop")}
    if not gbs or not one["run_start"] or not one["run_stop"]:
        return None
    evals = _times(ev, "eval_start")
    starts = _times(ev, "block_start")
    stops = [(t, block_end(t, s, s0, evals)) for (t, s), (_, s0) in zip(_times(ev, "block_stop"), starts, strict=False)]
    blocks = [(t0, t1, s1 - s0) for (t0, s0), (t1, s1) in zip(starts, stops, strict=False)
              if s0 is not None and s1 is not None and s1 > s0]
    if len(blocks) < 2 or blocks[0][1] - blocks[0][0] <= 0:
        return None
    steady = statistics.median((t1 - t0) / 1000.0 / (ds / gbs) for t0, t1, ds in blocks[1:])
    run_t0, run_t1 = one["run_start"][0][0], one["run_stop"][-1][0]
    samples = one["run_stop"][-1][1] or max(s for _, s in evals if s is not None)
    steps = samples / gbs
    eval_s = sum((t1 - t0) / 1000.0 for (t0, _), (t1, _) in zip(evals, _times(ev, "eval_stop"), strict=False))
    first_steps = blocks[0][2] / gbs
    warmup = (blocks[0][1] - blocks[0][0]) / 1000.0 - first_steps * steady
    ttt = (run_t1 - run_t0) / 1000.0
    tracked = _tracked_steps(ev, gbs, blocks[0][1])
    init = (one["init_stop"][0][0] - one["init_start"][0][0]) / 1000.0 if one["init_start"] and one["init_stop"] else None
    return {"time_to_train_s": ttt, "init_s": init if init is not None else float("nan"), "steps": steps,
            "steady_step_s": steady, "tracked_step_s": statistics.median(tracked) if tracked else float("nan"),
            "evaluations": float(len(evals)), "eval_s": eval_s, "first_block_steps": first_steps, "warmup_s": warmup,
            "other_s": ttt - steps * steady - eval_s - warmup, "step_share": steps * steady / ttt}


def _fmt(value: float) -> str:
    return "" if value != value else f"{value:.4g}"  # NaN: not logged


def main(mirror_paths: list[str]) -> None:
    mirrors = open_mirrors(mirror_paths)
    _, rows = read_runs()
    out = []
    for row in rows:
        match = _SOURCE.search(row["source"])
        if row["source_group"] != "mlperf" or not row["run_id"].endswith("llama2_70b_lora") or not match:
            continue
        version, folder = match.groups()
        mirror = mirrors.get(version)
        if mirror is None:
            continue
        splits = [s for name in result_files(mirror, folder) if (s := file_split(mirror.show(name)))]
        if not splits:
            continue
        line = {"run_id": row["run_id"], "files": str(len(splits))}
        for key in _NUMERIC:
            values = [s[key] for s in splits if s[key] == s[key]]
            line[key] = _fmt(statistics.median(values)) if values else ""
        line["source"] = f"MLCommons MLPerf Training {version} results (github.com/mlcommons/training_results_{version})"
        line["source_locator"] = (f"{folder}/result_*.txt mllog run_start/run_stop, block_start/block_stop, eval_start/"
                                  f"eval_stop, tracked_stats (commit {mirror.short}); "
                                  "data/validation/derive/mlperf_lora_time_split.py")
        line["confidence"] = "high (read from the submitters' own logs; medians over the result files)"
        out.append(line)
    out.sort(key=lambda r: r["run_id"])
    write_table(OUT, FIELDS, out)
    print(f"{OUT}: {len(out)} rows")


if __name__ == "__main__":
    main(sys.argv[1:])
