"""What the MoE rows say about the fitted MoE host time: per row, the host time per MoE layer and micro-batch
that would make the row exact, and the step's residual with no host time at all (issue 10, s10-q235).

    python benchmarks/moe_host_residual.py                 # every MoE row of the two Megatron-Core stacks
    python benchmarks/moe_host_residual.py --grid 0 1 2 3  # also the MAPE of a per-step form C s per step

Columns: ``implied_ms`` is the stack value of ``moe_layer_host_overhead_s`` (ms) at which the row's prediction
equals the measurement (linear in the step; the row's stated CUDA-graph extra ``extra_ms`` comes on top),
``resid_s`` the measured step minus the model's step with the stack host time 0 (the extra kept), and
``layer_mbs`` the MoE layers of the busiest stage times its micro-batches per step. The stack's per-token part
(``moe_host_s_per_token``, s15-moehost) is set to 0 here, so ``implied_ms`` is the row's whole host time per MoE
layer-micro-batch, whatever the form (``benchmarks/moe_host_forms.py`` fits forms to it). A diagnostic: no constant
of data/calibration is changed; the per-step form has no source and is not priced anywhere.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.paths import data_dir
from archsweep.spec.calibration import Calibration
from archsweep.validation.cells import read_measurements
from archsweep.validation.holdout import _is_moe
from archsweep.validation.moe_graphs import graph_scope_calibration
from archsweep.validation.rows import calibration_stack
from archsweep.validation.run import validate_rows

STACKS = ("megatron-core", "megatron-core-flex")


def _step_s(row: Mapping[str, str], metric: str, value: float) -> float:
    """Step time, s, of a throughput (tokens/s/GPU) or step-time value of ``row``."""
    if metric == "step_time_s":
        return value
    return float(row["global_batch_seqs"]) * float(row["seq_len"]) / float(row["num_accels"]) / value


def _layer_mbs(row: Mapping[str, str]) -> float:
    """MoE layers of the busiest pipeline stage x micro-batches per step (every layer counted as MoE)."""
    tp, pp, cp = (float(row[k] or 1) for k in ("tp", "pp", "cp"))
    dp = float(row["num_accels"]) / (tp * pp * cp)
    micro_batches = float(row["global_batch_seqs"]) / (dp * float(row["micro_batch"]))
    return math.ceil(float(row["layers"]) / pp) * micro_batches


def _implied_s(row: Mapping[str, str], cal: Calibration, points: list[tuple[float, float]], s_meas: float) -> float:
    """The stack host time, s, at which ``row``'s predicted step equals ``s_meas``: secant steps from ``points``
    ((host time, predicted step) pairs). The step is piecewise linear in the host time (the slowest pipeline
    stage can change, e.g. with the embedding / loss split), so a few steps rather than one; nan where the
    step does not grow with the host time."""
    for _ in range(6):
        (h1, s1), (h2, s2) = points[-2], points[-1]
        slope = (s2 - s1) / (h2 - h1) if h2 != h1 else 0.0
        if slope <= 0:
            return float("nan")
        h = h2 + (s_meas - s2) / slope
        r = validate_rows([row], calibration=replace(cal, moe_layer_host_overhead_s=h))[0]
        points.append((h, _step_s(row, r.metric, r.predicted)))
        if abs(points[-1][1] - s_meas) <= 1e-4 * s_meas:
            break
    return points[-1][0]


def analyse(rows: list[Mapping[str, str]]) -> list[dict[str, object]]:
    """One record per MoE row of :data:`STACKS` that validates ok (see module doc)."""
    out: list[dict[str, object]] = []
    for row in rows:
        stack = calibration_stack(row)
        if stack not in STACKS or not _is_moe(row):
            continue
        cal = replace(load_calibration(stack=stack), moe_host_s_per_token=0.0)  # the whole host time per call
        h0 = cal.moe_layer_host_overhead_s
        now, plus, zero = (validate_rows([row], calibration=replace(cal, moe_layer_host_overhead_s=h))[0]
                           for h in (h0, h0 + 1e-3, 0.0))
        if now.status != "ok":
            continue
        s_now, s_plus, s_zero = (_step_s(row, r.metric, r.predicted) for r in (now, plus, zero))
        s_meas = _step_s(row, now.metric, now.measured)
        extra = graph_scope_calibration(row, cal, None).moe_layer_host_overhead_s - h0
        implied = _implied_s(row, cal, [(h0, s_now), (h0 + 1e-3, s_plus)], s_meas)
        out.append({"run_id": row["run_id"], "group": row["source_group"], "stack": stack, "model": row["model"],
                    "metric": now.metric, "err": now.error_pct, "implied_ms": implied * 1e3,
                    "extra_ms": extra * 1e3, "pp": row["pp"],
                    "layer_mbs": _layer_mbs(row), "step_meas": s_meas, "step_zero": s_zero,
                    "resid_s": s_meas - s_zero})
    return out


def _err(rec: Mapping[str, object], step_s: float) -> float:
    meas = float(rec["step_meas"])  # type: ignore[arg-type]
    return 100.0 * (step_s / meas - 1.0 if rec["metric"] == "step_time_s" else meas / step_s - 1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grid", nargs="*", type=float, default=[], metavar="S",
                        help="per-step host seconds to score instead of the per-layer-micro-batch form")
    args = parser.parse_args(argv)
    recs = analyse(read_measurements(data_dir() / "validation" / "training_runs.csv"))
    print("run_id,group,stack,err_pct,implied_ms,extra_ms,pp,layer_mbs,step_meas_s,step_host0_s,resid_s")
    for r in recs:
        print(f"{r['run_id']},{r['group']},{r['stack']},{r['err']:.1f},{r['implied_ms']:.2f},{r['extra_ms']:.2f},"
              f"{r['pp']},{r['layer_mbs']:.0f},{r['step_meas']:.2f},{r['step_zero']:.2f},{r['resid_s']:.2f}")
    for stack in STACKS:
        for label, groups in (("fit (nemo + mcore-moe)", {"nemo", "mcore-moe"}), ("forward", {"mbridge-forward"})):
            sel = [r for r in recs if r["stack"] == stack and r["group"] in groups]
            if not sel or not args.grid:
                continue
            big = np.array([str(r["model"]).startswith("Qwen3_235") for r in sel])
            now = np.abs([float(r["err"]) for r in sel])  # type: ignore[arg-type]
            line = f"{stack} {label} n={len(sel)} now {now.mean():.2f} ({now[big].mean():.1f} / {now[~big].mean():.1f})"
            for c in args.grid:
                e = np.abs([_err(r, float(r["step_zero"]) + c) for r in sel])  # type: ignore[arg-type]
                line += f" | {c:g} s: {e.mean():.2f} ({e[big].mean():.1f} / {e[~big].mean():.1f})"
            print(line + "   (MAPE %, all (Qwen3-235B / rest))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
