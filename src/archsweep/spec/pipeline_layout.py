"""Megatron-Core's custom pipeline layout (``pipeline_model_parallel_layout``): parsing and the checks the source makes.

A layout lists, stage by stage in layer order, what each pipeline stage builds: ``E`` the input embedding, ``t`` a
transformer (decoder) layer, ``m`` a multi-token-prediction (MTP) layer, ``L`` the output layer and loss; ``|``
separates stages, ``(...)*n`` and ``x*n`` repeat, commas are cosmetic. With ``N`` stages and pipeline size ``pp``,
stage ``k`` runs on pipeline rank ``k mod pp`` as its virtual stage ``k // pp`` (vpp = N / pp). Source:
NVIDIA/Megatron-LM @b0cc2706dd (the commit Megatron-Bridge v0.3.0 pins) megatron/core/transformer/
pipeline_parallel_layer_layout.py ``PipelineParallelLayerLayout.parse_str_to_list`` (the grammar),
``__init__`` (N divisible by pp; stage k -> rank k mod pp, virtual stage k // pp) and ``validate_layer_layout``
(E first and once, L last and once, t count = num_layers, m count = mtp_num_layers, no t after the first m, MTP
only in a rank's last virtual stage and all of it in one). Megatron-Core also refuses a layout together with
``account_for_embedding_in_pipeline_split`` / ``account_for_loss_in_pipeline_split`` (transformer_config.py
L1306-1315). The DeepSeek-V3 presets of Megatron-Bridge state such layouts (``Et*4|(t*4|)*14tmL`` for PP 16 or
PP 2 x VPP 8): data/validation/derive/pipeline_layout.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from archsweep.spec.errors import InputError

__all__ = ["LAYOUT_KINDS", "PipelineLayout", "parse_layout"]

#: The layer kinds of a layout string, in Megatron-Core's spelling (``char2layer_type``).
LAYOUT_KINDS = ("E", "t", "m", "L")
_GROUP = re.compile(r"\(([^)]+)\)\*(\d+)")
_SINGLE = re.compile(r"(.)\*(\d+)")
_ALLOWED = ("a Megatron-Core pipeline_model_parallel_layout string: stages of E (embedding), t (transformer layer), "
            "m (MTP layer), L (loss) separated by '|', with (...)*n and x*n repeats, e.g. 'Et*4|(t*4|)*14tmL'")


@dataclass(frozen=True)
class PipelineLayout:
    """A parsed layout: ``stages[k]`` the layer kinds of stage ``k`` in layer order (stage k on rank k mod pp)."""

    text: str
    stages: tuple[tuple[str, ...], ...]

    @property
    def stage_count(self) -> int:
        """N, the number of stages: pp x vpp of any mapping that can run the layout."""
        return len(self.stages)

    def count(self, kind: str) -> int:
        """How many layers of ``kind`` (one of :data:`LAYOUT_KINDS`) the layout holds."""
        return sum(stage.count(kind) for stage in self.stages)

    def check_model(self, layers: int, mtp_num_layers: int, where: str) -> None:
        """Megatron-Core ``validate_layer_layout``'s checks that do not depend on pp: raises InputError at
        ``where`` (file or job) when the layout cannot hold a model of ``layers`` transformer layers and
        ``mtp_num_layers`` MTP layers."""
        flat = [k for stage in self.stages for k in stage]
        problems = []
        if not flat or flat[0] != "E" or self.count("E") != 1:
            problems.append("the first layer must be E, and E must appear exactly once")
        if not flat or flat[-1] != "L" or self.count("L") != 1:
            problems.append("the last layer must be L, and L must appear exactly once")
        if self.count("t") != layers:
            problems.append(f"it holds {self.count('t')} t layers, the model has {layers}")
        if self.count("m") != mtp_num_layers:
            problems.append(f"it holds {self.count('m')} m layers, the model has mtp_num_layers {mtp_num_layers}")
        if "m" in flat and "t" in flat[flat.index("m"):]:
            problems.append("transformer layers must be placed before MTP layers")
        if problems:
            raise InputError(where, "pipeline_layout", self.text, _ALLOWED + "; here " + "; ".join(problems))

    def runs_on(self, pp: int) -> bool:
        """Whether Megatron-Core accepts the layout at pipeline size ``pp``: pp divides the stage count, MTP
        layers sit only in a rank's last virtual stage, all of them in one stage."""
        if pp < 1 or self.stage_count % pp != 0:
            return False
        vpp = self.stage_count // pp
        mtp_total = self.count("m")
        for k, stage in enumerate(self.stages):
            if "m" in stage and (k // pp != vpp - 1 or stage.count("m") != mtp_total):
                return False
        return True

    def pipeline_sizes(self) -> tuple[int, ...]:
        """Every pipeline size pp at which Megatron-Core accepts the layout (:meth:`runs_on`), ascending."""
        return tuple(p for p in range(1, self.stage_count + 1) if self.runs_on(p))


def parse_layout(text: str, where: str = "<training job>") -> PipelineLayout:
    """``text`` parsed as Megatron-Core's ``parse_str_to_list`` does (commas dropped, ``(...)*n`` then ``x*n``
    unrolled, split at ``|``).

    Raises:
        InputError: not a string, or a character other than E, t, m, L after unrolling (at ``where``)."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(where, "pipeline_layout", text, _ALLOWED)
    flat = text.replace(",", "")
    flat = _GROUP.sub(lambda g: g.group(1) * int(g.group(2)), flat)
    flat = _SINGLE.sub(lambda g: g.group(1) * int(g.group(2)), flat)
    stages = tuple(tuple(stage) for stage in flat.split("|"))
    bad = sorted({c for stage in stages for c in stage if c not in LAYOUT_KINDS})
    if bad:
        raise InputError(where, "pipeline_layout", text, _ALLOWED + f"; unknown characters {bad}")
    return PipelineLayout(text=text, stages=stages)
