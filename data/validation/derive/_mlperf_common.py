"""Helpers shared by the MLPerf Training derive scripts: the mllog event reader and the walk that fills one
column of the NeMo-based rows from the implementation of the launch config each row's ``derived`` names
and the first NeMo yaml key found there
(mlperf_fp8_act.py, mlperf_layer_cuda_graphs.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from mlperf_stated_layouts import _SOURCE, _git, _impl, parse_config
from runs_table import read_runs, write_runs

_CONFIG = re.compile(r"training_results_v[\d.]+/(\S+?\.sh)")


def mllog_events(text: str) -> list[dict]:
    """The ``:::MLLOG`` JSON records of a result file, in order (lines that do not parse are left out)."""
    out = []
    for line in text.splitlines():
        if ":::MLLOG" in line:
            try:
                out.append(json.loads(line.split(":::MLLOG", 1)[1]))
            except json.JSONDecodeError:
                continue
    return out


def nemo_yamls(repo: str, config: str) -> tuple[str, list[str], dict[str, str]] | None:
    """(implementation folder, its NeMo ``conf/custom.yaml`` / ``conf/megatron_gpt_*.yaml`` paths, the launch
    config's environment) of the launch config ``config`` of the mirror ``repo``; None when the implementation
    has no NeMo yaml (not a NeMo implementation)."""
    impl = _impl(config)
    files = set(_git(repo, "ls-tree", "-r", "--name-only", "HEAD", impl).split())
    yamls = sorted(f for f in files if re.search(r"/conf/(custom|megatron_gpt_\w+)\.yaml$", f))
    if not yamls:
        return None
    return impl, yamls, parse_config(repo, config, files)


def nemo_key(repo: str, config: str, key: re.Pattern[str]) -> tuple[str, dict[str, str], str, re.Match[str] | None] | None:
    """(implementation folder, launch config environment, yaml path, match) of the first NeMo yaml of the
    launch config's implementation (in path order) where ``key`` matches; path "" and match None when none
    does; None when the implementation has no NeMo yaml (:func:`nemo_yamls`)."""
    found = nemo_yamls(repo, config)
    if found is None:
        return None
    impl, yamls, env = found
    for path in yamls:
        m = key.search(_git(repo, "show", f"HEAD:{path}"))
        if m:
            return impl, env, path, m
    return impl, env, "", None


def fill_from_launch_configs(mirrors: list[str], column: str, derive: Callable[[str, str], tuple[str, str] | None],
                             note: str, width: int) -> None:
    """Set ``column`` of every MLPerf row whose launch config is named, from ``derive(repo, config)`` = (value,
    where it was read) or None (left as is), with a note in ``derived`` replacing this script's earlier one;
    rewrites data/validation/training_runs.csv."""
    repos = {re.search(r"training_results_(v[\d.]+)", Path(m).as_posix()).group(1): m for m in mirrors}  # type: ignore[union-attr]
    fields, rows = read_runs([column])
    for row in rows:
        match = _SOURCE.search(row["source"])
        if row["source_group"] != "mlperf" or not match or match.group(1) not in repos:
            continue
        config = _CONFIG.search(row["derived"])
        found = derive(repos[match.group(1)], config.group(1)) if config else None
        if found is None:
            continue
        value, where = found
        row[column] = value
        row["derived"] = re.sub(rf"; {column} .*?{re.escape(Path(note).name)}", "", row["derived"])
        row["derived"] += f"; {column} {value} from {where}, {note}"
        print(f"{row['run_id']}: {column} {value} <- {where[:width]}")
    write_runs(fields, rows)
