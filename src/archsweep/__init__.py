"""archsweep: design-space exploration of AI accelerators, interconnects and clusters.

Public surface is small; the model math lives in :mod:`archsweep.model` and is tested
directly. See README.md for the quick start.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("archsweep")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

#: Version of the performance/power/area model; recorded with every evaluation row.
#: Bump it whenever a model change alters numbers.
MODEL_VERSION = "0.2.0"

__all__ = ["__version__", "MODEL_VERSION"]
