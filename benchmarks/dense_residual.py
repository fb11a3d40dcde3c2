"""Residual structure of the dense training rows across GPU generations (issue 10, s12-dense).

    archsweep validate --measurements data/validation/training_runs.csv --summary-only --output rows.csv
    python benchmarks/dense_residual.py rows.csv [--groups nemo,mlperf,...] [--features out.csv] [--bins 3]

Reads the per-row output of ``archsweep validate --output`` (the errors), keeps the modelled (``ok``) dense rows
(``arch_type`` not starting with ``moe``) with a throughput or step-time metric, re-evaluates each row's stated
mapping as ``validate`` does (``validation.run.plan_row`` / ``evaluate_plan``, the fastest valid strategy, as
benchmarks/row_breakdown.py) and computes per row:

* ``fast_pct``: how much faster the model is than measured, % (+ = too fast; throughput metrics pred / meas - 1,
  time metrics meas / pred - 1);
* the per-GPU Linear GEMM shapes after TP and micro-batch (M = micro_batch x seq / cp tokens; QKV, attention
  output, FC1, FC2), ``m_tokens``, ``n_fc1``, ``k_fc2``, and their FLOP-weighted shape efficiency as the model
  prices it (``model_shape_eff``: tile x wave x K-fill of archsweep.model.gemm, over the 12 passes, forward,
  data and weight gradient) and as a large-tile kernel would see it (``big_tile_wave_eff``: tile and wave
  quantisation with 256 x 256 output tiles over SMs / 2 on Blackwell (the 2-SM UMMA), 128 x 256 over SMs on
  Hopper, 128 x 256 over SMs on Ampere; no K-fill);
* micro-batches per step, layers per (virtual) stage, layer passes per step per GPU, the model's step time,
  per-step and per-micro-batch fixed-cost sensitivities (1 / step, micro-batches x virtual stages / step);
* the share of the step in each term (compute, recompute, bubble, exposed TP / CP / PP / DP, optimizer,
  offload), the attention core's share of a layer's forward, the model's MFU, the clock after DVFS over the
  part's clock, the power over the TDP and the power demand (the power at the nominal clock over the TDP,
  > 1 where the model throttles).

Then prints per generation the rows, mean signed and MAPE, the Spearman rank correlation of ``fast_pct`` with
each feature (inside each generation and over the Blackwell parts), the R^2 each feature adds to per-part
offsets, the measured and modelled speed ratio of the same Megatron-Bridge preset on two parts, and mean
``fast_pct`` per quantile (inside each generation) of the features that matter most (``--bins``).
``--features`` writes the per-row table. Features computed from the model's own speed (``SPEED_DERIVED``)
are marked: they correlate with the error partly because they are made of it.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
from row_breakdown import row_step

from archsweep.load.catalog import load_catalog
from archsweep.load.paths import data_dir
from archsweep.load.technology import load_technology
from archsweep.model.gemm import PartFill, gemm_efficiency, low_precision_rate_ratio
from archsweep.model.transformer import layer_costs
from archsweep.validation.cells import read_measurements

GENERATION = {"A100-SXM4": "Ampere", "A100-SXM4-40GB": "Ampere", "H100-SXM": "Hopper", "H200-SXM": "Hopper",
              "H200": "Hopper", "H200-NVL": "Hopper", "GH200": "Hopper", "H800": "Hopper", "B200": "Blackwell", "GB200": "Blackwell",
              "B300": "Blackwell Ultra", "GB300": "Blackwell Ultra"}
_TIME_METRICS = ("step_time_s",)
_SPEED_METRICS = ("tokens_per_s_per_gpu", "tflops_per_gpu", "mfu_pct")
_TERMS = ("compute", "recompute", "bubble", "tp_comm_exposed", "cp_comm_exposed", "pp_comm_exposed",
          "dp_comm_exposed", "optimizer", "offload_exposed")
FEATURES = ("m_tokens", "n_fc1", "k_fc2", "model_shape_eff", "big_tile_wave_eff", "microbatches",
            "layers_per_vstage", "layer_passes", "step_s", "per_step_sens", "per_mb_sens", "tp", "pp", "cp", "vpp",
            "micro_batch", "seq_len", "hidden", "attn_share", "model_mfu", "clock_ratio", "power_ratio", "power_demand",
            *(f"share_{t}" for t in _TERMS))


#: features computed from the model's own speed of the row (its predicted step, utilisation, power, clock):
#: a row the model makes too fast has a larger predicted MFU and power and a shorter step *because* it is too
#: fast, so their correlation with ``fast_pct`` is partly the error itself (reported apart).
SPEED_DERIVED = ("step_s", "per_step_sens", "per_mb_sens", "model_mfu", "clock_ratio", "power_ratio",
                 "power_demand")


def _f(x: object) -> float:
    item = np.ravel(x)[0]
    return float(item) if not isinstance(item, str) else float(item not in ("none", "off", ""))


def _big_tile(m: float, n: float, gen: str, sms: float) -> tuple[float, float]:
    """(tile and wave efficiency, tiles) of an m x n output with the large tile of ``gen`` (module doc)."""
    tm, tn, units = (256.0, 256.0, sms / 2.0) if gen.startswith("Blackwell") else (128.0, 256.0, sms)
    tiles_m, tiles_n = np.ceil(m / tm), np.ceil(n / tn)
    tiles = tiles_m * tiles_n
    return float(m * n / (tiles * tm * tn) * tiles / (np.ceil(tiles / units) * units)), float(tiles)


def _power_demand(power_w: float, static_w: float, tdp_w: float, clock_ratio: float, tech) -> float:
    """The row's power at the part's nominal clock over its TDP, from the power at the clock after DVFS
    (archsweep.model.power: dynamic energy per step x V^2, static x V, step time x 1 / clock for the
    compute-bound step; V = v0 + (1 - v0) s): above 1 exactly where the model throttles. An estimate
    (the step is not all compute-bound), used as a feature only."""
    if clock_ratio >= 1.0:
        return power_w / tdp_w
    v0 = tech.calibration.dvfs_v_floor_fraction
    v = v0 + (1.0 - v0) * clock_ratio
    return (static_w / v + (power_w - static_w) / (v * v * clock_ratio)) / tdp_w


def row_features(row: dict[str, str], catalog, tech) -> dict[str, float | str]:
    """The features of one training_runs.csv row at its stated mapping (module doc)."""
    rs = row_step(row, catalog, tech)
    plan, res, cal, hw, mp, wl, peak = rs.plan, rs.result, rs.cal, rs.hw, rs.mp, rs.wl, rs.peak
    fp8 = wl.training.precision == "fp8"
    gen = GENERATION.get(plan.entry.name, "other")
    tp, cp, mb = _f(mp.tp), _f(mp.cp), _f(mp.micro_batch)
    m = mb * wl.seq_len / cp
    h, hd = float(wl.hidden), float(wl.head_dim)
    qkv_n = (wl.heads + 2 * wl.kv_heads) * hd / tp
    shapes = [(m, qkv_n, h), (m, h, wl.heads * hd / tp), (m, (wl.ffn_matrices - 1) * wl.ffn_hidden / tp, h),
              (m, h, wl.ffn_hidden / tp)]
    units, fill = float(np.ravel(hw.compute_units)[0]), PartFill.of(hw)
    eff_sum = big_sum = flops_sum = 0.0
    for a, n, k in shapes:  # forward (m n k), data gradient (m k n), weight gradient (k n m)
        for mm, nn, kk in ((a, n, k), (a, k, n), (k, n, a)):
            fl = 2.0 * mm * nn * kk
            eff = _f(gemm_efficiency(np.asarray(mm), np.asarray(nn), np.asarray(kk), hw.compute_units,
                                     np.asarray(1.0), replace(cal, gemm_in_training_ratio=1.0), fp8, fill))
            eff_sum, flops_sum = eff_sum + fl / eff, flops_sum + fl
            big_sum += fl / _big_tile(mm, nn, gen, units)[0]
    lc = layer_costs(hw, wl, mp, cal, peak)
    step = _f(res["step_time_s"])
    pp, vpp, micro = _f(mp.pp), max(_f(mp.vpp), 1.0), _f(res["microbatches"])
    feats: dict[str, float | str] = {
        "part": plan.entry.name, "generation": gen, "precision": row.get("precision", ""),
        "recipe": wl.training.low_precision_recipe if fp8 else "bf16", "model": row.get("model", ""),
        "m_tokens": m, "n_fc1": shapes[2][1], "k_fc2": shapes[3][2], "model_shape_eff": flops_sum / eff_sum,
        "big_tile_wave_eff": flops_sum / big_sum, "microbatches": micro,
        "layers_per_vstage": wl.layers / (pp * vpp), "layer_passes": micro * wl.layers / pp, "step_s": step,
        "per_step_sens": 1.0 / step, "per_mb_sens": micro * vpp / step, "tp": tp, "pp": pp, "cp": cp, "vpp": vpp,
        "micro_batch": mb, "seq_len": float(wl.seq_len), "hidden": h,
        "attn_share": _f(lc.attn_core_fwd_s) / _f(lc.dense_fwd_s),
        "clock_ratio": _f(res["clock_hz"]) / float(np.ravel(hw.clock_hz)[0]),
        "power_ratio": _f(res["power_w"]) / _f(res["tdp_w"]), "model_mfu": _f(res["mfu"]),
        "power_demand": _power_demand(_f(res["power_w"]), _f(res["power_static_w"]), _f(res["tdp_w"]),
                                      _f(res["clock_hz"]) / float(np.ravel(hw.clock_hz)[0]), tech),
        "lp_rate_ratio": _f(low_precision_rate_ratio(hw, cal)) if fp8 else 1.0}
    for t in _TERMS:
        feats[f"share_{t}"] = _f(res[f"{t}_time_s" if t in ("compute", "recompute", "bubble", "optimizer")
                                     else f"{t}_s"]) / step
    return feats


def table(output_csv: str, groups: list[str] | None) -> pd.DataFrame:
    """Per-row features and ``fast_pct`` of the dense modelled rows of ``output_csv``."""
    out = pd.read_csv(output_csv)
    out = out[(out.status == "ok") & out.metric.isin(_TIME_METRICS + _SPEED_METRICS)]
    if groups:
        out = out[out.source_group.isin(groups)]
    facts = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
    catalog, tech = load_catalog(), load_technology()
    records = []
    for rec in out.itertuples():
        row = facts[rec.run_id]
        if str(row.get("arch_type", "")).startswith("moe"):
            continue
        ratio = rec.predicted / rec.measured if rec.metric in _SPEED_METRICS else rec.measured / rec.predicted
        measured = rec.measured if rec.metric in _SPEED_METRICS else 1.0 / rec.measured
        records.append({"run_id": rec.run_id, "group": rec.source_group, "fast_pct": 100.0 * (ratio - 1.0),
                        "measured": measured,
                        **row_features(row, catalog, tech)})
    return pd.DataFrame.from_records(records)


def part_pairs(df: pd.DataFrame) -> pd.DataFrame:
    """Same published preset on two parts (Megatron-Bridge rows whose run_id differs only in the system):
    measured and modelled speed ratio of the pairs GB300 / GB200, GB200 / B200, B200 / H100 and GB200 / H100
    (throughput per GPU; the model's = measured x (1 + fast_pct / 100))."""
    bridge = df[df.run_id.str.startswith("mbridge")].assign(
        preset=lambda d: d.run_id.str.replace(r"_DGX-(B200|GB200|GB300|B300|H100)_", "_*_", regex=True),
        speed=lambda d: 1.0 + d.fast_pct / 100.0)
    rows = []
    for preset, grp in bridge.groupby("preset"):
        by_part = grp.set_index("part")
        for a, b in (("GB300", "GB200"), ("GB200", "B200"), ("B200", "H100-SXM"), ("GB200", "H100-SXM")):
            if a in by_part.index and b in by_part.index:
                measured = by_part.loc[a, "measured"] / by_part.loc[b, "measured"]
                rows.append({"preset": preset, "pair": f"{a}/{b}", "recipe": by_part.loc[a, "recipe"],
                             "measured": measured,
                             "model": measured * by_part.loc[a, "speed"] / by_part.loc[b, "speed"]})
    return pd.DataFrame(rows)


def spearman(df: pd.DataFrame) -> pd.Series:
    """Spearman rank correlation of ``fast_pct`` with each feature (NaN where the feature is constant)."""
    ranks = df[["fast_pct", *FEATURES]].rank()
    return ranks.corr()["fast_pct"].drop("fast_pct")


def _r2(x: np.ndarray, y: np.ndarray) -> float:
    """Coefficient of determination of the least-squares fit of ``y`` on the columns of ``x``; NaN where ``y`` has
    no spread (fewer than two rows: a generation set that ``--groups`` leaves empty, or all rows equal)."""
    total = float(((y - y.mean()) ** 2).sum()) if len(y) > 1 else 0.0
    if total == 0.0:
        return float("nan")
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    return 1.0 - float(((y - x @ coef) ** 2).sum()) / total


def explained(df: pd.DataFrame) -> pd.DataFrame:
    """R^2 of ``fast_pct`` with per-part intercepts, then with each feature's slope added, per generation set."""
    sets = {"Ampere": ["Ampere"], "Hopper": ["Hopper"], "Blackwell (B200, GB200)": ["Blackwell"],
            "Blackwell Ultra": ["Blackwell Ultra"], "all NVIDIA": ["Ampere", "Hopper", "Blackwell", "Blackwell Ultra"]}
    out = {}
    for name, gens in sets.items():
        d = df[df.generation.isin(gens)]
        y = d.fast_pct.to_numpy()
        parts = pd.get_dummies(d.part).to_numpy(dtype=float)
        col = {"rows": float(len(d)), "parts only": _r2(parts, y)}
        for feat in FEATURES:
            v = d[feat].to_numpy(dtype=float)
            col[feat] = _r2(np.column_stack([parts, v]), y) if len(v) and np.ptp(v) > 0 else np.nan
        out[name] = col
    return pd.DataFrame(out)


def report(df: pd.DataFrame, bins: int) -> str:
    """The tables of the module doc, as text."""
    df = df.assign(abs_pct=df.fast_pct.abs())
    parts = [df.groupby(["generation", "group"]).agg(rows=("fast_pct", "size"), mean_fast_pct=("fast_pct", "mean"),
                                                     mape=("abs_pct", "mean")).round(2).to_string()]
    corr = pd.DataFrame({g: spearman(d) for g, d in df.groupby("generation") if len(d) >= 8})
    bw = df[df.generation.str.startswith("Blackwell")]
    corr["Blackwell+Ultra"] = spearman(bw)
    parts.append("Spearman rank correlation of fast_pct with each feature:\n" + corr.round(2).to_string())
    parts.append("R^2 of fast_pct over the part offsets alone, and with one feature added (least squares,\n"
                 "per-part intercepts + slope; rows of each generation set; * = speed-derived, SPEED_DERIVED):\n"
                 + explained(df).rename(index=lambda f: f + " *" if f in SPEED_DERIVED else f).round(3).to_string())
    pairs = part_pairs(df)
    if not pairs.empty:
        parts.append("same preset on two parts, speed ratio measured / model:\n"
                     + pairs.groupby(["pair", "recipe"]).agg(presets=("measured", "size"), measured_lo=(
                         "measured", "min"), measured_hi=("measured", "max"), model_lo=("model", "min"),
                         model_hi=("model", "max")).round(3).to_string())
    for feat in ("model_shape_eff", "big_tile_wave_eff", "m_tokens", "per_mb_sens", "share_compute", "attn_share",
                 "model_mfu", "power_ratio", "power_demand", "clock_ratio", "share_tp_comm_exposed"):
        sub = df.assign(bin=df.groupby("generation")[feat].transform(
            lambda x: pd.qcut(x.rank(method="first"), bins, labels=False)))
        parts.append(f"mean fast_pct per {bins}-quantile of {feat} (low -> high) by generation:\n" + sub.groupby(
            ["generation", "bin"]).agg(rows=("fast_pct", "size"), lo=(feat, "min"), hi=(feat, "max"),
                                       mean_fast_pct=("fast_pct", "mean")).round(3).to_string())
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Print the residual tables for a ``validate --output`` file (module doc); 2 when no dense row is left."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output_csv", help="per-row file of archsweep validate --output")
    parser.add_argument("--groups", default="", help="comma-separated source_groups to keep (default all)")
    parser.add_argument("--features", default="", help="write the per-row feature table to this CSV")
    parser.add_argument("--bins", type=int, default=3, help="quantile bins per feature (default 3)")
    args = parser.parse_args(argv)
    df = table(args.output_csv, [g for g in args.groups.split(",") if g])
    if df.empty:
        parser.error(f"{args.output_csv}: no modelled dense row with a throughput or step-time metric")
    if args.features:
        df.to_csv(args.features, index=False)
    print(report(df, args.bins))
    return 0


if __name__ == "__main__":
    sys.exit(main())
