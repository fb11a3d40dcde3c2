"""One call for what a stack runs a training job with (issue 14, s13-jobopts): :func:`job_software` gives the
calibration and the searchable parallelism that ``archsweep eval``, design studies and sensitivity used to build
with two calls side by side; it must give exactly what the two calls give."""

from __future__ import annotations

import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.job_software import job_software
from archsweep.load.part_physics import job_calibration
from archsweep.load.stack_parallelism import job_parallelism
from archsweep.spec.errors import InputError
from archsweep.spec.training import TrainingJob


@pytest.mark.parametrize(("stack", "part", "job"), [
    ("megatron-core", "H100-SXM", TrainingJob(8, 4096)),
    ("megatron-core", "B200", TrainingJob(8, 4096, precision="fp8", low_precision_recipe="nvfp4")),  # TP overlap off
    ("pytorch-fsdp", "H100-SXM", TrainingJob(8, 8192, precision="fp8", fp8_params=True, fp8_dot_product_attention=True)),
])
def test_job_software_is_the_two_calls(stack: str, part: str, job: TrainingJob) -> None:
    entry = get_accelerator(part)
    got = job_software(stack, entry, job)
    assert got.calibration == job_calibration(load_calibration(stack=stack), entry, job)
    assert got.parallelism == job_parallelism(stack, job)


def test_job_software_names_an_unknown_stack() -> None:
    with pytest.raises(InputError, match=r"software_stacks\.yaml.*no-such-stack"):
        job_software("no-such-stack", get_accelerator("H100-SXM"), TrainingJob(8, 4096))
