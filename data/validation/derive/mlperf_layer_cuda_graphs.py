"""Fill ``layer_cuda_graphs`` of the NeMo-based MLPerf Training rows (gpt3, llama2_70b_lora) from the submitters' code.

Source: github.com/mlcommons/training_results_v3.1 / _v4.0 / _v4.1. The launch config a row used is the one its
``derived`` names (written by mlperf_lora_layout.py / mlperf_stated_layouts.py). NeMo captures each transformer
layer's forward and backward in a CUDA graph when the implementation's ``conf/*.yaml`` sets
``enable_cuda_graph`` (or ``external_cuda_graph``) ``: ${oc.decode:${oc.env:LAYER_CUDA_GRAPH,False}}`` and the
config exports ``LAYER_CUDA_GRAPH`` true (v4.1 NVIDIA ``config_DGXH100_*x8x1xtp4pp1cp2.sh``: ``LAYER_CUDA_GRAPH=1``);
an implementation whose yaml has no such key (v3.1, v4.0) runs every layer eagerly: ``no``. A yaml with both keys
(v5.1 NVIDIA's: ``external_cuda_graph`` on ``LAYER_CUDA_GRAPH``, ``enable_cuda_graph`` on ``MCORE_CUDA_GRAPH``, scope
``full_iteration``): ``yes`` where either is true. Rows whose config is not
named stay empty (unknown: the model treats them as eager).

Usage: python data/validation/derive/mlperf_layer_cuda_graphs.py <mirror dir of training_results_vX.Y> ...
rewrites data/validation/training_runs.csv in place (idempotent), reading each mirror at its pinned commit
(pinned_mirrors.py ``COMMITS``, named in the ``source_locator`` of the rows filled).
"""

from __future__ import annotations

import re
import sys

from _mlperf_common import fill_from_launch_configs, nemo_flag
from pinned_mirrors import Mirror

_KEY = re.compile(r"^\s*(?P<key>enable_cuda_graph|external_cuda_graph):\s*"
                  r"\$\{oc\.decode:\$\{oc\.env:(?P<env>\w+),(?P<default>\w+)\}\}", re.M)
_ENABLE = re.compile(r"^\s*(?P<key>enable_cuda_graph):\s*\$\{oc\.decode:\$\{oc\.env:(?P<env>\w+),(?P<default>\w+)\}\}", re.M)
_NOTE = "data/validation/derive/mlperf_layer_cuda_graphs.py"


def layer_cuda_graphs(mirror: Mirror, config: str) -> tuple[str, str] | None:
    """("yes" / "no", where it was read) for the launch config ``config`` of ``mirror``; None when
    the implementation has no NeMo yaml (not a NeMo implementation: left empty)."""
    first = nemo_flag(mirror, config, _KEY, "no enable_cuda_graph key in {impl}/conf/*.yaml")
    if first is None or first[0] == "yes":
        return first
    # a yaml with both keys (v5.1 NVIDIA llama2_70b_lora: external_cuda_graph LAYER_CUDA_GRAPH, then
    # enable_cuda_graph MCORE_CUDA_GRAPH with cuda_graph_scope full_iteration): graphs where either is true (s19-I)
    second = nemo_flag(mirror, config, _ENABLE, "")
    return second if second is not None and second[0] == "yes" else first


def main(mirrors: list[str]) -> None:
    fill_from_launch_configs(mirrors, "layer_cuda_graphs", layer_cuda_graphs, _NOTE, 100)


if __name__ == "__main__":
    main(sys.argv[1:])
