"""``archsweep run`` on a study whose ``search:`` section breaks a part-physics cross-check (issue 10):
one line on stderr naming file, key path, value and what is allowed; exit 2, no traceback, nothing run."""

from __future__ import annotations

import subprocess
import sys

import pytest

STUDY = """name: bad-search
base: {base}
workloads:
  - model: llama3-8b
    name: l8-fp8
    training: {{global_batch: {{sequences: 64}}, precision: fp8, low_precision_recipe: {recipe}}}
objectives:
  - {{column: tokens_per_s, direction: maximize}}
  - {{column: power_w, direction: minimize}}
search:
  parameters:
    {parameter}: {{range: {range}}}
    accelerator_count: {{values: [8]}}
  trials: 8
"""


@pytest.mark.parametrize(("base", "recipe", "parameter", "range_", "key", "value", "allowed"), [
    ("H100-SXM", "current", "fp8_matrix_efficiency_ratio", "[0.8, 1.3]", "search.parameters.fp8_matrix_efficiency_ratio",
     "1.3", "at most 1 / matrix_efficiency = 1.245"),
    ("B200", "nvfp4", "nvfp4_matrix_rate_ratio", "[0, 2]", "search.parameters.nvfp4_matrix_rate_ratio",
     "0.0", "> 0 for every candidate: workload l8-fp8 runs the NVFP4 recipe"),
])
def test_a_search_breaking_a_part_physics_check_is_one_line_exit_2(tmp_path, base, recipe, parameter, range_, key,
                                                                   value, allowed):
    study = tmp_path / "bad-search.yaml"
    study.write_text(STUDY.format(base=base, recipe=recipe, parameter=parameter, range=range_))
    done = subprocess.run([sys.executable, "-m", "archsweep.cli", "run", str(study)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("archsweep: error:")
    assert str(study) in line and key in line and f"got {value}" in line and allowed in line, line
    assert not (tmp_path / "results").exists()  # nothing ran
