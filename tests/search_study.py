"""The tiny search study of the search tests (tests/search, tests/workflow), written in one place.

llama3-8b on H100-SXM variants: compute units, clock and HBM generation searched; tokens/s up,
power down, under a power cap. Each test sets what it varies (name, cap, clock range, search
options such as trials, workers, batch_size, seed, sampler).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from archsweep.load.study import load_study
from archsweep.spec.errors import InputError, InputErrors

_TEXT = """name: {name}
description: {description}
workloads: [llama3-8b]
base: H100-SXM
{mapping}objectives:
  - {{column: tokens_per_s, direction: maximize}}
  - {{column: power_w, direction: minimize}}
constraints:
  - {{column: power_w, max: "{power_max}"}}
search:
  parameters:
{parameters}"""


def write_search_study(folder: Path, name: str, *, power_max: str, clock_max: str | None = None,
                       parameters: Mapping[str, str] | None = None,
                       description: str = "Tiny search study for the tests.", mapping: str | None = None,
                       **search: object) -> Path:
    """Write ``folder/<name>.yaml``; ``search`` adds keys of its ``search`` section and ``mapping`` the
    study's mapping section (YAML flow text as is; None: the default). The searched parameters are
    ``parameters`` (name -> YAML flow text) or, given ``clock_max`` instead, compute units 66-198 in
    steps of 2, the clock from 1.2 GHz to ``clock_max`` and the HBM generation."""
    if (parameters is None) == (clock_max is None):
        raise ValueError(f"write_search_study: give parameters or clock_max, not both or neither "
                         f"(got parameters={parameters!r}, clock_max={clock_max!r})")
    if parameters is None:
        parameters = {"compute_units": "{range: [66, 198], step: 2}", "clock_hz": f'{{range: ["1.2 GHz", "{clock_max}"]}}',
                      "hbm_generation": "{values: [HBM3, HBM3e]}"}
    text = _TEXT.format(name=name, description=description, power_max=power_max,
                        parameters="".join(f"    {key}: {value}\n" for key, value in parameters.items()),
                        mapping="" if mapping is None else f"mapping: {mapping}\n")
    text += "".join(f"  {key}: {value}\n" for key, value in search.items())
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def sampler_options_error(folder: Path, options: Mapping[str, object],
                          parameters: Mapping[str, object] | None = None) -> tuple[Path, str]:
    """Write ``folder/s.yaml`` (llama3-8b on H100-SXM, tokens/s up and power down, a 10-trial TPE search
    over ``parameters``, by default two TDPs, whose sampler has ``options``), load it and return its path
    and the text of the InputError(s) loading raises; the test fails where loading raises none."""
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump({
        "name": "sampleropts", "description": "sampler options", "workloads": ["llama3-8b"], "base": "H100-SXM",
        "objectives": [{"column": "tokens_per_s", "direction": "maximize"}, {"column": "power_w", "direction": "minimize"}],
        "search": {"parameters": dict(parameters or {"tdp_w": {"values": ["700 W", "800 W"]}}), "trials": 10,
                   "sampler": {"name": "tpe", "options": dict(options)}}}))
    with pytest.raises((InputError, InputErrors)) as info:
        load_study(path)
    return path, str(info.value)
