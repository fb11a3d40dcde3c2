"""Which layers the mapping's ``recompute = full`` re-runs: Megatron-Core's ``recompute_method`` and
``recompute_num_layers`` (the job's :attr:`~archsweep.spec.training.TrainingJob.recompute_method` /
``recompute_num_layers``) as three per-mapping arrays the time, communication and memory terms share.

Megatron-Core (NVIDIA/Megatron-LM @d98e8a6 megatron/core/recompute.py ``checkpointed_forward``, called by
transformer_block.py for ``recompute_granularity == 'full'``) walks the ``num_layers_per_pipeline_rank`` layers of
one TransformerBlock, i.e. of one (virtual) pipeline stage (transformer_block.py ``self.num_layers_per_pipeline_rank
= len(self.layers)``):

* ``uniform``: units of ``recompute_num_layers`` consecutive layers (the last one shorter), each unit's input
  checkpointed and the whole unit re-run in the backward: every layer pays one extra forward, the stage stores one
  input per unit, and the backward re-materialises one unit (its layers' full activations) at a time.
* ``block``: the first ``recompute_num_layers`` layers of the stage checkpointed one by one (``chunk_runner(l, l + 1,
  use_checkpoint)``); the others run without checkpointing and keep all their activations (granularity is 'full' or
  'selective' for the whole model: the others recompute nothing). A stage with fewer layers recomputes them all.

0 (the job's default, no number stated) is every layer checkpointed on its own (uniform 1): the model before these
options. ``L_vs``, the layers of one virtual stage, is the busiest rank's even split ``ceil(layers / pp) / vpp`` for
every stage (a stated pipeline layout or the embedding / loss split gives some stages fewer: their share is taken as
the busiest one's).
"""

from __future__ import annotations

import numpy as np

from archsweep.model.training.mapping import MappingArrays
from archsweep.spec.strategy import RECOMPUTE
from archsweep.spec.workload import Workload

__all__ = ["full_recompute_share", "partial_recompute", "partial_recompute_share", "stored_shares", "working_layers"]

#: The code of ``recompute = full`` in :attr:`MappingArrays.recompute` (an index of :data:`RECOMPUTE`).
_FULL = RECOMPUTE.index("full")


def partial_recompute(wl: Workload) -> bool:
    """Whether the job's full recompute leaves any layer of a stage out or groups layers (block, or uniform units
    of more than one layer); False for the default (every layer on its own), whose arrays are the 0 / 1 ones."""
    return wl.training.recompute_method == "block" or wl.training.recompute_num_layers > 1


def _virtual_stage_layers(wl: Workload, mp: MappingArrays) -> np.ndarray:
    """Layers of one virtual stage of the busiest rank, ``ceil(layers / pp) / vpp``."""
    return np.ceil(wl.layers / mp.pp) / mp.vpp


def full_recompute_share(wl: Workload, mp: MappingArrays) -> np.ndarray:
    """Share of a stage's layers that re-run their forward in the backward under ``recompute = full``, in [0, 1]
    (0 where the mapping's recompute is not full): 1 under uniform; ``min(k, L_vs) / L_vs`` under block with
    ``k = recompute_num_layers``. Times the full recompute's per-layer time and its repeated TP / EP collectives."""
    full = mp.recompute == _FULL
    if wl.training.recompute_method != "block":
        return np.where(full, 1.0, 0.0)
    lvs = _virtual_stage_layers(wl, mp)
    return np.where(full, np.minimum(float(wl.training.recompute_num_layers), lvs) / lvs, 0.0)


def partial_recompute_share(wl: Workload, mp: MappingArrays) -> np.ndarray | None:
    """:func:`full_recompute_share` where the job's full recompute is partial (:func:`partial_recompute`), else
    None: the default re-runs every layer, which the callers charge with their own ``recompute == full`` mask."""
    return full_recompute_share(wl, mp) if partial_recompute(wl) else None


def stored_shares(wl: Workload, mp: MappingArrays) -> tuple[np.ndarray, np.ndarray]:
    """(input share, kept share) of a stage's layers under ``recompute = full``: the stored activations of a stage
    are ``input share x L`` layer inputs plus ``kept share x L`` layers' full activations (both 0 where recompute is
    not full, where the caller keeps its own). Block: (f, 1 - f) with f :func:`full_recompute_share`; uniform
    with units of ``k > 1`` layers: one input per unit, (``ceil(L_vs / k) / L_vs``, 0); default: (1, 0)."""
    full = mp.recompute == _FULL
    k = wl.training.recompute_num_layers
    if wl.training.recompute_method == "block":
        share = full_recompute_share(wl, mp)
        return share, np.where(full, 1.0 - share, 0.0)
    if k <= 1:
        return np.where(full, 1.0, 0.0), np.zeros(np.shape(full))
    lvs = _virtual_stage_layers(wl, mp)
    return np.where(full, np.ceil(lvs / k) / lvs, 0.0), np.zeros(np.shape(full))


def working_layers(wl: Workload, mp: MappingArrays) -> np.ndarray:
    """Layers whose full activations the backward re-materialises at once under ``recompute = full`` (0 where not
    full): one under block and default uniform; ``min(k, ceil(L_vs))`` under uniform units of ``k`` layers."""
    full = mp.recompute == _FULL
    k = wl.training.recompute_num_layers
    if wl.training.recompute_method == "block" or k <= 1:
        return np.where(full, 1.0, 0.0)
    return np.where(full, np.minimum(float(k), np.ceil(_virtual_stage_layers(wl, mp))), 0.0)
