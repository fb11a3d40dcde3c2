"""Derive ``steady_step_time_s`` of the MLPerf Training llama2_70b_lora and gpt3 rows from their mllog files.

Source: github.com/mlcommons/training_results_v4.0 / _v4.1, ``<submitter>/results/<system>/llama2_70b_lora/
result_*.txt`` (the path in each row's ``source`` column). Each result file logs ``block_start`` /
``block_stop`` around the training between two evaluations (``samples_count`` in the metadata) and
``eval_start`` / ``eval_stop`` around each evaluation. The steady-state step is, per file, the median
over the blocks after the first of ``block time / (block samples / global_batch_size)``; the row's
value is the median over its files. The first block is left out (it holds the warm-up: 7-19 s more
than its steps at the steady rate on NVIDIA's H100 runs); evaluations are outside the blocks. The
``tracked_stats`` throughput these files also log agrees within 0.5 %. v5.0 NVIDIA logs write
the block's start count on its ``block_stop`` too; the block then ends at the count of the evaluation that
follows it.

HuggingFace-Trainer logs (:func:`steady_step_stamps`: Juniper DeepSpeed, Intel-Habana Gaudi 2) log no
``eval_start`` / ``eval_stop``; their ``block_stop`` (samples) and ``block_start`` (steps) are written at the
same instant after each evaluation, so the blocks give no value. Their ``train_loss`` stamps (every
``logging_steps``: 10 steps for Juniper, 48 for Intel-Habana, ``samples_count`` in samples) time the
training: the steady step is, per file, the median over consecutive stamps after the first (the first
holds the warm-up) and before the first ``block_stop`` of ``(t1 - t0) / ((s1 - s0) / GBS)``. The
Trainer's first evaluation (at ``eval_delay``) has no ``block_stop`` (the callback writes one only after
it) and lies inside one such interval; the median leaves it out (one of 3-18 intervals;
fewer than 3 give no value). E.g. Juniper
1 x 8 H100, result_0.txt: 125-128 s per 10 steps from step 10 to 140, 239 s for steps 140-150 (the
evaluation at step 144); the block markers every 48 steps (1536, 1920, ... samples) show that this run
evaluated every 48 steps, not every 12 as the published run scripts pass (``--eval_steps 12``).

gpt3 (:func:`steady_step_tokens`): the files count tokens (``epoch_num`` of ``eval_start`` / ``eval_stop``,
``epoch_count`` of the blocks; 24,576 sequences of 2,048 tokens between two evaluations, the benchmark
rule). The training between two evaluations is the time from one ``eval_stop`` to the next
``eval_start``, over ``(epoch_num difference) / (global_batch_size x max_sequence_length)`` steps; the
steady step is, per file, the median of that over every such interval (the first block, from
``run_start`` to the first evaluation, is not one of them), the row's value the median over its files.
The same markers exist in NVIDIA's / Azure's / Oracle's NeMo logs and in Intel-Habana's
Megatron-DeepSpeed logs; Google's MaxText / PAX logs have no ``eval_start`` / ``eval_stop`` (their
blocks hold the evaluation) and give no value. E.g. NVIDIA v4.0 eos_n64, result_0.txt: 119.9 s of
training per 11 steps of GBS 2304 (10.90 s a step) between evaluations of 11.2 s each.

Usage: python data/validation/derive/mlperf_steady_step.py <mirror dir of training_results_vX.Y> ...
rewrites data/validation/training_runs.csv in place (adds / fills the ``steady_step_time_s`` column; the commit in
``source_locator``), reading each mirror at its pinned commit (pinned_mirrors.py ``COMMITS``; a mirror of an unpinned
version, or one without the pinned commit, is an error).
"""

from __future__ import annotations

import re
import statistics
import sys

from _mlperf_common import MLPERF_GROUPS, mllog_events, result_files
from pinned_mirrors import open_mirrors, stamp_locator
from runs_table import read_runs, write_runs

