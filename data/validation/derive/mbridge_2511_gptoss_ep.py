"""Give the Megatron-Bridge 25.11 DGX-B200 GPT-OSS 120B row the expert parallelism of its release's preset, EP 64,
instead of the table's EP 8 (issue 10; evidence by s18-A, applied by the eighteenth session's lead).

The row: ``mbridge_25.11_DGX-B200_GPT_OSS_120B_BF16_64`` (8,213 tokens/s/GPU; table line GBS 512, MBS 4, TP 1, PP 1,
EP 8, GA 2). Its line is new in the 25.11 tables (no 25.09 line to copy, so mbridge_2511_layout.py's rule does not
reach it). Sources, github:NVIDIA-NeMo/Megatron-Bridge:

- the release's preset, Megatron-Bridge 0.2.0 (the 25.11 container's, ``docs/releases/software-versions.md``), read
  here at the pinned v0.2.0 commit: ``scripts/performance/configs/gpt_oss/workload_base_configs.py``
  ``GPT_OSS_120B_B200_BF16_BASE_CONFIG = replace(BASE_GPT_OSS_120B_CONFIG, expert_model_parallel_size=64,
  micro_batch_size=4, ...)`` over a base of GBS 512: the table's GBS and MBS, EP 64;
- s18-A read every snapshot of that preset from 34641780a (2025-11-20) through v0.2.0 .. v0.2.2, the commit that adds
  the 25.11 table (44dae92b0, 2025-12-04), the benchmark branch whose GB200 / GB300 cells are the table's, and the
  LLM-benchmarking rebase (08968b395, 2025-12-15): all EP 64 with MBS 4; none has EP 8 with MBS 4;
- the measured figure sits with the EP 64 runs: 26.02 DGX-B200 at EP 64 measured 8,047 tokens/s/GPU, while the EP 8
  B200 runs of 26.02.01 .. 26.04.01 measured 13,045 .. 13,722.

Against (kept in the confidence): the 25.11 tables were measured with configurations of their own in places (the GB
rows' GBS 1280 / seq 8192), so the table's EP 8 cannot be proven wrong from code alone. The throughput, GPU count,
batch and every other cell stay the table's; only ``ep`` is written, and the row's ``derived`` says so.

Usage: python data/validation/derive/mbridge_2511_gptoss_ep.py <Megatron-Bridge git dir>   (idempotent)
"""

from __future__ import annotations

import re
import sys

from pinned_mirrors import git_text, mbridge_commits
from runs_table import read_runs, set_note, write_runs

RUN_ID = "mbridge_25.11_DGX-B200_GPT_OSS_120B_BF16_64"
_TAG = "v0.2.0"
_PRESETS = "scripts/performance/configs/gpt_oss/workload_base_configs.py"
_PRESET = "GPT_OSS_120B_B200_BF16_BASE_CONFIG"
#: The EP every preset snapshot sets (module docstring); the script refuses a preset that sets another.
_EP = 64
_NOTE_START = r"ep 64 from the v0\.2\.0 preset"
CONFIDENCE = ("medium (official NVIDIA doc table for the throughput; EP is the release's preset's, not the table "
              "line's EP 8: see derived and data/validation/derive/mbridge_2511_gptoss_ep.py)")


def preset_ep_mbs(text: str) -> tuple[int, int]:
    """(expert_model_parallel_size, micro_batch_size) of the B200 BF16 preset in the text of ``_PRESETS``."""
    match = re.search(rf"{_PRESET}\s*=\s*replace\((.*?)\n\)", text, re.S)
    if match is None:
        raise SystemExit(f"{_PRESETS}@{_TAG}: no `{_PRESET} = replace(...)`; the preset file changed shape")
    body = match.group(1)
    values = [re.search(rf"{key}=(\d+)", body) for key in ("expert_model_parallel_size", "micro_batch_size")]
    if values[0] is None or values[1] is None:
        raise SystemExit(f"{_PRESETS}@{_TAG}: {_PRESET} sets no expert_model_parallel_size / micro_batch_size")
    return int(values[0].group(1)), int(values[1].group(1))


def main(repo: str) -> None:
    """Write ``ep`` of :data:`RUN_ID` from the pinned v0.2.0 preset, with the provenance note and confidence."""
    commit = mbridge_commits(repo, [_TAG])[_TAG]
    ep, mbs = preset_ep_mbs(git_text(repo, "show", f"{commit}:{_PRESETS}"))
    header, rows = read_runs()
    row = next((r for r in rows if r["run_id"] == RUN_ID), None)
    if row is None:
        raise SystemExit(f"data/validation/training_runs.csv: no row {RUN_ID}")
    if ep != _EP:
        raise SystemExit(f"{_PRESETS}@{_TAG} {_PRESET}: expert_model_parallel_size {ep}, not the {_EP} the evidence "
                         "above (and the note written) is about: re-read it by hand")
    if int(row["micro_batch"]) != mbs:
        raise SystemExit(f"{RUN_ID}: micro_batch {row['micro_batch']} is not the preset's {mbs}; not the same run")
    note = (f"ep 64 from the v0.2.0 preset (table line: EP 8, {_PRESET} @{commit[:10]} {_PRESETS}: EP {ep}, "
            f"MBS {mbs}, every preset snapshot 2025-11-20 .. 2025-12-15 EP 64 with MBS 4, the figure beside the "
            "26.02 EP 64 run's 8,047, mbridge_2511_gptoss_ep.py)")
    row["ep"] = str(ep)
    row["confidence"] = CONFIDENCE
    row["derived"] = set_note(row["derived"], _NOTE_START + r"[^;]*mbridge_2511_gptoss_ep\.py\)", note)
    write_runs(header, rows)
    print(f"{RUN_ID}: ep {ep} (preset {_PRESET} @{commit[:10]})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
