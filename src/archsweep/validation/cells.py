"""Reading a measurements CSV and its cells (empty markers, numbers, integers)."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archsweep.spec.errors import InputError
from archsweep.spec.job_option_table import JOB_OPTIONS, RecomputeMethod
from archsweep.spec.training import RECOMPUTE_MODULES
from archsweep.validation.caveats import caveat_problem
from archsweep.validation.types import EMPTY_CELLS, METRICS, Skip

# ---------------------------------------------------------------------------------------
# reading cells
# ---------------------------------------------------------------------------------------

#: Columns whose cells, when not empty, must be non-negative finite numbers (``ffn_hidden`` is
#: not: MoE rows describe it in words, e.g. "dense 18432 / expert 2048").
NUMERIC_COLUMNS: tuple[str, ...] = ("params_B", "active_params_B", "layers", "hidden", "heads", "kv_heads", "vocab",
                                    "seq_len", "global_batch_seqs", "micro_batch", "tp", "pp", "dp", "cp", "ep",
                                    "num_accels", *METRICS)
#: Most rows of a measurements file (the public one has ~500).
MAX_MEASUREMENT_ROWS = 100_000


def _check_header(path: Path, header: list[str]) -> None:
    allowed = ("a CSV with the columns of data/validation/training_runs.csv: run_id, accelerator or "
               "accelerator_canonical, and at least one measured metric (" + ", ".join(METRICS) + ")")
    shown = ",".join(header)[:200] or "<empty file>"
    missing = [c for c in ("run_id",) if c not in header]
    if not ({"accelerator", "accelerator_canonical"} & set(header)):
        missing.append("accelerator")
    if not (set(METRICS) & set(header)):
        missing.append("a metric column")
    if missing:
        raise InputError(str(path), f"header (missing column(s) {', '.join(missing)})", shown, allowed)
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(str(path), f"header (column(s) {', '.join(repeated)} repeated)", shown, "each column once")


def _check_cells(path: Path, line: int, row: Mapping[str, str]) -> None:
    run_id = row.get("run_id", "")
    for column in NUMERIC_COLUMNS:
        raw = (row.get(column) or "").strip()
        if not raw or raw.lower() in EMPTY_CELLS:
            continue
        try:
            value = float(raw.replace(",", ""))
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise InputError(str(path), f"line {line} (run_id {run_id!r}), column {column}", raw,
                             "a non-negative finite number, or an empty cell")
    if (problem := caveat_problem(row)) is not None:  # validation.caveats: the source's own flag on the figure
        column, bad, allowed = problem
        raise InputError(str(path), f"line {line} (run_id {run_id!r}), column {column}", bad, allowed)


def no_rows_error(path: Path) -> InputError:
    """A measurements file (training or serving layout) with a header and no data row."""
    return InputError(str(path), "", "<header and no data row>", "at least one measured run (row)")


def repeated_run_id_error(path: Path, run_id: str, line: int | None = None, first_line: int | None = None) -> InputError:
    """A run_id given twice in a measurements file (training or serving layout): the per-row output is keyed by it.
    ``line`` / ``first_line``: where it is repeated and first given, where the reader knows them."""
    also = f"; also on line {first_line}" if first_line is not None else ""
    return InputError(str(path), "run_id" if line is None else f"line {line}: run_id", run_id,
                      f"each run_id once (the per-row output is keyed by it{also})")


class RunIds:
    """The table-level rules of a measurements file (training or serving layout), checked row by row as it is
    read: each run_id once (:func:`repeated_run_id_error` at the first repeat) and at least one row
    (:func:`no_rows_error` from :meth:`done`). One check for both readers (s15-review: the serving reader had its
    own copy)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lines: dict[str, int | None] = {}  # run_id -> the line it is first on, where the reader knows it

    def add(self, run_id: str, line: int | None = None) -> None:
        """One more row's ``run_id`` (on ``line``, where the reader knows it)."""
        if run_id in self._lines:
            raise repeated_run_id_error(self.path, run_id, line, self._lines[run_id])
        self._lines[run_id] = line

    def done(self) -> None:
        """After the last row: refuse a file without one."""
        if not self._lines:
            raise no_rows_error(self.path)