_SOURCE = re.compile(r"training_results_(v[\d.]+)\), (\S+)/result_\*\.txt")


def block_end(t1: int, s1: int | None, s0: int | None, evals: list[tuple[int, int | None]]) -> int | None:
    """Samples count at a block's end: its ``block_stop``'s own, or where that repeats the block's start
    (v5.0 NVIDIA logs: ``block_stop`` carries the count the block started at), the count of the
    evaluation that follows it at once (``eval_start`` at the same time)."""
    if s1 is None or s0 is None or s1 > s0:
        return s1
    return next((s for t, s in evals if t >= t1 and s is not None and s > s0), s1)


def steady_step_counted(ev: list[dict]) -> float | None:
    """Median step (s) over the blocks after the first of a v5.1 NeMo log, whose ``block_start`` / ``block_stop``
    carry the block's length in ``samples_count`` (not the running count: 1548, then 387 per block) and the step
    index in ``step`` (0 -> 172, 172 -> 215, ...): (block_stop - block_start) / (step difference); None when the
    block markers do not all carry ``step`` (s19-I)."""
    marks = [(e["time_ms"], e["metadata"].get("step")) for e in ev if e["key"] in ("block_start", "block_stop")]
    if len(marks) < 4 or any(s is None for _, s in marks):
        return None
    blocks = [(t1 - t0, s1 - s0) for (t0, s0), (t1, s1) in zip(marks[::2], marks[1::2], strict=False) if s1 > s0]
    return statistics.median(dt / 1000.0 / ds for dt, ds in blocks[1:]) if len(blocks) >= 2 else None


def steady_step(text: str) -> float | None:
    """Median steady-state step (s) of one result file, or None when its blocks are not sample-based.
    Logs whose block markers hold each block's length (v5.1 NeMo: the ``samples_count`` of a ``block_start`` below
    the ``eval_start`` count before it) are timed by their ``step`` indices (:func:`steady_step_counted`)."""
    ev = mllog_events(text)
    gbs = next((e["value"] for e in ev if e["key"] == "global_batch_size"), None)
    lengths = [(e["key"], e["metadata"].get("samples_count")) for e in ev if e["key"] in ("eval_start", "block_start")]
    if any(k0 == "eval_start" and k1 == "block_start" and s0 is not None and s1 is not None and s1 < s0
           for (k0, s0), (k1, s1) in zip(lengths, lengths[1:], strict=False)):
        return steady_step_counted(ev)
    starts = [(e["time_ms"], e["metadata"].get("samples_count")) for e in ev if e["key"] == "block_start"]
    evals = [(e["time_ms"], e["metadata"].get("samples_count")) for e in ev if e["key"] == "eval_start"]
    stops = [(t, block_end(t, s, s0, evals)) for (t, s), (_, s0) in zip(
        [(e["time_ms"], e["metadata"].get("samples_count")) for e in ev if e["key"] == "block_stop"], starts, strict=False)]
    blocks = [(t1 - t0, s1 - s0) for (t0, s0), (t1, s1) in zip(starts, stops, strict=False)
              if s0 is not None and s1 is not None and s1 > s0]
    if not gbs or len(blocks) < 2:
        return None
    step = statistics.median(dt / 1000.0 / (ds / gbs) for dt, ds in blocks[1:])
    return step if step > 1e-3 else None  # block markers logged back to back: no timing in them


def steady_step_stamps(text: str) -> float | None:
    """Median step (s) between ``train_loss`` stamps before the first ``block_stop`` of a HuggingFace-Trainer
    result file (its block markers carry no timing), or None without a global batch or with fewer than three intervals."""
    ev = mllog_events(text)
    gbs = next((e["value"] for e in ev if e["key"] == "global_batch_size"), None)
    if not gbs:
        return None
    first_stop = next((e["time_ms"] for e in ev if e["key"] == "block_stop"), None)
    stamps = [(e["time_ms"], e["metadata"].get("samples_count")) for e in ev if e["key"] == "train_loss"
              and (first_stop is None or e["time_ms"] <= first_stop)]
    steps = [(t1 - t0) / 1000.0 / ((s1 - s0) / gbs) for (t0, s0), (t1, s1) in zip(stamps, stamps[1:], strict=False)
             if s0 is not None and s1 is not None and s1 > s0]
    if len(steps) < 3:  # the median must be able to leave out the interval with the first evaluation
        return None
    return statistics.median(steps)


