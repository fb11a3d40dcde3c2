"""Where the project's data directories are: ``data/``, ``models/``, ``spaces/``.

They live at the repository root (the quick start installs the package editable). Each can be
redirected with an environment variable (``ARCHSWEEP_DATA_DIR``, ``ARCHSWEEP_MODELS_DIR``,
``ARCHSWEEP_SPACES_DIR``) for installs outside a checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["repo_root", "data_dir", "models_dir", "spaces_dir"]


def repo_root() -> Path:
    """The checkout root: three levels above ``src/archsweep/load``."""
    return Path(__file__).resolve().parents[3]


def _dir(env: str, name: str) -> Path:
    override = os.environ.get(env)
    return Path(override) if override else repo_root() / name


def data_dir() -> Path:
    """Hardware catalog, technology constants, calibration and validation data."""
    return _dir("ARCHSWEEP_DATA_DIR", "data")


def models_dir() -> Path:
    """Workload definitions (``<name>.yaml``)."""
    return _dir("ARCHSWEEP_MODELS_DIR", "models")


def spaces_dir() -> Path:
    """Study definitions (``<name>.yaml``)."""
    return _dir("ARCHSWEEP_SPACES_DIR", "spaces")
