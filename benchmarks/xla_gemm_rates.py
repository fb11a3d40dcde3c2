"""The model's isolated GEMM rate against OpenXLA's measured matmul table, B200 and H100 (s15-bwdense, issue 10).

    python benchmarks/xla_gemm_rates.py

``data/validation/xla_gemm_rates.csv`` copies the large-shape entries of OpenXLA's default matmul perf table
(``kDefaultMatmulPTable``: ``sm_100`` = B200, BF16 and FP8; ``sm_90`` = Hopper, BF16; batched GEMMs of b x (m x k) @
(k x n), FLOP/s). Per entry this prints the model's rate of the same GEMM on the catalog part in isolation
(:func:`archsweep.model.gemm.gemm_time_s` with ``gemm_in_training_ratio`` 1, the part's MAMF efficiency, its
fill and tile columns and the kernel overhead) over the measured one, the geometric mean and the rms of the log ratio
per part and datatype, the fill K-half the table's K ladders fit (:func:`fit_k_half`: the rate at K 512-2048 over
K 4096 at the same batch x M x N, where tile and wave quantisation cancel; s16-gemmlaw), and, for the one shape the
table has both single and batched (4096 x 4096 x 4096), the measured and the model's single / batched rate against
the wave quantisation two tilings give: 128 x 128 tiles over every SM, and 256 x 256 tiles over SM pairs
(Blackwell's two-SM UMMA, the sm_100 parts' law since s16-gemmlaw; a 128 x 256 tile per SM quantises the same way).

A rate ratio > 1 is the model faster than the measurement. Read docs/model-accuracy.md "s15-bwdense" for what it
says about the too-fast B200 / GB200 rows.
"""

from __future__ import annotations

import argparse
import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.paths import data_dir
from archsweep.model.gemm import PartFill, gemm_time_s
from archsweep.spec.calibration import Calibration
from archsweep.spec.hardware import HardwareArrays

TABLE = "xla_gemm_rates.csv"
LARGEST = (4, 4096, 4096, 4096)
"""(batch, M, N, K) of the table's largest GEMM: 550 GFLOP, 4096 tiles of 128 x 128."""


@dataclass(frozen=True)
class Entry:
    """One measured GEMM: part (catalog name), datatype ("bf16" / "fp8"), batch, M, N, K, measured FLOP/s."""

    part: str
    dtype: str
    batch: int
    m: int
    n: int
    k: int
    measured_flop_per_s: float

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(batch, m, n, k): the table's key of one batched GEMM."""
        return (self.batch, self.m, self.n, self.k)


def load_entries() -> list[Entry]:
    """The rows of data/validation/xla_gemm_rates.csv."""
    with (data_dir() / "validation" / TABLE).open(newline="", encoding="utf-8") as handle:
        return [Entry(r["accelerator"], r["dtype"], int(r["batch"]), int(r["M"]), int(r["N"]), int(r["K"]),
                      float(r["flop_per_s"])) for r in csv.DictReader(handle)]


