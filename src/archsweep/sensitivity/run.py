"""``archsweep sensitivity STUDY``: evaluate, write netCDF, the DuckDB table and the plots.

Writes under ``<results>/``:

- ``sensitivity/tornado_<workload>.nc`` and ``sensitivity/grid_<x>__<y>_<workload>.nc``
  (netCDF 3, scipy writer; every variable with ``units`` and ``description``);
- ``sensitivity/tornado_<workload>_<output>.png`` and
  ``sensitivity/heatmap_<x>__<y>_<workload>_<output>.png``;
- table ``sensitivity`` of ``archsweep.duckdb`` (the study's rows replaced).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pyarrow as pa

from archsweep.candidates.evaluate import study_workload
from archsweep.load.catalog import get_accelerator
from archsweep.load.job_software import job_software
from archsweep.load.technology import load_technology
from archsweep.results import store
from archsweep.results.sensitivity import (
    SENSITIVITY_KEYS,
    plot_heatmap,
    plot_tornado,
    sensitivity_table,
)
from archsweep.sensitivity.evaluate import grid_dataset, tornado_dataset
from archsweep.spec.errors import InputError
from archsweep.spec.sensitivity import SensitivitySpec
from archsweep.spec.study import Study
from archsweep.spec.workload import Workload

__all__ = ["run_sensitivity"]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _write_nc(ds, path: Path) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    ds.to_netcdf(tmp, engine="scipy")
    tmp.replace(path)
    return path


def run_sensitivity(study: Study, spec: SensitivitySpec, results: Path, *, log=print) -> list[Path]:
    """Evaluate ``spec``, the study's parsed sensitivity section (:func:`archsweep.load.study.load_study_sensitivity`);
    return the files written."""
    tech = load_technology()
    folder = results / "sensitivity"
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    tables = []
    for name in spec.workloads:
        start = time.perf_counter()
        # A models/ stem under its file's default job, or a {model, training} entry under the study's job.
        workload = study_workload(study, name)
        if not isinstance(workload, Workload):
            raise InputError(spec.file, "sensitivity.workloads", name, "a training workload (a serving entry has no "
                             "training sensitivity)")
        # The job's recipe (as eval and validate); the part's physics are hardware columns.
        cal, parallelism = job_software(study.mapping.software, get_accelerator(study.base), workload.training)
        tornado = tornado_dataset(spec, workload, tech=tech, calibration=cal, objective=study.mapping.objective,
                                  parallelism=parallelism)
        written.append(_write_nc(tornado, folder / f"tornado_{_safe(name)}.nc"))
        grids = []
        for grid in spec.grids:
            ds = grid_dataset(spec, grid, workload, tech=tech, calibration=cal, objective=study.mapping.objective,
                              parallelism=parallelism)
            written.append(_write_nc(ds, folder / f"grid_{grid.name}_{_safe(name)}.nc"))
            grids.append(ds)
        for output in spec.outputs:
            written.append(plot_tornado(tornado, output, folder / f"tornado_{_safe(name)}_{output}.png"))
            for ds in grids:
                written.append(plot_heatmap(ds, output, folder / f"heatmap_{ds.attrs['grid']}_{_safe(name)}_{output}.png"))
        tables.append(sensitivity_table(study.name, tornado, grids, spec.outputs))
        points = 1 + 2 * len(spec.tornado) + sum(len(g.x_values) * len(g.y_values) for g in spec.grids)
        log(f"sensitivity: {name}: {points} design point(s) in {time.perf_counter() - start:.1f} s")
    con = store.connect(results / "archsweep.duckdb")
    try:
        rows = store.ingest_arrow(con, "sensitivity", pa.concat_tables(tables), SENSITIVITY_KEYS,
                                  scope_value=study.name)
    finally:
        con.close()
    log(f"sensitivity: {rows} row(s) in table `sensitivity` of {results / 'archsweep.duckdb'}")
    return written
