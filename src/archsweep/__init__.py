"""archsweep: design-space exploration of AI accelerators, interconnects and clusters.

Public surface is small; the model math lives in :mod:`archsweep.model` and is tested
directly. See README.md for the quick start.
"""

from __future__ import annotations

#: Version of the archsweep distribution: the one place it is written (``pyproject.toml`` reads it,
#: ``[tool.setuptools.dynamic]``), so importing the package needs no ``importlib.metadata`` (~50 ms of
#: imports that every workflow job would pay).
__version__ = "0.1.0"

#: Version of the performance/power/area model; recorded with every evaluation row.
#: Bump it whenever a model change alters numbers.
MODEL_VERSION = "0.2.0"

__all__ = ["__version__", "MODEL_VERSION"]
