"""Node power of MLPerf Training power submissions during the timed run, and the node's floor outside it
(s11-gbpower, docs/model-accuracy.md: what a node reading says about the model's per-GPU power).

Source: github.com/mlcommons/training_results_vX.Y, ``<submitter>/results/<system>/<benchmark>/power/<run>/``
``node_*.txt`` (one power analyser per node, one ``power_reading`` record a second, W; AC unless the submission
says DC; ``conversion_eff`` where the submitter logs one) and ``sw_*.txt`` (switches), with the run's
``run_start`` / ``run_stop`` markers in ``<submitter>/results/<system>/<benchmark>/<run>.txt``.

Per node: the median reading inside the timed run (``run_start`` .. ``run_stop``), the lowest reading of the
file (evaluation pauses and the tail after the run, where the GPUs idle) and the median of the readings more
than 20 s after ``run_stop`` (the node with idle GPUs; absent where the log stops at the run's end). A node
reading covers the accelerators and everything else in the node (CPUs, memory, NICs, fans, the NVSwitch
baseboard); the per-GPU share needs the non-GPU share, which no log states: (in-run - after-run) / GPUs per node
is the GPUs' rise over idle less the host's own rise.

Usage: python data/validation/derive/mlperf_power_logs.py <mirror dir of training_results_vX.Y> \
           <submitter>/results/<system>/<benchmark> ...
prints one line per run; writes nothing. The mirror is read at the commit pinned_mirrors.py COMMITS pins for its
version (``open_mirror``), never at the clone's HEAD.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass
from pathlib import PurePosixPath

from _mlperf_common import mllog_events
from pinned_mirrors import Mirror, open_mirror

_AFTER_STOP_MS = 20_000.0


@dataclass(frozen=True)
class NodeSummary:
    """One analyser file of one run (W as logged; ``conversion_eff`` None where not logged)."""

    readings: int
    in_run_median_w: float
    lowest_w: float
    after_run_median_w: float | None
    conversion_eff: float | None


def run_window(result_text: str, name: str = "<result file>") -> tuple[float, float]:
    """(``run_start``, ``run_stop``) time_ms of the result file ``name``; SystemExit naming it when either marker is
    missing."""
    marks = {e["key"]: float(e["time_ms"]) for e in mllog_events(result_text) if e.get("key") in ("run_start", "run_stop")}
    if len(marks) != 2:
        raise SystemExit(f"{name}: result file without run_start / run_stop markers (found {sorted(marks)}; both are "
                         "needed for the run window)")
    return marks["run_start"], marks["run_stop"]


def node_summary(power_text: str, start_ms: float, stop_ms: float) -> NodeSummary | None:
    """:class:`NodeSummary` of one ``node_*.txt`` / ``sw_*.txt`` log against the run window; None when the log
    has no reading inside the window (an analyser whose log starts after the run or holds no reading)."""
    events = mllog_events(power_text)
    readings = [(float(e["time_ms"]), float(e["value"])) for e in events
                if e.get("key") == "power_reading" and isinstance(e.get("value"), (int, float))]
    inside = [w for t, w in readings if start_ms <= t <= stop_ms]
    if not inside:
        return None
    after = [w for t, w in readings if t > stop_ms + _AFTER_STOP_MS]
    eff = [float(e["value"]) for e in events if e.get("key") == "conversion_eff"]
    return NodeSummary(readings=len(readings), in_run_median_w=statistics.median(inside),
                       lowest_w=min(w for _, w in readings),
                       after_run_median_w=statistics.median(after) if after else None,
                       conversion_eff=eff[0] if eff else None)


@dataclass(frozen=True)
class RunSummary:
    """One ``power/<run>`` folder: the run's length, its node analysers and its switch analysers (None: no in-run
    reading in that log, counted in ``empty``)."""

    name: str
    run_s: float
    nodes: list[NodeSummary]
    switches: list[NodeSummary]
    empty: int


def run_summaries(mirror: Mirror, folder: str) -> list[RunSummary]:
    """Every ``power/<run>`` folder of ``folder`` (read at the mirror's pinned commit) with at least one node
    analyser holding an in-run reading, in name order."""
    names = mirror.ls(folder + "/power/")
    runs = sorted({str(PurePosixPath(n).parent) for n in names if n.endswith(".txt")})
    out = []
    for run in runs:
        result = f"{folder}/{PurePosixPath(run).name}.txt"
        start, stop = run_window(mirror.show(result), f"{mirror.path} @{mirror.short}: {result}")
        nodes, switches, empty = [], [], 0
        for name in (n for n in names if str(PurePosixPath(n).parent) == run and n.endswith(".txt")):
            summary = node_summary(mirror.show(name), start, stop)
            if summary is None:
                empty += 1
                continue
            (switches if PurePosixPath(name).name.startswith("sw") else nodes).append(summary)
        if nodes:
            out.append(RunSummary(run, (stop - start) / 1e3, nodes, switches, empty))
    return out


def run_lines(mirror: Mirror, folder: str) -> list[str]:
    """One line per run of :func:`run_summaries`: nodes, median over nodes of the in-run medians (and their range),
    median of the lowest readings, median of the after-run medians, switches' in-run medians."""
    lines = []
    for run in run_summaries(mirror, folder):
        nodes, switches, empty = run.nodes, run.switches, run.empty
        med = [s.in_run_median_w for s in nodes]
        after = [s.after_run_median_w for s in nodes if s.after_run_median_w is not None]
        lines.append(
            f"{run.name}: {len(nodes)} nodes, run {run.run_s:.0f} s, in-run median {statistics.median(med):.0f} W"
            f" ({min(med):.0f} .. {max(med):.0f}), lowest {statistics.median(s.lowest_w for s in nodes):.0f} W,"
            f" after run {f'{statistics.median(after):.0f} W' if after else '-'},"
            f" conversion_eff {nodes[0].conversion_eff}" + (f", {empty} logs without an in-run reading" if empty else "")
            + (f", switches in-run {statistics.median(s.in_run_median_w for s in switches):.0f} W" if switches else ""))
    return lines


def main(repo: str, folders: list[str]) -> None:
    mirror = open_mirror(repo)
    print(f"training_results_{mirror.version} @ {mirror.short}")
    for folder in folders:
        print("\n".join(run_lines(mirror, folder)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
