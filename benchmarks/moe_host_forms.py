"""Score forms of the MoE host time on the rows of ``moe_host_residual.py`` (issue 10, s12-moehost; diagnostic).

    python benchmarks/moe_host_residual.py > /tmp/resid.csv
    python benchmarks/moe_host_forms.py /tmp/resid.csv

Per stack (megatron-core = alltoall, megatron-core-flex = DeepEP / HybridEP) each form's stack host time per MoE
layer and micro-batch is grid-fitted on the fit set (nemo + mcore-moe) and judged on the forward group
(mbridge-forward, never fitted). Forms: ``per_mb`` c (main's form), ``per_token`` c x tokens / 4096 (tokens = micro-batch
x sequence / CP), ``per_local_expert`` c x local experts / 16, ``per_launch`` c x (2 + local experts) / 18,
``affine`` a + b x tokens / 4096, and ``device_hidden`` max(0, a + x - k D) - x (s14-h100slow: the host time, the row's
stated graph extra x included, hidden by a share k in [0, 1] of the row's device time per layer-micro-batch D = zero-host
step / layer-micro-batches - x, so that a slower device hides more of it; k = b / 4 ms on the b grid). Per form, the
mean / median signed error (+ = too fast) of every row by part (H100, B200, B300, GB200, GB300), and the per-micro-batch
constant fitted on each part's rows alone (fit set and forward group together). A linear approximation: a row's step is its zero-host step plus the host time times
the row's secant slope (from ``implied_ms`` and ``resid_s``; the busiest stage's layer-micro-batches where the implied
time is under 0.3 ms); the full-iteration rows (no host time) are left out. Re-run a chosen form in the model to
confirm (the figures in docs/model-accuracy.md s12-moehost are model runs).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Mapping

import numpy as np

from archsweep.load.paths import data_dir

EXPERTS = {"DeepSeek": 256, "Qwen3": 128, "GPT_OSS": 128}
Rec = dict[str, float | str]
Form = Callable[[Rec, float, float], float]
FORMS: dict[str, Form] = {
    "per_mb": lambda r, a, b: a,
    "per_token": lambda r, a, b: a * float(r["tok"]) / 4096.0,
    "per_local_expert": lambda r, a, b: a * float(r["le"]) / 16.0,
    "per_launch": lambda r, a, b: a * (2.0 + float(r["le"])) / 18.0,
    "affine": lambda r, a, b: a + b * float(r["tok"]) / 4096.0,
    "device_hidden": lambda r, a, b: max(0.0, a + float(r["x"]) - b / 4e-3 * float(r["dev"])) - float(r["x"]),
}
PARTS = ("GB300", "GB200", "B300", "B200", "H100")


def _experts(run_id: str, model: str) -> float:
    for key, n in EXPERTS.items():
        if key in run_id or model.startswith(key):
            return float(n)
    raise ValueError(f"{run_id}: no expert count for model {model!r} (known: {', '.join(EXPERTS)})")


def records(resid_csv: str) -> list[Rec]:
    """Rows of ``moe_host_residual.py``'s output with the training_runs.csv settings each form needs."""
    with open(data_dir() / "validation" / "training_runs.csv", newline="") as fh:
        runs = {r["run_id"]: r for r in csv.DictReader(fh)}
    out: list[Rec] = []
    with open(resid_csv, newline="") as fh:
        for r in csv.DictReader(fh):
            if float(r["extra_ms"]) < 0:  # full-iteration CUDA graph: no host time
                continue
            run: Mapping[str, str] = runs[r["run_id"]]
            implied = float(r["implied_ms"])
            slope = float(r["resid_s"]) / (implied * 1e-3) if abs(implied) > 0.3 else float(r["layer_mbs"])
            extra = float(r["extra_ms"]) * 1e-3
            part = next((p for p in PARTS if p.lower() in r["run_id"].lower()), "other")
            out.append({"part": part, "x": extra, "dev": float(r["step_host0_s"]) / float(r["layer_mbs"]) - extra,
                        "group": r["group"], "stack": r["stack"], "step": "yes" if run["step_time_s"] else "no",
                        "meas": float(r["step_meas_s"]), "zero": float(r["step_host0_s"]), "slope": slope,
                        "tok": float(run["micro_batch"]) * float(run["seq_len"]) / float(run["cp"] or 1),
                        "le": _experts(r["run_id"], run["model"]) / float(run["ep"] or 1)})
    return out


def _signed(r: Rec, form: Form, a: float, b: float) -> float:
    """Error %, + = too fast: measured step over predicted step, minus 1 (either metric)."""
    step = float(r["zero"]) + float(r["slope"]) * form(r, a, b)
    return 100.0 * (float(r["meas"]) / step - 1.0)


def _mape(recs: list[Rec], form: Form, a: float, b: float) -> float:
    errs = []
    for r in recs:
        step = float(r["zero"]) + float(r["slope"]) * form(r, a, b)
        meas = float(r["meas"])
        errs.append(100.0 * abs(step / meas - 1.0 if r["step"] == "yes" else meas / step - 1.0))
    return float(np.mean(errs))


def by_part(recs: list[Rec], form: Form, a: float, b: float) -> str:
    """Mean / median signed error (+ = too fast) of ``recs`` per part, e.g. 'H100 -9.1 / -11.0 (7)'."""
    out = []
    for part in PARTS:
        sel = [_signed(r, form, a, b) for r in recs if r["part"] == part]
        if sel:
            out.append(f"{part} {np.mean(sel):+.1f} / {np.median(sel):+.1f} ({len(sel)})")
    return ", ".join(out)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    recs = records(argv[0])
    grid_a = np.arange(0.0, 20.01, 0.25) * 1e-3
    grid_b = np.arange(0.0, 4.01, 0.25) * 1e-3
    for stack in ("megatron-core", "megatron-core-flex"):
        fit = [r for r in recs if r["stack"] == stack and r["group"] in ("nemo", "mcore-moe")]
        fwd = [r for r in recs if r["stack"] == stack and r["group"] == "mbridge-forward"]
        for name, form in FORMS.items():
            pairs = [(a, b) for a in grid_a for b in (grid_b if name in ("affine", "device_hidden") else (0.0,))]
            a, b = min(pairs, key=lambda p: _mape(fit, form, p[0], p[1]))
            print(f"{stack} {name}: a={a * 1e3:.2f} ms b={b * 1e3:.2f} ms/4096 tok  fit n={len(fit)} "
                  f"{_mape(fit, form, a, b):.2f} %  forward n={len(fwd)} {_mape(fwd, form, a, b):.2f} %")
            print(f"    signed error by part, mean / median (+ = too fast): {by_part(fit + fwd, form, a, b)}")
        per_mb = FORMS["per_mb"]
        refits = []
        for part in PARTS:
            sel = [r for r in fit + fwd if r["stack"] == stack and r["part"] == part]
            if sel:
                a = min(grid_a, key=lambda v: _mape(sel, per_mb, v, 0.0))
                refits.append(f"{part} {a * 1e3:.2f} ms ({len(sel)} rows, {_mape(sel, per_mb, a, 0.0):.2f} %)")
        print(f"  {stack} per_mb fitted on each part's rows alone (fit + forward): " + ", ".join(refits))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
