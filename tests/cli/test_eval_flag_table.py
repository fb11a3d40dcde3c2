"""``archsweep eval``'s job-option flags: every key of whatif._FLAGS (the flag named in an error) is the
WorkloadOverrides field that carries it and a key the job-option checks read (finB: apply_overrides reads the
overrides by that table, not by a second hand-kept list)."""

from __future__ import annotations

from dataclasses import fields

from archsweep.load.workloads import _JOB_KEYS
from archsweep.whatif import _FLAGS, WorkloadOverrides


def test_every_flag_key_is_an_override_field_and_a_job_key() -> None:
    assert set(_FLAGS) <= {f.name for f in fields(WorkloadOverrides)}
    assert set(_FLAGS) <= set(_JOB_KEYS)
