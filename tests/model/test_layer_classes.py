"""Issue 14 (speed): ``stage_compute`` evaluates ``layer_costs`` once per *layer class* for the pruned search.

* ``layer_costs`` reads only :data:`~archsweep.model.transformer.LAYER_MAPPING_FIELDS` of a mapping (and the
  expert TP width): every other field perturbed at random leaves all its outputs bit-identical;
* ``stage_compute`` with ``key_tables.layer_classes`` returns every array of the plain call, element for
  element (``assert_array_equal``, not a tolerance), on a keys x mappings grid at one accelerator count
  (the key tables) and on flat (candidate, mapping) pairs at several counts (the refined bound), for
  dense, MoE, MLA, FP8, LoRA and module-recompute workloads.
"""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest
from random_hardware import (
    CAL,
    WORKLOAD_VARIANTS,
    assert_fields_equal,
    pair_arrays,
    random_candidates,
    random_pairs,
    workload_variant,
)

from archsweep.load.workloads import load_workload
from archsweep.model.training import key_tables
from archsweep.model.training.mapping import MappingArrays, enumerate_mappings, expert_tensor_parallel
from archsweep.model.training.step import StageCompute, stage_compute
from archsweep.model.transformer import LAYER_MAPPING_FIELDS, layer_costs
from archsweep.spec.hardware import HardwareArrays


def _assert_same(a: StageCompute, b: StageCompute) -> None:
    assert_fields_equal(a, b, broadcast_nested=True)  # the layer costs of a class broadcast against its pairs


@pytest.mark.parametrize(("name", "variant"), WORKLOAD_VARIANTS)
def test_layer_costs_read_only_the_layer_fields(name, variant):
    wl = workload_variant(name, variant)
    mappings, fixed_dp = enumerate_mappings(wl)
    rng = np.random.default_rng(41)
    m = len(mappings)
    other = replace(mappings, **{f.name: rng.permutation(getattr(mappings, f.name)) for f in fields(MappingArrays)
                                 if f.name not in LAYER_MAPPING_FIELDS})
    hw = HardwareArrays(**{k: v[:, None] for k, v in random_candidates(3, seed=42).columns().items()})
    etp = np.where(rng.random(m) < 0.5, mappings.tp, 1.0)[None]
    peak = hw.peak_matrix_flops_bf16
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        a = layer_costs(hw, wl, mappings.reshape((1, m)), CAL, peak, etp)
        b = layer_costs(hw, wl, other.reshape((1, m)), CAL, peak, etp)
    for g in fields(a):
        np.testing.assert_array_equal(getattr(a, g.name), getattr(b, g.name), err_msg=g.name)


@pytest.mark.parametrize(("name", "variant"), WORKLOAD_VARIANTS)
def test_layer_classes_on_a_grid_at_one_count(name, variant):
    wl = workload_variant(name, variant)
    mappings, fixed_dp = enumerate_mappings(wl)
    _, first = key_tables.compute_classes(mappings)
    reps = mappings.take(first).reshape((1, len(first)))
    cols = {k: v[:, None] for k, v in random_candidates(5, seed=43).columns().items()}
    cols["accelerator_count"] = np.asarray(1024.0)
    hw = HardwareArrays(**cols)
    layers = key_tables.layer_classes(reps, 1024.0, fixed_dp)
    assert len(layers[1]) < len(first)  # fewer layer evaluations than compute classes
    ctx = key_tables.context(wl, mappings, fixed_dp, CAL)  # the search's path: a cached code of the fields per class
    coded = key_tables.layer_classes(reps, 1024.0, fixed_dp, None, key_tables.layer_fields(ctx, mappings))
    assert np.array_equal(coded[0], layers[0]) and np.array_equal(coded[1], layers[1])
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        _assert_same(stage_compute(hw, wl, reps, CAL, fixed_dp, layers), stage_compute(hw, wl, reps, CAL, fixed_dp))


@pytest.mark.parametrize(("name", "variant"), WORKLOAD_VARIANTS)
def test_layer_classes_on_flat_pairs(name, variant):
    wl = workload_variant(name, variant)
    mappings, fixed_dp = enumerate_mappings(wl)
    hw, rows, cols, _ = random_pairs(mappings, 7, 3000, seed=44)
    part, mp = pair_arrays(hw, mappings, rows, cols)
    layers = key_tables.layer_classes(mp, part.accelerator_count, fixed_dp, rows)
    class_of, first = layers
    assert np.array_equal(class_of[first], np.arange(len(first)))
    assert np.array_equal(rows[first][class_of], rows)  # a class never spans two candidates
    etp = expert_tensor_parallel(mp, np.maximum(np.floor(part.accelerator_count / (mp.tp * mp.pp * mp.cp)), 1.0)) \
        if fixed_dp is None else None
    if etp is not None:
        assert np.array_equal(etp[first][class_of], etp)  # nor two expert TP widths
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        _assert_same(stage_compute(part, wl, mp, CAL, fixed_dp, layers), stage_compute(part, wl, mp, CAL, fixed_dp))


