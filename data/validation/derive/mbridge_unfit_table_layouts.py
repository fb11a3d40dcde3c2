"""Give the three Megatron-Bridge rows whose table layout cannot have run the layout of their release's preset
(issue 10, s20-F).

The rows and why their table line's layout cells are not the run's (github:NVIDIA-NeMo/Megatron-Bridge, read at the
commits pinned in pinned_mirrors.py ``MBRIDGE_COMMITS``; the tables at @067f987df ``docs/performance-summary-archive.md``):

- ``mbridge-fwd_26.02.01_DGX-GB300_LLAMA3-70B_NVFP4_64`` (7,002 tokens/s/GPU; line: MBS 2, FSDP 0, TP 1, PP 1, VP
  n/a). Llama 3 70B without FSDP at TP 1 PP 1 holds every weight and its gradient on each GPU: 70.6 G parameters
  x (2 B BF16 weight + 2 B BF16 gradient, the presets' ``grad_reduce_in_fp32 = False``) = 282 GB of the GB300's 288
  GB before any optimizer state or activation (8,192 tokens x 2 per micro-batch, no recompute: ~324 GB more). It
  cannot have run. The line was written by cfeddcd94 (2026-03-21, "2602_perf_table_reorder and patch container
  data"), whose 26.02.01 GB300 FP8 line has the same MBS 2 / TP 1 / PP 1 cells with FSDP 64 (the FP8_CS_V2 preset:
  Megatron-FSDP, MBS 2); the release's NVFP4 preset ``LLAMA3_70B_PRETRAIN_CONFIG_GB300_NVFP4_V2`` (v0.3.1, the 26.02.01
  container's) is PP 4 VP 5 MBS 1, as in every snapshot of the preset file from v0.3.0 until its removal (c8327cfc2, 2026-07-08), and the 26.02 /
  26.04.01 lines of the same system and precision state PP 4 VP 5 MBS 1 (6,798 / 7,296 tokens/s/GPU, beside 7,002).
- ``mbridge-fwd_26.02.01_DGX-GB300_LLAMA3-70B_MXFP8_64`` (4,798; line: MBS 2, TP 1, PP 4, VP n/a): no recompute at
  micro-batch 2 over 4 in-flight micro-batches of 20 layers holds ~311 GB of activations alone; the release's
  ``LLAMA3_70B_PRETRAIN_CONFIG_GB300_FP8_MX_V2`` is PP 4 VP 5 MBS 1 (every snapshot as above), the 26.02 line PP 4 VP 5
  MBS 1 (4,596 tokens/s/GPU). Same commit cfeddcd94.
- ``mbridge_25.11_DGX-H100_GPT_OSS_120B_BF16_64`` (5,630; line: GBS 512, MBS 4, PP 4, EP 8, GA 2). The line is
  internally inconsistent (GBS / (MBS x DP 16) = 8, not the GA 2 it states; MBS 4 and GA 2 are the 25.11 B200 line's
  cells, s18-C); the release's ``GPT_OSS_120B_H100_BF16_BASE_CONFIG`` (v0.2.0, the 25.11 container's) is PP 4 EP 8
  with the base's MBS 1, and the 26.02 H100 line states MBS 1 PP 4 EP 8 (5,993 tokens/s/GPU). At MBS 4 the stage holds
  4 in-flight micro-batches of 9 MoE layers of 16,384 tokens (the model: 102 GB of the H100's 80 GB).

Each row takes the preset's PP / VP / MBS (and DP = GPUs / (TP x PP x CP)); the throughput, GPU count, global batch
and every other cell stay the table's. The script refuses a preset that no longer sets the layout named here, and a
row whose other layout cells are not the preset's (not the same run). Idempotent: the note is replaced in place
(``set_note``). Run after mbridge_archive_rows.py (which writes the forward rows' table cells) and after
mbridge_grad_reduce.py (the order the committed ``derived`` notes stand in; s21-L).

Usage: python data/validation/derive/mbridge_unfit_table_layouts.py <Megatron-Bridge git dir>
"""

from __future__ import annotations

import sys
from typing import NamedTuple

from mbridge_archive_rows import presets
from pinned_mirrors import git_text, mbridge_commits
from runs_table import read_runs, set_note, write_runs


class Fix(NamedTuple):
    """One row, the preset it takes its layout from and the layout the evidence above is about."""

    run_id: str
    tag: str
    path: str
    preset: str
    pp: int
    vpp: int | None
    mbs: int
    why: str


