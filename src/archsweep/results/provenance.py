"""Provenance of a workflow run: what produced the numbers in the database.

One :class:`RunRecord` per (study content, archsweep version, model version, evaluation code) is
stored in the DuckDB ``runs`` table. Its ``run_id`` is a content hash, so every Snakemake job of one
run computes the same id independently (no shared state between jobs) and a rerun of an
unchanged study keeps its id; ``timestamp_utc`` is the time of the latest collection.

The evaluation code (:func:`code_sha256`: the source of the subpackages whose code the numbers
depend on) is part of the id and of the jobs' fingerprints, so numbers from two states of the
model never share a run id, and a resumed study re-evaluates after the model's code changed, even
where :data:`archsweep.MODEL_VERSION`, a label bumped by hand, was not.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archsweep import MODEL_VERSION, __version__
from archsweep.load.document_cache import source_digest
from archsweep.load.paths import repo_root

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["RunRecord", "TRACKED_PACKAGES", "EVALUATION_CODE", "SPACE_CODE", "code_sha256", "file_sha256",
           "run_id_for", "git_commit", "package_versions", "make_run_record"]

#: Subpackages of ``archsweep`` whose code an evaluation's numbers depend on: the candidates and their
#: evaluation, the loaders of the inputs, the model and the typed specs.
EVALUATION_CODE: tuple[str, ...] = ("candidates", "load", "model", "spec")
#: The same for a space job (the candidates of a study): all but the model.
SPACE_CODE: tuple[str, ...] = ("candidates", "load", "spec")

#: Distributions whose versions are recorded with every run.
TRACKED_PACKAGES: tuple[str, ...] = ("numpy", "pyarrow", "duckdb", "snakemake", "optuna", "scipy", "pandas")


@dataclass(frozen=True)
class RunRecord:
    """One row of the ``runs`` table.

    Attributes:
        run_id: 16 hex chars, hash of the study file content and the code versions.
        study: study name.
        archsweep_version: installed archsweep version.
        model_version: :data:`archsweep.MODEL_VERSION`.
        code_sha256: :func:`code_sha256` of :data:`EVALUATION_CODE`: exactly which code made the numbers.
        git_commit: ``git rev-parse HEAD`` of the checkout, None outside a git checkout.
        package_versions: JSON object ``{distribution: version}`` of :data:`TRACKED_PACKAGES`.
        seed: sampling seed of the study (None for a grid).
        sampling: sampling method of the study.
        timestamp_utc: when the record was made (timezone-aware, UTC).
        hostname: machine that made the record.
        study_sha256: sha256 of the study file bytes.
    """

    run_id: str
    study: str
    archsweep_version: str
    model_version: str
    code_sha256: str
    git_commit: str | None
    package_versions: str
    seed: int | None
    sampling: str
    timestamp_utc: datetime
    hostname: str
    study_sha256: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def arrow_schema(cls) -> pa.Schema:
        """Arrow schema derived from the field annotations (str, int, datetime; optional ones nullable).
        pyarrow is imported here, not by the module: a search worker needs the run id, not the schema."""
        import pyarrow as pa

        types = {"str": pa.string(), "int": pa.int64(), "datetime": pa.timestamp("us", tz="UTC")}
        return pa.schema([(f.name, types[str(f.type).replace(" | None", "")]) for f in fields(cls)])


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@cache
def code_sha256(subpackages: tuple[str, ...] = EVALUATION_CODE, root: Path | None = None) -> str:
    """sha256 of the Python source of ``subpackages`` of ``archsweep`` (``root``: the package folder, by default
    the one imported): every ``*.py`` file's path relative to ``root`` and bytes, in path order. About 1 MB
    of source, hashed once per process."""
    root = root or Path(__file__).resolve().parents[1]
    return source_digest(tuple(sorted(p for sub in subpackages for p in (root / sub).rglob("*.py"))), root=root)


def run_id_for(study_sha256: str) -> str:
    """Run id: first 16 hex chars of sha256("<study sha256>:<archsweep version>:<model version>:<code sha256>"),
    the code being :func:`code_sha256` of :data:`EVALUATION_CODE`."""
    text = f"{study_sha256}:{__version__}:{MODEL_VERSION}:{code_sha256()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def git_commit(root: Path | None = None) -> str | None:
    """Commit of the checkout holding the package, or None (no git, not a checkout)."""
    root = root or repo_root()
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` ("not installed" where absent)."""
    # Imported here: importlib.metadata costs ~50 ms of imports, and of the jobs that import this module
    # only collect (make_run_record) asks for versions; an evaluate job needs run_id_for alone.
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def make_run_record(*, study: str, study_file: str | Path, seed: int | None, sampling: str) -> RunRecord:
    """Record of a run of ``study`` (read from ``study_file``), stamped now (UTC)."""
    sha = file_sha256(study_file)
    return RunRecord(
        run_id=run_id_for(sha), study=study, archsweep_version=__version__, model_version=MODEL_VERSION,
        code_sha256=code_sha256(), git_commit=git_commit(), package_versions=json.dumps(package_versions(), sort_keys=True),
        seed=seed, sampling=sampling, timestamp_utc=datetime.now(UTC),
        hostname=platform.node(), study_sha256=sha,
    )
