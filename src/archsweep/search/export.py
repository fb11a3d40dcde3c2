"""Export of a search: trials (one row per (trial, workload)) and the hypervolume history, to Parquet."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import optuna
import pyarrow as pa

from archsweep.load.study import load_study
from archsweep.results.hypervolume import hypervolume_history
from archsweep.results.pareto import to_minimization
from archsweep.results.parquet import write_parquet_atomic
from archsweep.search.storage import (
    FEASIBLE_ATTR,
    WORKER_ATTR,
    search_spec,
    search_storage,
)
from archsweep.search.worker import (
    batch_context,
    counted,
    evaluate_batch,
    reference_point,
)

__all__ = ["export_search"]

# ---------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------

def export_search(study_file: str | Path, trials_out: str | Path, hypervolume_out: str | Path, *,
                  results: str | Path = "results") -> tuple[Path, Path]:
    """Write ``trials.parquet`` and ``hypervolume.parquet`` from the storage.

    Trials are re-evaluated in one batch (the model is a pure function, so the columns equal
    what the workers saw); only counted trials (COMPLETE, or FAIL after evaluation) are
    exported, so a search resumed after ``kill -9`` exports exactly its budget.
    """

    study = load_study(study_file)
    spec = search_spec(study)
    ostudy = optuna.load_study(study_name=study.name, storage=search_storage(study, results))
    # Counted trials only (the budget): not trials a killed worker left behind, marked FAIL on restart.
    trials = [t for t in ostudy.get_trials(deepcopy=False) if set(t.params) == set(spec.names) and counted(t)]
    trials.sort(key=lambda t: t.number)
    directions = [o.direction for o in study.objectives]
    tables = []
    if trials:
        per_workload = evaluate_batch(batch_context(study), [t.params for t in trials])
        n = len(trials)
        meta = {
            "trial_number": np.asarray([t.number for t in trials], dtype=np.int64),
            "worker": np.asarray([int(t.user_attrs.get(WORKER_ATTR, -1)) for t in trials], dtype=np.int64),
            "state": np.asarray([t.state.name for t in trials], dtype=object),
        }
        for cols in per_workload:
            tables.append(pa.table({**meta, **{k: np.broadcast_to(np.asarray(v), (n,)) for k, v in cols.items()}}))
    table = pa.concat_tables(tables, promote_options="default") if tables else pa.table({
        "trial_number": pa.array([], pa.int64()), "worker": pa.array([], pa.int64()), "state": pa.array([], pa.string()),
        "study": pa.array([], pa.string()), "candidate_id": pa.array([], pa.string()),
        "workload": pa.array([], pa.string())})
    trials_path = write_parquet_atomic(table, trials_out)
    hv_table = _hypervolume_table(trials, directions, [o.column for o in study.objectives])
    hv_table = hv_table.add_column(0, "study", pa.array([study.name] * hv_table.num_rows, pa.string()))
    hv_path = write_parquet_atomic(hv_table, hypervolume_out)
    return trials_path, hv_path


def _hypervolume_table(trials: Sequence[optuna.trial.FrozenTrial], directions: Sequence[str],
                       columns: Sequence[str]) -> pa.Table:
    """Hypervolume after each completed trial (feasible ones add volume), with the reference point."""
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    numbers = np.asarray([t.number for t in done], dtype=np.int64)
    if not done:
        return pa.table({"trial_number": numbers, "hypervolume": np.zeros(0),
                         **{f"reference_{c}": np.zeros(0) for c in columns}})
    values = to_minimization(np.asarray([t.values for t in done]), directions)
    feasible = np.asarray([bool(t.user_attrs.get(FEASIBLE_ATTR, True)) for t in done])
    masked = np.where(feasible[:, None], values, np.nan)
    ref = reference_point(values[feasible]) if feasible.any() else reference_point(values)
    history = hypervolume_history(masked, ref)
    # Reference point in the objectives' own direction (maximised columns flipped back).
    natural_ref = to_minimization(ref[None, :], directions)[0]
    return pa.table({"trial_number": numbers, "hypervolume": history,
                     **{f"reference_{c}": np.full(len(done), natural_ref[i]) for i, c in enumerate(columns)}})


