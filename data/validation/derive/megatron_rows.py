"""Fill what the Megatron papers state for rows of data/validation/training_runs.csv whose cells
were left empty, and turn Korthikanti et al.'s per-layer timings into columns.

Re-run after merging other edits of the CSV:  python data/validation/derive/megatron_rows.py
Idempotent; only the rows and cells named below change (the ``derived`` text is set, not appended).

1. SC21 Sec. 5.8 fused-operator rows (``megatron21_fusion_*``): ``seq_len`` = 2048. Narayanan et
   al., SC21 / arXiv:2104.04473 v5, Sec. 5.1: "All models use a vocabulary size (denoted by V) of
   51,200 (multiple of 1024) and a sequence length (s) of 2048"; Sec. 5.8 runs "the GPT-3 model
   (175 billion parameters)" and "the larger GPT model with 530 billion parameters" (the Table 1
   configuration). Sec. 5.8 states neither the GPU count, the global batch nor the (t, p) mapping of
   these runs: the ``notes`` cell says so (``archsweep validate`` skips them for the missing batch).
2. Korthikanti et al., MLSys 2023 / arXiv:2205.05198, Table 4 rows (``korthikanti_22B_layer_*``):
   ``layer_fwd_time_s`` / ``layer_bwd_time_s`` from the ``other_metric`` text "fwd X ms; bwd Y ms"
   (the table's forward and backward columns; its "combined" column is their sum, and the backward
   includes the recomputation), and ``pp`` = 1: Table 3, 22B model: tensor-parallel size 8,
   pipeline-parallel size 1, 8 GPUs, micro-batch 4 (the rows already state tp 8, 8 GPUs, micro-batch 4).
"""

from __future__ import annotations

import re

from runs_table import CSV, read_runs, write_runs

LAYER_COLUMNS = ("layer_fwd_time_s", "layer_bwd_time_s")

_SC21_SEQ = ("seq_len 2048: Narayanan et al. SC21 Sec. 5.1 ('All models use a vocabulary size of 51,200 and a "
             "sequence length (s) of 2048'); Sec. 5.8 runs the GPT-3 175B model and the Table 1 530B model")
_SC21_NOTE = ("Sec. 5.8 states neither the GPU count, the global batch nor the (t, p) mapping of the fusion runs "
              "(Table 2 gives 141-153 TFLOP/s for the same 175B model at 384-1536 GPUs); the model has no "
              "un-fused Megatron kernel variant for the 'without fusion' figure")
_LAYER_DERIVED = ("layer_fwd_time_s, layer_bwd_time_s: Korthikanti et al. MLSys'23 Table 4 forward / backward ms "
                  "(other_metric; backward includes recomputation) / 1000; pp 1: Table 3 (22B: TP 8, PP 1, 8 GPUs, "
                  "micro-batch 4); by data/validation/derive/megatron_rows.py")
_LAYER_TEXT = re.compile(r"fwd\s+([0-9.]+)\s*ms;\s*bwd\s+([0-9.]+)\s*ms", re.IGNORECASE)


def fill(rows: list[dict[str, str]]) -> tuple[int, int]:
    """Fill the cells in place; (SC21 fusion rows, Korthikanti layer rows) changed."""
    fusion = layer = 0
    for row in rows:
        for column in LAYER_COLUMNS:
            row.setdefault(column, "")
        run_id = row["run_id"]
        if run_id.startswith("megatron21_fusion_"):
            row["seq_len"] = "2048"
            row["derived"] = _SC21_SEQ
            row["notes"] = _SC21_NOTE
            fusion += 1
        elif run_id.startswith("korthikanti_22B_layer_"):
            match = _LAYER_TEXT.search(row["other_metric"])
            if match is None:
                raise SystemExit(f"{CSV}: row {run_id}: other_metric {row['other_metric']!r} has no 'fwd X ms; bwd Y ms'")
            row["layer_fwd_time_s"] = f"{float(match.group(1)) / 1000:g}"
            row["layer_bwd_time_s"] = f"{float(match.group(2)) / 1000:g}"
            row["pp"] = "1"
            row["derived"] = _LAYER_DERIVED
            layer += 1
    return fusion, layer


def main() -> None:
    header, rows = read_runs(LAYER_COLUMNS)
    fusion, layer = fill(rows)
    write_runs(header, rows)
    print(f"{CSV}: seq_len on {fusion} SC21 Sec. 5.8 rows, layer times on {layer} Korthikanti Table 4 rows")


if __name__ == "__main__":
    main()
