"""Where a study's file and database are, for every subcommand."""

from __future__ import annotations

from pathlib import Path

from archsweep.load.paths import repo_root
from archsweep.load.study import load_study
from archsweep.spec.study import Study

__all__ = ["resolve_study_path", "database_path"]


def resolve_study_path(study: str) -> Path:
    """A study path as given if it exists; else the same relative path under the checkout
    (so ``spaces/tiny.yaml`` works from any directory); else a stem of ``spaces/``."""
    given = Path(study)
    if given.exists():
        return given.resolve()
    in_repo = repo_root() / given
    if not given.is_absolute() and in_repo.exists():
        return in_repo
    return Path(load_study(study).file).resolve()


def database_path(study: Study, workdir: Path) -> Path:
    """``<workdir>/results/<study>/archsweep.duckdb``."""
    return workdir / "results" / study.name / "archsweep.duckdb"