def read_measurements(path: Path | str) -> list[dict[str, str]]:
    """Rows of a measurements CSV as text (missing columns read as empty).

    Raises:
        InputError: unreadable file; a header without ``run_id``, an accelerator column or a
            metric column; no data row; a numeric cell (:data:`NUMERIC_COLUMNS`) that is not a
            non-negative finite number (names the line, run_id and column); a ``source_caveat`` outside
            :data:`~archsweep.validation.caveats.SOURCE_CAVEATS` or without its ``source_caveat_text`` (the same);
            a run_id given twice; more than
            :data:`MAX_MEASUREMENT_ROWS` rows.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            _check_header(path, header)
            rows: list[dict[str, str]] = []
            run_ids = RunIds(path)
            for row in reader:
                if len(rows) >= MAX_MEASUREMENT_ROWS:
                    raise InputError(str(path), "", f"<more than {MAX_MEASUREMENT_ROWS:,} rows>",
                                     f"at most {MAX_MEASUREMENT_ROWS:,} rows (MAX_MEASUREMENT_ROWS)")
                if None in row:
                    raise InputError(str(path), f"line {reader.line_num}", f"<{len(header) + len(row[None])} cells>",
                                     f"at most {len(header)} cells, one per header column")
                _check_cells(path, reader.line_num, row)
                run_ids.add((row.get("run_id") or "").strip(), reader.line_num)
                rows.append({k: (v or "").strip() for k, v in row.items() if k is not None})
            run_ids.done()
            return rows
    except IsADirectoryError:
        raise InputError(str(path), "", "<a directory>", "a CSV file of measured runs") from None
    except OSError as exc:
        raise InputError(str(path), "", f"<{exc.strerror or exc}>", "a readable CSV file") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputError(str(path), "", f"<{exc}>", "a UTF-8 CSV file") from None


def cell_text(row: Mapping[str, str], key: str) -> str:
    value = row.get(key, "") or ""
    return "" if value.strip().lower() in EMPTY_CELLS else value.strip()


def cell_number(row: Mapping[str, str], key: str) -> float | None:
    raw = cell_text(row, key)
    if not raw:
        return None
    try:
        value = float(raw.replace(",", ""))
    except ValueError:
        raise Skip(f"{key}={raw!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise Skip(f"{key}={raw!r}: allowed a positive finite number")
    return value


def cell_int(row: Mapping[str, str], key: str) -> int | None:
    value = cell_number(row, key)
    if value is None:
        return None
    if value != int(value):
        raise Skip(f"{key}={cell_text(row, key)!r}: allowed a positive integer")
    return int(value)


def cell_yes_no(row: Mapping[str, str], key: str) -> bool | None:
    """A yes/no cell as a bool (None when empty); other text skips the row."""
    raw = cell_text(row, key).lower()
    if raw and raw not in ("yes", "true", "on", "1", "y", "no", "false", "off", "0", "n"):
        raise Skip(f"{key}={cell_text(row, key)!r} not understood; allowed: yes/no")
    return raw in ("yes", "true", "on", "1", "y") if raw else None


def stated_job_options(row: Mapping[str, str]) -> dict[str, Any]:
    """The job options a row states in plain columns (:data:`~archsweep.spec.job_option_table.JOB_OPTIONS` rows with
    ``csv_generic``: bool, layout and choice kinds), by option name: a yes / no cell for a bool option, the text for
    a layout or a choice; an empty cell gives the option's default (Megatron-Core's, the table says which). The
    other options' cells need parsing and are read by hand (:func:`offload_layers`, :func:`recompute_modules_of`,
    :func:`archsweep.validation.precision.recipe_of`). Raises ``Skip`` on a yes / no cell that is neither and on a
    choice cell that is none of its choices (the column, the value and the allowed ones named)."""
    out: dict[str, Any] = {}
    for option in JOB_OPTIONS:
        if not option.csv_generic:
            continue
        column = option.csv_column
        stated: Any = cell_yes_no(row, column) if option.kind == "bool" else cell_text(row, column) or None
        if option.kind == "choice" and stated is not None and stated not in option.choices:
            raise Skip(f"{column}={stated!r} not understood; allowed: {option.allowed} (empty = {option.default})")
        out[option.name] = option.default if stated is None else stated
    if out.get("cp_comm_type") == "a2a+p2p":  # its all-to-all group's size has no column (cp_a2a_size)
        raise Skip("cp_comm_type='a2a+p2p' needs its all-to-all group size (cp_a2a_size, Megatron-Core "
                   "hierarchical_context_parallel_sizes), which the CSV has no column for")
    return out


def ds_overlap_comm(row: Mapping[str, str]) -> bool | None:
    """DeepSpeed ``zero_optimization.overlap_comm`` as a row's ``fsdp_zero`` cell states it ("ZeRO-3 (DeepSpeed
    zero_optimization.stage 3, overlap_comm false)", written from the submission's config by
    data/validation/derive/mlperf_stated_layouts.py); None where the cell does not state it."""
    match = re.search(r"overlap_comm\W*(true|false)", cell_text(row, "fsdp_zero").lower())
    return None if match is None else match.group(1) == "true"


def states_fused_adam(row: Mapping[str, str]) -> bool:
    """Whether the row's ``fsdp_zero`` cell states NeMo 1.x's ``fused_adam`` optimizer, not the distributed one
    ("ZeRO-0 (optim fused_adam, not the distributed optimizer)", the MLPerf v4.0 / v4.1 NeMo llama2_70b_lora
    configs' ``model.optim.name``). NeMo then all-reduces the gradients itself, outside Megatron-Core's
    overlapped DDP (:func:`~archsweep.validation.rows.mapping_of` turns the overlap off where that code does)."""
    return "optim fused_adam" in cell_text(row, "fsdp_zero").lower()


def offload_layers(row: Mapping[str, str]) -> int:
    """``act_offload_layers``: layers whose activations the row offloads to host memory (empty: 0).
    Filled by data/validation/derive/activation_offload.py from Megatron-Bridge presets."""
    n = cell_int(row, "act_offload_layers")
    if n is not None and n < 0:
        raise Skip(f"act_offload_layers={n} not understood; allowed: an integer >= 0")
    return n or 0


def recompute_layers_of(row: Mapping[str, str]) -> tuple[RecomputeMethod, int]:
    """(recompute_method, recompute_num_layers) that ``act_recompute`` states for a full recompute, as
    data/validation/derive/mlperf_lora_layout.py writes it ("full (block: 21 layers per pipeline stage; ACG=full
    ACM=block ACL=21)"; Megatron-Core / NeMo ``recompute_method`` / ``activations_checkpoint_method`` and
    ``recompute_num_layers``); ("uniform", 0), every layer on its own, where the cell states none. :class:`Skip` for
    a count below 1."""
    match = re.search(r"\b(block|uniform):\s*(-?\d+)\s+layers?\b", cell_text(row, "act_recompute").lower())
    if match is None:
        return "uniform", 0
    method: RecomputeMethod = "block" if match.group(1) == "block" else "uniform"
    count = int(match.group(2))
    if count < 1:
        raise Skip(f"act_recompute={cell_text(row, 'act_recompute')!r}: {count} layers not understood; allowed: an "
                   f"integer >= 1 of {method} recompute")
    return method, count


def recompute_modules_of(row: Mapping[str, str]) -> tuple[str, ...] | None:
    """``moe_recompute_modules``: the "+"-joined Megatron-Core ``recompute_modules`` of the row's
    Megatron-Bridge preset (data/validation/derive/moe_recipes.py), None when empty or "none". A preset
    that sets them runs ``recompute_granularity = "selective"`` (NVIDIA-NeMo/Megatron-Bridge @067f987
    scripts/performance/utils/overrides.py ``_set_recompute_overrides``)."""
    raw = cell_text(row, "moe_recompute_modules").lower()
    if not raw or raw == "none":
        return None
    names = tuple(m.strip() for m in raw.split("+"))
    bad = [m for m in names if m not in RECOMPUTE_MODULES]
    if bad:
        raise Skip(f"moe_recompute_modules={raw!r}: {', '.join(bad)} not modelled; allowed: "
                   + ", ".join(RECOMPUTE_MODULES))
    return names


def cell_zero_stage(row: Mapping[str, str]) -> int | None:
    """ZeRO stage of ``fsdp_zero`` (FSDP FULL_SHARD / Megatron-FSDP 3, SHARD_GRAD_OP 2, distributed optimizer 1,
    DDP / NO_SHARD 0); None when empty; :class:`Skip` for hybrid sharding or text not understood."""
    raw = cell_text(row, "fsdp_zero")
    text = raw.lower().replace(" ", "").replace("-", "").replace("_", "")
    if not text:
        return None
    if "hybrid" in text:
        raise Skip(f"fsdp_zero={raw!r}: hybrid sharding (shard in a node, replicate across) is not modelled")
    table = (("megatronfsdp", 3), ("fullshard", 3), ("zero3", 3), ("stage3", 3), ("shardgradop", 2), ("zero2", 2), ("stage2", 2),
             ("zero1", 1), ("stage1", 1), ("zero0", 0), ("stage0", 0), ("distributedoptimizer", 1), ("distopt", 1),
             ("noshard", 0), ("ddp", 0), ("none", 0))  # a stated stage before its prose ("ZeRO-0 (not the distributed
    # optimizer)" is 0); "distributed optimizer" before "ddp" / "none" ("none (DDP, distributed optimizer)" is 1)
    for key, stage in table:
        if key in text:
            return stage
    raise Skip(f"fsdp_zero={raw!r} not understood; allowed: FSDP FULL_SHARD/SHARD_GRAD_OP/NO_SHARD, ZeRO-0..3, "
               "distributed optimizer")
