"""The MoE rows' errors and search optimism with each row's stated EP all-to-all overlap, with the cell
left empty and with every row stating "yes" (review B finding 5; issue 10, s9-epdefault).

An empty cell is the default of a study or eval job since s9-epdefault: the overlap off, Megatron-Core's
default (``TrainingJob.moe_a2a_overlap`` False). Before, it was the stack's "on" for every interleaved
mapping (no pp = 1 pairing); docs/model-accuracy.md keeps that variant's figures. "yes" everywhere: every
row's job asks for the overlap (and pairs at pp = 1, as a row stating it does).

    python benchmarks/moe_overlap_default.py

Prints per row (rows with a ``moe_a2a_overlap`` cell): stack, stated cell, the signed error (model too
slow > 0, whatever the metric) and best/measured per variant, then MAPE and optimism (median, rows > 1.25,
published baselines left out as in ``archsweep validate --optimism``) over all those rows and over the
flex rows stating "yes".
"""

from __future__ import annotations

import statistics

from archsweep.load.paths import data_dir
from archsweep.validation.cells import cell_text, read_measurements
from archsweep.validation.optimism import search_optimism
from archsweep.validation.rows import calibration_stack
from archsweep.validation.run import validate_rows


def _slow_pct(result) -> float:
    return result.error_pct if result.metric == "step_time_s" else -result.error_pct


def _figures(label: str, errors: list[float], ratios: list[float]) -> str:
    mape = sum(abs(e) for e in errors) / len(errors) if errors else float("nan")
    med = statistics.median(ratios) if ratios else float("nan")
    return (f"{label}: {len(errors)} rows MAPE {mape:.2f} %; optimism {len(ratios)} rows median {med:.3f}, "
            f"rows > 1.25 {sum(r > 1.25 for r in ratios)}")


def main() -> int:
    rows = [r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")
            if cell_text(r, "moe_a2a_overlap")]
    variants = {"stated": rows, "empty": [{**r, "moe_a2a_overlap": ""} for r in rows],
                "yes": [{**r, "moe_a2a_overlap": "yes"} for r in rows]}
    errors, ratios = {}, {}
    for name, rs in variants.items():
        errors[name] = {res.run_id: _slow_pct(res) for res in validate_rows(rs) if res.status == "ok"}
        ratios[name] = {o.run_id: o.best_over_measured for o in search_optimism(rs) if not o.baseline_of}
    print(f"{'run_id':64s} {'stack':20s} cell  err stated / empty / yes   best/meas stated / empty / yes")
    for r in rows:
        i = r["run_id"]
        e, o = (errors[v].get(i, float("nan")) for v in variants), (ratios[v].get(i, float("nan")) for v in variants)
        print(f"{i[:64]:64s} {calibration_stack(r):20s} {r['moe_a2a_overlap']:4s} "
              + " / ".join(f"{x:+6.1f}" for x in e) + "   " + " / ".join(f"{x:.3f}" for x in o))
    flex_yes = {r["run_id"] for r in rows if calibration_stack(r) == "megatron-core-flex" and r["moe_a2a_overlap"] == "yes"}
    for name in variants:
        print(_figures(f"all, {name}", list(errors[name].values()), list(ratios[name].values())))
        print(_figures(f"flex + 'yes', {name}", [v for k, v in errors[name].items() if k in flex_yes],
                       [v for k, v in ratios[name].items() if k in flex_yes]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
