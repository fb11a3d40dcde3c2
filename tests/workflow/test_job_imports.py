"""Each workflow job imports only what it needs (issue 14): checked on the modules a fresh process holds.

Run in subprocesses, since this test process has imported everything already.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap

import archsweep

_PROBE = textwrap.dedent("""
    import importlib, sys
    for name in sys.argv[2:]:
        importlib.import_module(name)
    print(sys.argv[1] in sys.modules)
""")


def _imports(module: str, *names: str) -> bool:
    """Whether importing ``names`` in a fresh process imports ``module``."""
    out = subprocess.run([sys.executable, "-c", _PROBE, module, *names], capture_output=True, text=True, check=True,
                         env=os.environ.copy())
    return out.stdout.strip() == "True"


def test_importing_archsweep_or_an_evaluate_job_reads_no_distribution_metadata() -> None:
    assert not _imports("importlib.metadata", "archsweep")
    assert not _imports("importlib.metadata", "archsweep.workflow.stages", "archsweep.candidates.shard_evaluation",
                        "archsweep.results.provenance")


def test_the_version_written_in_the_package_is_the_installed_one() -> None:
    assert archsweep.__version__ == importlib.metadata.version("archsweep")


def test_search_jobs_import_the_surrogate_and_the_model_only_where_used() -> None:
    assert not _imports("scipy.stats", "archsweep.search.storage", "archsweep.search.worker")
    assert not _imports("archsweep.model.driver", "archsweep.workflow.search_rules", "archsweep.search.storage")


def test_a_search_worker_imports_no_arrow() -> None:
    """A worker evaluates numpy batches and tells Optuna: no shard, no table (pyarrow ~0.05 s of a job)."""
    assert not _imports("pyarrow", "archsweep.workflow.search_rules", "archsweep.search.worker")
    assert _imports("pyarrow", "archsweep.candidates.shard_evaluation")
