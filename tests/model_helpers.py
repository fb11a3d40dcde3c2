"""Small helpers the model tests (tests/model/) share: one mapping as arrays, a catalog part as a one-design
batch, the first element of a model output, a MoE workload at 4K tokens, the pruned search's key context on a
cold cache (s13-jobopts: each was copied across several test files); one TP-8 sequence-parallel mapping
(s15-review: the work-count and energy tests' copies)."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
from random_hardware import CAL, random_candidates

from archsweep.load.catalog import get_accelerator
from archsweep.load.workloads import load_workload
from archsweep.model.training import key_tables
from archsweep.model.training.mapping import MappingArrays, enumerate_mappings
from archsweep.spec.hardware import HardwareArrays
from archsweep.spec.workload import Workload

__all__ = ["cold_key_context", "enumerated_with", "first", "mapping_arrays", "part_batch", "tp8_sp_mapping", "workload_4k"]

_Column = float | np.ndarray


def mapping_arrays(n: int = 1, *, tp: _Column = 1.0, pp: _Column = 1.0, cp: _Column = 1.0, ep: _Column = 1.0,
                   vpp: _Column = 1.0, micro_batch: _Column = 1.0, recompute: _Column = 0.0, zero_stage: _Column = 1.0,
                   sequence_parallel: _Column = 0.0, flash_attention: _Column = 1.0, tp_overlap: _Column = 0.0,
                   dp_overlap: _Column = 1.0) -> MappingArrays:
    """``n`` mappings (each column a number, or an array broadcast to ``n``): by default TP = PP = CP = EP = VPP = 1,
    micro-batch 1, no recompute (0), ZeRO 1, no sequence parallelism, flash attention, no TP overlap, DP overlap."""
    given = {"tp": tp, "pp": pp, "cp": cp, "ep": ep, "vpp": vpp, "micro_batch": micro_batch, "recompute": recompute,
             "zero_stage": zero_stage, "sequence_parallel": sequence_parallel, "flash_attention": flash_attention,
             "tp_overlap": tp_overlap, "dp_overlap": dp_overlap}
    return MappingArrays(*(np.broadcast_to(np.asarray(given[f.name], dtype=float), (n,)).copy()
                           for f in fields(MappingArrays)))


def enumerated_with(wl: Workload, **fields_set: float) -> MappingArrays:
    """Every mapping ``enumerate_mappings`` gives ``wl``, with the columns named in ``fields_set`` (ZeRO stage, EP,
    ...) set on all of them (s19 lead: four memory test files had a copy)."""
    mp, _ = enumerate_mappings(wl)
    return replace(mp, **{k: np.full(len(mp), float(v)) for k, v in fields_set.items()})


def tp8_sp_mapping(pp: float, tp: float = 8.0, cp: float = 1.0, ep: float = 1.0, vpp: float = 1.0) -> MappingArrays:
    """One mapping with ``pp`` pipeline stages, TP 8 with sequence parallelism (by default), the rest
    :func:`mapping_arrays`'s defaults (the step's work-count and energy tests' mapping; s15-review: it was
    written out in two of those files)."""
    return mapping_arrays(tp=tp, pp=pp, cp=cp, ep=ep, vpp=vpp, sequence_parallel=1.0)


def part_batch(part: str, count: int) -> HardwareArrays:
    """The catalog part ``part`` at ``count`` accelerators, as a batch of one design."""
    return HardwareArrays.from_designs(get_accelerator(part).design.replace(accelerator_count=count))


def first(x: object) -> float:
    """The first element of a model output (an array or a number) as a float."""
    return float(np.ravel(x)[0])


def workload_4k(name: str, recompute: tuple[str, ...] = ("core_attn",)) -> Workload:
    """The model file ``name``'s workload at 4,096 tokens per sequence, selective recompute re-running
    ``recompute`` (by default the attention core alone, ``TrainingJob``'s default: no module beside it, so
    :func:`~archsweep.model.transformer.layer_costs` charges no module recompute)."""
    wl = load_workload(name)
    return replace(wl, training=replace(wl.training, seq_len=4096, recompute_modules=recompute))


def cold_key_context(model: str, n: int, seed: int) -> tuple[Workload, MappingArrays, float | None, object, HardwareArrays]:
    """(workload, its mappings, fixed dp, the pruned search's key context, ``n`` random candidates drawn with
    ``seed``) for the model file ``model``, the per-key table cache cleared first (a cold cache)."""
    wl = load_workload(model)
    mappings, fixed_dp = enumerate_mappings(wl)
    key_tables.clear_cache()
    ctx = key_tables.context(wl, mappings, fixed_dp, CAL)
    return wl, mappings, fixed_dp, ctx, random_candidates(n, seed=seed)
