"""archsweep: design-space exploration of AI accelerators, interconnects and clusters.

Public surface is small; the model math lives in :mod:`archsweep.model` and is tested
directly. See README.md for the quick start.
"""

from __future__ import annotations

#: Version of the archsweep distribution: the one place it is written (``pyproject.toml`` reads it,
#: ``[tool.setuptools.dynamic]``), so importing the package needs no ``importlib.metadata`` (~50 ms of
#: imports that every workflow job would pay).
__version__ = "0.1.0"

#: Version of the performance/power/area model; recorded with every evaluation row. A label, bumped by hand
#: when a model change alters numbers (0.3.0: the model as of 2026-12-04, after the changes of 2026-11-30 to
#: 12-03 recorded in docs/model-accuracy.md). What exactly made a run's numbers is its ``code_sha256``
#: (:func:`archsweep.results.provenance.code_sha256`), which the run id and the jobs' fingerprints also hash.
MODEL_VERSION = "0.3.0"

__all__ = ["__version__", "MODEL_VERSION"]