def steady_step_tokens(text: str) -> float | None:
    """Median step (s) between evaluations of one token-counted result file (gpt3), or None."""
    ev = mllog_events(text)
    gbs = next((e["value"] for e in ev if e["key"] == "global_batch_size"), None)
    seq = next((e["value"] for e in ev if e["key"] == "max_sequence_length"), None)
    if not gbs or not seq:
        return None
    stops = [(e["time_ms"], e["metadata"].get("epoch_num")) for e in ev if e["key"] == "eval_stop"]
    starts = [(e["time_ms"], e["metadata"].get("epoch_num")) for e in ev if e["key"] == "eval_start"]
    steps = []
    for t0, n0 in stops:
        nxt = [(t1, n1) for t1, n1 in starts if t1 >= t0 and n0 is not None and n1 is not None and n1 > n0]
        if nxt:
            t1, n1 = min(nxt)
            steps.append((t1 - t0) / 1000.0 / ((n1 - n0) / (gbs * seq)))
    if not steps:
        return None
    step = statistics.median(steps)
    return step if step > 1e-3 else None


def steady_step_lora(text: str) -> float | None:
    """A llama2_70b_lora file's steady step: from its blocks, else (HuggingFace-Trainer logs) its stamps."""
    return steady_step(text) or steady_step_stamps(text)


_STAMPS_NOTE = ("steady_step_time_s = median over result_*.txt of the median (t1 - t0) / ((samples1 - samples0) / "
                "GBS) over consecutive train_loss stamps after the first and before the first block_stop "
                "(HuggingFace-Trainer log: its block markers hold no timing; data/validation/derive/mlperf_steady_step.py "
                "steady_step_stamps)")
_DERIVE = {
    "llama2_70b_lora": (steady_step_lora, "steady_step_time_s = median over result_*.txt of the median (block_stop - "
                        "block_start) / (block samples / GBS) over the blocks after the first (no evaluation, no warm-up)"),
    "gpt3": (steady_step_tokens, "steady_step_time_s = median over result_*.txt of the median (next eval_start - "
             "eval_stop) / (epoch_num tokens between them / (GBS x seq)): training between evaluations, the first "
             "block (warm-up) left out"),
}


def main(mirrors: list[str]) -> None:
    repos = open_mirrors(mirrors)
    fields, rows = read_runs()
    if "steady_step_time_s" not in fields:
        fields.insert(fields.index("step_time_s") + 1, "steady_step_time_s")
    for row in rows:
        row.setdefault("steady_step_time_s", "")
        match = _SOURCE.search(row["source"])
        benchmark = next((b for b in _DERIVE if row["run_id"].endswith(b)), None)
        if row["source_group"] not in MLPERF_GROUPS or not match or benchmark is None:
            continue
        derive, note = _DERIVE[benchmark]
        version, folder = match.groups()
        mirror = repos.get(version)
        if mirror is None:
            continue
        values = [v for name in result_files(mirror, folder) if (v := derive(mirror.show(name)))]
        row["source_locator"] = stamp_locator(row["source_locator"], mirror)
        row["steady_step_time_s"] = ""
        if values:
            row["steady_step_time_s"] = f"{statistics.median(values):.4g}"
            if benchmark == "llama2_70b_lora" and not any(
                    steady_step(mirror.show(name)) for name in result_files(mirror, folder)):
                note = _STAMPS_NOTE
            if note not in row["derived"]:
                row["derived"] = (row["derived"] + "; " if row["derived"] else "") + note
    write_runs(fields, rows)


if __name__ == "__main__":
    main(sys.argv[1:])
