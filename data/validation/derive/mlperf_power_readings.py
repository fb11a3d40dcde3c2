"""The MLPerf Training power readings as validation data: data/validation/mlperf_power_readings.csv (s11-energy).

Each row is one MLPerf Training power submission (a results folder with a ``power/`` folder, read by
:mod:`mlperf_power_logs` at the commit :mod:`pinned_mirrors` pins) and the training_runs.csv row it is compared
with: the median over the submission's runs of the median over nodes of each node's in-run median
(``node_in_run_w``, as logged), the node's floor (``node_floor_w``: the median after the run where the log goes on
past ``run_stop`` with idle GPUs, else the median of the lowest readings, one-second samples in the evaluation
pauses), the logged ``conversion_eff`` (AC analysers; 1 for DC), and from them a bracket of the power of one GPU
during the run (W, DC):

* ``gpu_power_low_w`` = (in-run - floor) x conversion_eff / GPUs per node: the GPUs' rise over the floor less the
  host's own rise, a *lower bound* (the GPUs' own idle draw is on top);
* ``gpu_power_high_w`` = in-run x conversion_eff / GPUs per node: the whole node given to its GPUs, an upper bound
  (the part's TDP is the other one).

Usage: python data/validation/derive/mlperf_power_readings.py <mirror dir of training_results_v4.0> <... v4.1> \
           <... v5.0>
(writes data/validation/mlperf_power_readings.csv).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from mlperf_power_logs import RunSummary, run_summaries
from pinned_mirrors import open_mirrors
from runs_table import write_table

CSV = Path(__file__).resolve().parents[1] / "mlperf_power_readings.csv"
COLUMNS = ("reading_id", "accelerator", "benchmark", "source", "source_locator", "runs", "nodes", "gpus_per_node",
           "analyser", "conversion_eff", "node_in_run_w", "node_floor_w", "floor_kind", "gpu_power_low_w",
           "gpu_power_high_w", "matched_run_id", "match_notes", "confidence")

#: (reading_id, version, results folder, accelerator, analyser, matched training_runs.csv row, why that row).
SUBMISSIONS = (
    ("v4.0_smc_1x8_h100_lora", "v4.0", "smc-dc-power/results/1xSMC-H100-SXM-80GB/llama2_70b_lora", "H100-SXM", "DC",
     "mlperf_train_v4.0_NVIDIA_eos_ngc24.04_nemo_llama2_70b_lora",
     "same benchmark and layout (8 GPUs, TP4, GBS 8); SMC's tracked step 3.834 s vs the row's 3.813 s; immersion-"
     "cooled, no fans"),
    ("v4.0_smc_8x8_h100_lora", "v4.0", "smc-dc-power/results/8xSMC-H100-SXM-80GB/llama2_70b_lora", "H100-SXM", "DC",
     "mlperf_train_v4.0_NVIDIA_eos_n8_ngc24.04_nemo_llama2_70b_lora",
     "same benchmark, 64 GPUs, TP4 CP2; immersion-cooled"),
    ("v4.0_smc_64x8_h100_gpt3", "v4.0", "smc-dc-power/results/64xSMC-H100-SXM-80GB/gpt3", "H100-SXM", "DC",
     "mlperf_train_v4.0_NVIDIA_eos_n64_ngc24.04_nemo_gpt3",
     "same benchmark, 512 GPUs, TP4 PP8; SMC's time to train 11 % longer than NVIDIA's; immersion-cooled"),
    ("v4.1_dell_8x8_h100_lora", "v4.1", "Dell/results/8xXE9680x8H100-SXM-80GB-POWER/llama2_70b_lora", "H100-SXM", "AC",
     "mlperf_train_v4.1_Dell_8xXE9680x8H100-SXM-80GB-POWER_llama2_70b_lora", "the row of this submission; air-cooled"),
    ("v5.0_lenovo_1x8_b200_lora", "v5.0", "Lenovo/results/SR780aV3-8xB200_SXM_180GB/llama2_70b_lora", "B200", "AC",
     "mlperf_train_v5.0_NVIDIA_nyx_n1_ngc25.04_nemo_llama2_70b_lora",
     "same launch configuration but CPU binding (step within 0.8 %); water-cooled"),
)
GPUS_PER_NODE = 8  # every system above: 8 GPUs per node (the folders' system names)


def _floor(runs: list[RunSummary]) -> tuple[float, str]:
    """(median node floor over runs, its kind): after-run idle where every run's nodes log it, else lowest reading."""
    after = [[n.after_run_median_w for n in r.nodes] for r in runs]
    if all(a is not None for row in after for a in row):
        return statistics.median(statistics.median(row) for row in after), "median after the run (idle GPUs)"
    return (statistics.median(statistics.median(n.lowest_w for n in r.nodes) for r in runs),
            "lowest reading (evaluation pauses)")


def reading_row(reading_id: str, version: str, folder: str, accelerator: str, analyser: str, matched: str,
                notes: str, runs: list[RunSummary], commit: str) -> dict[str, str]:
    """The CSV row of one submission from its :func:`mlperf_power_logs.run_summaries`."""
    if not runs:
        raise SystemExit(f"{version} {folder}: no power run with an in-run node reading")
    in_run = statistics.median(statistics.median(n.in_run_median_w for n in r.nodes) for r in runs)
    floor, kind = _floor(runs)
    effs = {n.conversion_eff for r in runs for n in r.nodes}
    if analyser == "AC" and (len(effs) != 1 or None in effs):
        raise SystemExit(f"{version} {folder}: AC analysers without one logged conversion_eff ({sorted(map(str, effs))})")
    eff = 1.0 if analyser == "DC" else float(next(iter(effs)))  # type: ignore[arg-type]
    return {"reading_id": reading_id, "accelerator": accelerator, "benchmark": folder.rsplit("/", 1)[1],
            "source": f"github.com/mlcommons/training_results_{version}",
            "source_locator": f"{folder}/power/ (commit {commit[:8]}); data/validation/derive/mlperf_power_readings.py",
            "runs": str(len(runs)), "nodes": str(len(runs[0].nodes)), "gpus_per_node": str(GPUS_PER_NODE),
            "analyser": analyser, "conversion_eff": f"{eff:g}", "node_in_run_w": f"{in_run:.0f}",
            "node_floor_w": f"{floor:.0f}", "floor_kind": kind,
            "gpu_power_low_w": f"{(in_run - floor) * eff / GPUS_PER_NODE:.0f}",
            "gpu_power_high_w": f"{in_run * eff / GPUS_PER_NODE:.0f}", "matched_run_id": matched, "match_notes": notes,
            "confidence": "medium"}


def main(paths: list[str]) -> None:
    mirrors = open_mirrors(paths)
    rows = []
    for reading_id, version, folder, accelerator, analyser, matched, notes in SUBMISSIONS:
        if version not in mirrors:
            raise SystemExit(f"no mirror of training_results_{version} given (pass one clone per version)")
        mirror = mirrors[version]
        rows.append(reading_row(reading_id, version, folder, accelerator, analyser, matched, notes,
                                run_summaries(mirror, folder), mirror.commit))
    write_table(CSV, COLUMNS, rows)
    print(f"wrote {len(rows)} readings to {CSV}")


if __name__ == "__main__":
    main(sys.argv[1:])
