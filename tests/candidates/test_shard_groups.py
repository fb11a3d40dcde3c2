"""Shard assignment by performance group (issue 14): candidates that differ only in fields no job's
performance reads (TDP, process node, SRAM) land in one shard, so one evaluation job searches their
mapping once; the groups are dealt evenly; the rows and their ids are those of the space."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from archsweep.candidates.shard_groups import SHARD_GROUP_FIELDS, shard_of_rows
from archsweep.candidates.space import expand_space
from archsweep.load.study import load_study
from archsweep.load.workloads import load_workload
from archsweep.model.inference.job_kind import serving_performance_fields
from archsweep.model.training.job_kind import training_performance_fields
from archsweep.spec.serving import ServingJob

STUDY = """\
name: shard-groups
description: shard grouping check.
workloads: [llama3-70b]
base: H100-SXM
parameters:
  compute_units: {values: [100, 132, 170]}
  accelerator_count: {values: [1024, 2048]}
  tdp_w: {values: ["600 W", "800 W", "1000 W", "1200 W", "1400 W"]}
  process_node: {values: [N5, N3]}
  sram_bytes: {values: ["50 MiB", "100 MiB", "400 MiB"]}
sampling: {method: grid}
shards: 4
mapping: {search: best, objective: step_time_s}
objectives:
  - {column: tokens_per_s, direction: maximize}
"""


def test_group_fields_cover_every_kind() -> None:
    wl = load_workload("llama3-70b")
    fp8 = replace(wl, training=replace(wl.training, precision="fp8"))
    for fields in (training_performance_fields(wl), training_performance_fields(fp8),
                   serving_performance_fields(ServingJob(1024, 256, activation_precision="fp8"))):
        assert set(fields) <= set(SHARD_GROUP_FIELDS)
    assert "tdp_w" not in SHARD_GROUP_FIELDS and "process_node" not in SHARD_GROUP_FIELDS


def test_power_cost_variants_share_a_shard_and_groups_are_dealt_evenly(tmp_path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(STUDY)
    table = expand_space(load_study(str(path)))
    assert table.num_rows == 3 * 2 * 5 * 2 * 3
    shard = table.column("shard").to_numpy()
    perf = np.column_stack([table.column("compute_units").to_numpy(), table.column("accelerator_count").to_numpy()])
    groups, inverse = np.unique(perf, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    for g in range(len(groups)):
        assert len(set(shard[inverse == g].tolist())) == 1  # 30 power/cost variants, one shard
    counts = np.bincount(shard, minlength=4)
    assert counts.max() - counts.min() <= 30  # 6 groups of 30 rows over 4 shards: 2, 2, 1, 1 groups
    assert len(set(table.column("candidate_id").to_pylist())) == table.num_rows


def test_key_compression_keeps_groups() -> None:
    rng = np.random.default_rng(0)
    n = 5000
    codes = {name: (rng.integers(0, 2**20, n), 2**20) for name in SHARD_GROUP_FIELDS}  # overflows a plain radix key
    dup = np.arange(n) % 2500  # rows i and i + 2500 are equal in every field
    codes = {name: (c[dup], size) for name, (c, size) in codes.items()}
    shard = shard_of_rows(codes, n, 7)
    assert np.array_equal(shard[:2500], shard[2500:])
    assert np.bincount(shard, minlength=7).min() > 0
