"""Fixtures of the workflow, store, report and CLI tests: synthetic evaluation shards and
studies built in memory (no model run), so these tests take milliseconds; and the derive scripts of
data/validation/derive/ as modules (``derive_script``) for the validation tests."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import settings

from archsweep.load.paths import data_dir
from archsweep.results import store
from archsweep.results.fronts import pareto_table
from archsweep.spec.study import MappingChoice, Objective, Study

# Property tests draw the same examples on every run (a CI run must not pass or fail by chance);
# HYPOTHESIS_PROFILE=explore draws fresh ones for a local search for counterexamples.
settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

WORKLOADS = ("wl-a", "wl-b")


def make_study(name: str = "synthetic", file: str = "<synthetic>") -> Study:
    """A two-objective, two-workload study object (not read from a file)."""
    return Study(
        name=name, description="synthetic study for tests", file=file, workloads=WORKLOADS, base="H100-SXM",
        parameters=(), sampling_method="grid", samples=None, seed=0, shards=2,
        mapping=MappingChoice(search=True), objectives=(Objective("tokens_per_s", "maximize"),
                                                        Objective("power_w", "minimize")),
        constraints=(),
    )


def evaluation_table(study: str, ids: list[str], workloads: tuple[str, ...] = WORKLOADS, seed: int = 0) -> pa.Table:
    """Evaluation rows shaped like the evaluate stage's output (a few metric columns)."""
    rng = np.random.default_rng(seed)
    n = len(ids) * len(workloads)
    return pa.table({
        "study": [study] * n,
        "candidate_id": [c for _ in workloads for c in ids],
        "workload": [w for w in workloads for _ in ids],
        "compute_units": rng.integers(60, 200, n),
        "tp": rng.choice([1, 2, 4, 8], n),
        "recompute": rng.choice(["none", "selective", "full"], n),
        "tokens_per_s": rng.uniform(1e3, 1e5, n),
        "power_w": rng.uniform(300, 1200, n),
        "compute_time_s": rng.uniform(0.1, 1.0, n),
        "dp_comm_exposed_s": rng.uniform(0.0, 0.5, n),
        "feasible": rng.uniform(size=n) > 0.2,
    })


@pytest.fixture
def write_shards(tmp_path: Path):
    """Factory: write evaluation shards for ``study`` (ids split in two files); returns the paths."""
    def _write(study: str = "synthetic", count: int = 40, seed: int = 0) -> list[Path]:
        ids = [f"{i:016x}" for i in range(count)]
        table = evaluation_table(study, ids, seed=seed)
        half = table.num_rows // 2
        paths = []
        for k, part in enumerate((table.slice(0, half), table.slice(half))):
            path = tmp_path / f"{study}-{seed}-{k}.parquet"
            pq.write_table(part, path)
            paths.append(path)
        return paths
    return _write


@pytest.fixture
def collected_db(tmp_path: Path, write_shards) -> tuple[Study, Path]:
    """(study, database path): 60 synthetic candidates x 2 workloads ingested, with their Pareto table."""
    study = make_study()
    db = tmp_path / "archsweep.duckdb"
    con = store.connect(db)
    store.ingest_parquet(con, "evaluations", write_shards(count=60), store.EVALUATION_KEYS)
    store.ingest_arrow(con, "pareto", pareto_table(study, con), store.PARETO_KEYS, scope_value=study.name)
    con.close()
    return study, db


@pytest.fixture()
def derive_script(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], ModuleType]:
    """A loader of one script of data/validation/derive/ by module name (``"mlperf_pair_steps"``), with that
    folder on ``sys.path`` for the test as when the script is run (``python data/validation/derive/<script>.py``
    puts its folder first, so it imports its siblings ``runs_table`` / ``_mlperf_common``)."""
    monkeypatch.syspath_prepend(str(data_dir() / "validation" / "derive"))
    return importlib.import_module


def load_benchmark(stem: str) -> ModuleType:
    """The script ``benchmarks/<stem>.py`` as a module (registered in ``sys.modules`` under
    ``<stem>_bench``, so its dataclasses resolve their module). Its siblings (``from row_breakdown import ...``)
    import as when it runs as a script: the benchmarks folder is on ``sys.path`` while it loads."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{stem}.py"
    spec = importlib.util.spec_from_file_location(f"{stem}_bench", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module