FIXES = (
    Fix("mbridge-fwd_26.02.01_DGX-GB300_LLAMA3-70B_NVFP4_64", "v0.3.1",
        "scripts/performance/configs/llama/llama3_workload_base_configs.py", "LLAMA3_70B_PRETRAIN_CONFIG_GB300_NVFP4_V2",
        4, 5, 1, "table line MBS 2 TP 1 PP 1 without FSDP: BF16 weights and gradients alone 282 of 288 GB"),
    Fix("mbridge-fwd_26.02.01_DGX-GB300_LLAMA3-70B_MXFP8_64", "v0.3.1",
        "scripts/performance/configs/llama/llama3_workload_base_configs.py", "LLAMA3_70B_PRETRAIN_CONFIG_GB300_FP8_MX_V2",
        4, 5, 1, "table line MBS 2 PP 4 VP n/a without recompute: ~311 GB of activations"),
    Fix("mbridge_25.11_DGX-H100_GPT_OSS_120B_BF16_64", "v0.2.0",
        "scripts/performance/configs/gpt_oss/workload_base_configs.py", "GPT_OSS_120B_H100_BF16_BASE_CONFIG",
        4, None, 1, "table line MBS 4 GA 2 at DP 16 is inconsistent (512 / 64 = 8), the B200 line's cells"),
)
_NOTE_START = r"layout pp [^;]*mbridge_unfit_table_layouts\.py\)"
CONFIDENCE = ("medium (official NVIDIA doc table for the throughput; the layout is the release's preset: the table "
              "line's layout cannot have run, see derived and data/validation/derive/mbridge_unfit_table_layouts.py)")


def _cell(value: int | None) -> str:
    """A preset's virtual pipeline size as the CSV states it: no interleaving (``None``) is VP 1."""
    return "1" if value is None else str(value)


def apply(fix: Fix, found: dict[str, dict[str, object]], commit: str, row: dict[str, str]) -> None:
    """Write ``fix``'s preset layout into ``row`` (checked against the preset text ``found`` at ``commit``)."""
    preset = found.get(fix.preset)
    if preset is None:
        raise SystemExit(f"{fix.path}@{fix.tag}: no preset {fix.preset}; the preset file changed shape")
    got = (preset["pipeline_model_parallel_size"], preset["virtual_pipeline_model_parallel_size"],
           preset["micro_batch_size"])
    if got != (fix.pp, fix.vpp, fix.mbs):
        raise SystemExit(f"{fix.path}@{fix.tag} {fix.preset}: PP / VP / MBS {got}, not the {(fix.pp, fix.vpp, fix.mbs)} "
                         "the evidence of this script is about: re-read it by hand")
    same = {"tp": preset["tensor_model_parallel_size"], "cp": preset["context_parallel_size"],
            "global_batch_seqs": preset["global_batch_size"], "num_accels": preset["num_gpus"]}
    for column, value in same.items():
        if row[column] not in ("", "n/a") and int(row[column]) != value:
            raise SystemExit(f"{fix.run_id}: {column} {row[column]} is not the preset's {value}; not the same run")
    # the preset's TP / CP (the row's, where it states them, were checked equal above; "n/a" is no number)
    dp = int(row["num_accels"]) // (int(same["tp"]) * fix.pp * int(same["cp"]))  # type: ignore[call-overload]
    row["pp"], row["vpp"], row["micro_batch"], row["dp"] = str(fix.pp), _cell(fix.vpp), str(fix.mbs), str(dp)
    row["confidence"] = CONFIDENCE
    note = (f"layout pp {fix.pp} vpp {_cell(fix.vpp)} micro_batch {fix.mbs} dp {dp} from the {fix.tag} preset "
            f"({fix.why}, {fix.preset} @{commit[:10]} {fix.path}, mbridge_unfit_table_layouts.py)")
    row["derived"] = set_note(row["derived"], _NOTE_START, note)


def main(repo: str) -> None:
    """Write the layout of every row of :data:`FIXES` from its pinned preset, with the provenance note."""
    commits = mbridge_commits(repo, [f.tag for f in FIXES])
    header, rows = read_runs()
    by_id = {r["run_id"]: r for r in rows}
    for fix in FIXES:
        if fix.run_id not in by_id:
            raise SystemExit(f"data/validation/training_runs.csv: no row {fix.run_id}")
        found = presets(git_text(repo, "show", f"{commits[fix.tag]}:{fix.path}"))
        apply(fix, found, commits[fix.tag], by_id[fix.run_id])
        print(f"{fix.run_id}: pp {fix.pp} vpp {_cell(fix.vpp)} micro_batch {fix.mbs} ({fix.preset} @{fix.tag})")
    write_runs(header, rows)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