@cache
def validation_rows(name: str) -> tuple[dict[str, str], ...]:
    """The rows of data/validation/``name`` (a CSV), read once per process (callers only read them): the H200
    benchmarks' measured sets."""
    with (data_dir() / "validation" / name).open(newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def part_hardware(name: str) -> HardwareArrays:
    """The catalog part ``name`` as one row of hardware arrays; its part-physics columns (fill, FP8 ratio) come with
    the catalog entry's design (``load.catalog`` applies ``part_columns`` when it loads)."""
    return HardwareArrays.from_designs(get_accelerator(name).design)


def isolated_calibration() -> Calibration:
    """The model's calibration for an isolated kernel (no in-training ratio), as tests/model/test_gemm_calibration.py."""
    return replace(load_calibration(), gemm_in_training_ratio=1.0)


def isolated_gemm_s(hw: HardwareArrays, cal: Calibration, m: int, n: int, k: int, batch: float, one_byte: bool) -> float:
    """The model's time, s, of ``batch`` GEMMs (m x k) @ (k x n) as one batched call on ``hw`` (one row): the part's
    MAMF efficiency (x its FP8 ratio for ``one_byte`` operands) with its tile, wave and fill columns."""
    peak = hw.peak_matrix_flops_fp8 if one_byte else hw.peak_matrix_flops_bf16
    eff = hw.matrix_efficiency * (hw.fp8_matrix_efficiency_ratio if one_byte else 1.0)
    t = gemm_time_s(np.float64(m), np.float64(n), np.float64(k), batch=batch, peak_flops=peak,
                    hbm_bw_bytes_per_s=hw.hbm_bw_bytes_per_s, compute_units=hw.compute_units, matrix_efficiency=eff,
                    bytes_per_element=1.0 if one_byte else 2.0, cal=cal, fill=PartFill.of(hw))
    return float(np.ravel(t)[0])


def model_rate(entry: Entry, hw: HardwareArrays, cal: Calibration) -> float:
    """The model's FLOP/s of ``entry``'s GEMM on ``hw`` in isolation (MAMF efficiency x tile, wave and fill)."""
    seconds = isolated_gemm_s(hw, cal, entry.m, entry.n, entry.k, float(entry.batch), entry.dtype == "fp8")
    return 2.0 * entry.batch * entry.m * entry.n * entry.k / seconds


def model_over_measured(entries: list[Entry]) -> dict[tuple[str, str, tuple[int, int, int, int]], float]:
    """Model / measured rate per (part, datatype, shape)."""
    cal = isolated_calibration()
    parts = {e.part: part_hardware(e.part) for e in entries}
    return {(e.part, e.dtype, e.shape): model_rate(e, parts[e.part], cal) / e.measured_flop_per_s for e in entries}


def geomean(values: list[float]) -> float:
    """Geometric mean of positive ``values``."""
    return float(np.exp(np.mean(np.log(values))))


def rms_log(values: list[float]) -> float:
    """Root mean square of log(model / measured): the table fit (0 = every GEMM at its measured rate)."""
    return float(np.sqrt(np.mean(np.log(values) ** 2)))


def k_ladders(entries: list[Entry], part: str, dtype: str) -> list[tuple[int, float]]:
    """(K, measured rate at K over the rate at K 4096 of the same batch x M x N) for every entry of ``part`` and
    ``dtype`` whose shape the table also has at K 4096: the fill alone (tile and wave quantisation cancel)."""
    rate = {e.shape: e.measured_flop_per_s for e in entries if e.part == part and e.dtype == dtype}
    return sorted((k, v / rate[(b, m, n, 4096)]) for (b, m, n, k), v in rate.items()
                  if k != 4096 and (b, m, n, 4096) in rate)


def fit_k_half(entries: list[Entry], part: str, dtype: str) -> tuple[float, float]:
    """(K-half, rms of log ratio): :func:`fit_k_half_ladder` on :func:`k_ladders` (reference K 4096)."""
    return fit_k_half_ladder(k_ladders(entries, part, dtype), 4096.0)


def fit_k_half_ladder(ladders: list[tuple[int, float]], k_ref: float) -> tuple[float, float]:
    """(K-half, rms of log ratio): the least-squares fill constant k of K / (K + k) over (k_ref / (k_ref + k)) on
    ``ladders``, (K, measured rate at K over the rate at ``k_ref`` of the same GEMM otherwise) (grid of 2 in 20-2000)."""
    ks = np.array([k for k, _ in ladders], dtype=np.float64)[:, None]
    ratio = np.log(np.array([r for _, r in ladders]))[:, None]
    grid = np.arange(20.0, 2000.0, 2.0)[None, :]
    err = np.mean((np.log(ks / (ks + grid) * (k_ref + grid) / k_ref) - ratio) ** 2, axis=0)
    best = int(np.argmin(err))
    return float(grid[0, best]), float(np.sqrt(err[best]))


def wave_efficiency(batch: int, m: int, n: int, tile_m: int, tile_n: int, units: int) -> float:
    """Useful share of the waves of ``batch`` x (m x n) output tiles of ``tile_m`` x ``tile_n`` over ``units``."""
    tiles = batch * math.ceil(m / tile_m) * math.ceil(n / tile_n)
    return tiles / (math.ceil(tiles / units) * units)


def single_over_batched(entries: list[Entry], part: str, dtype: str) -> float:
    """Measured rate of the single 4096 x 4096 x 4096 GEMM over the batch-4 one (same per-GEMM shape)."""
    rate = {e.shape: e.measured_flop_per_s for e in entries if e.part == part and e.dtype == dtype}
    return rate[(1, 4096, 4096, 4096)] / rate[LARGEST]


def tiling_ratio(tile: int, units: int) -> float:
    """Single / batch-4 4096^3 rate that wave quantisation of ``tile`` x ``tile`` tiles over ``units`` predicts."""
    return wave_efficiency(1, 4096, 4096, tile, tile, units) / wave_efficiency(4, 4096, 4096, tile, tile, units)


def report() -> list[str]:
    """The printed lines (module doc): per entry the model / measured rate, then per part and dtype."""
    entries = load_entries()
    ratios = model_over_measured(entries)
    lines = ["part      dtype  b x M x N x K            measured TFLOP/s  model / measured"]
    for e in entries:
        lines.append(f"{e.part:9s} {e.dtype:5s}  {e.batch} x {e.m} x {e.n} x {e.k:<6d} {e.measured_flop_per_s / 1e12:14.1f}"
                     f"  {ratios[(e.part, e.dtype, e.shape)]:.3f}")
    for part, dtype in sorted({(e.part, e.dtype) for e in entries}):
        own = [v for (p, d, _), v in ratios.items() if (p, d) == (part, dtype)]
        lines.append(f"{part} {dtype}: geomean model / measured {geomean(own):.3f} over {len(own)} GEMMs, rms log "
                     f"{rms_log(own):.3f}; largest (batch 4 x 4096^3) {ratios[(part, dtype, LARGEST)]:.3f}")
    for part, dtype in sorted({(e.part, e.dtype) for e in entries}):
        k_half, rms = fit_k_half(entries, part, dtype)
        lines.append(f"{part} {dtype}: fill K-half fitted on the table's K ladders {k_half:.0f} (rms log {rms:.3f}; "
                     f"{len(k_ladders(entries, part, dtype))} ratios)")
    for part, dtype in sorted({(e.part, e.dtype) for e in entries}):
        units = int(np.ravel(part_hardware(part).compute_units)[0])
        measured = single_over_batched(entries, part, dtype)
        model = measured * ratios[(part, dtype, (1, 4096, 4096, 4096))] / ratios[(part, dtype, LARGEST)]
        lines.append(f"{part} {dtype}: single / batch-4 4096^3 measured {measured:.3f}, model {model:.3f};"
                     f" 128 x 128 over {units} SMs {tiling_ratio(128, units):.3f}, 256 x 256 over {units // 2} SM pairs"
                     f" {tiling_ratio(256, units // 2):.3f}")
    return lines


def print_report(doc: str, lines: Callable[[], list[str]], argv: list[str] | None) -> None:
    """Parse ``argv`` (no options: ``--help`` prints ``doc``'s first line and exits), then print ``lines()``."""
    argparse.ArgumentParser(description=doc.splitlines()[0]).parse_args(argv)
    print("\n".join(lines()))


def main(argv: list[str] | None = None) -> None:
    """Print the report (module doc)."""
    print_report(__doc__, report, argv)


if __name__ == "__main__":
    main()