def test_layer_classes_code_the_expert_tp_width_itself(monkeypatch):
    """The class code holds the expert TP width, not only whether it equals tp: with a width rule that
    gave other values than tp or 1 (here, where EP does not fit in DP x CP, 1 at even DP and 2 at odd DP:
    not fixed by tp and the flag), positions of one class still share it."""
    wl = load_workload("mixtral-8x7b")
    mappings, fixed_dp = enumerate_mappings(wl)

    def halved(mp, dp):
        return np.where(expert_tensor_parallel(mp, dp) == mp.tp, mp.tp,
                        np.where(np.mod(dp, 2) == 0, 1.0, np.minimum(mp.tp, 2.0)))

    monkeypatch.setattr(key_tables, "expert_tensor_parallel", halved)
    rng = np.random.default_rng(46)
    counts = rng.choice([24.0, 48.0, 64.0, 96.0, 256.0], len(mappings))
    class_of, first = key_tables.layer_classes(mappings, counts, fixed_dp)
    dp = np.maximum(np.floor(counts / (mappings.tp * mappings.pp * mappings.cp)), 1.0)
    etp = halved(mappings, dp)
    assert len(np.unique(etp[etp != mappings.tp])) > 1
    assert np.array_equal(etp[first][class_of], etp)


def _flat_case():
    wl = load_workload("mixtral-8x7b")
    mappings, fixed_dp = enumerate_mappings(wl)
    hw, rows, cols, _ = random_pairs(mappings, 3, 400, seed=47)
    part, mp = pair_arrays(hw, mappings, rows, cols)
    return wl, part, mp, fixed_dp, key_tables.layer_classes(mp, part.accelerator_count, fixed_dp, rows)


def test_an_unlisted_field_cannot_be_read_per_class(monkeypatch):
    """A ``layer_costs`` that read a field outside LAYER_MAPPING_FIELDS (here ``vpp``) on the per-class path
    raises, naming the field and the list, instead of reading a placeholder."""
    from archsweep.model.training import step

    def reads_vpp(hw, wl, mp, cal, peak, etp):
        _ = mp.vpp > 1
        return layer_costs(hw, wl, mp, cal, peak, etp)

    monkeypatch.setattr(step, "layer_costs", reads_vpp)
    wl, part, mp, fixed_dp, layers = _flat_case()
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        stage_compute(part, wl, mp, CAL, fixed_dp)  # the plain path reads every field
        with pytest.raises(AttributeError, match="'vpp' is not in LAYER_MAPPING_FIELDS"):
            stage_compute(part, wl, mp, CAL, fixed_dp, layers)


@pytest.mark.parametrize("what", ["tp", "hardware", "etp"])
def test_classes_merging_unequal_inputs_raise(what):
    """Classes that merge positions differing in a listed field, a hardware column or the expert TP width
    (here: two positions of one class made to differ) raise, naming the input."""
    wl, part, mp, fixed_dp, layers = _flat_case()
    class_of, first = layers
    sizes = np.bincount(class_of)
    pos = int(np.flatnonzero(class_of == int(np.flatnonzero(sizes > 1)[0]))[1])  # a second member of a class
    if what == "tp":
        mp = replace(mp, tp=np.where(np.arange(len(class_of)) == pos, mp.tp * 2, mp.tp))
        name = "mapping field tp"
    elif what == "hardware":
        cols = part.columns()
        cols["hbm_bw_per_stack_bytes_per_s"] = np.where(np.arange(len(class_of)) == pos, cols["hbm_bw_per_stack_bytes_per_s"] * 2,
                                              cols["hbm_bw_per_stack_bytes_per_s"])
        part = HardwareArrays(**cols)
        name = "hardware column hbm_bw_per_stack_bytes_per_s"
    else:  # the expert TP width is stage_compute's own: given here as _layer_costs takes it
        from archsweep.model.training import step
        etp = np.where(np.arange(len(class_of)) == pos, mp.tp + 1.0, mp.tp)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"), \
                pytest.raises(ValueError, match="expert TP width"):
            step._layer_costs(part, wl, mp, CAL, part.peak_matrix_flops_bf16, etp, layers)
        return
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"), pytest.raises(ValueError, match=name):
        stage_compute(part, wl, mp, CAL, fixed_dp, layers)
