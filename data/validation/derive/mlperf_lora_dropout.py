"""Fill ``lora_dropout_recompute`` of the MLPerf llama2_70b_lora rows whose code stores the adapter dropout (s26-B, issue 10).

Source: github.com/mlcommons/training_results_v4.0 / _v4.1 / _v5.0 / _v5.1 at the commits pinned_mirrors.py
``COMMITS`` pins. An implementation whose ``Dockerfile`` (found as mlperf_nemo_stack.py finds it) checks out
NVIDIA/NeMo ``v2.0.0.rc0.beta`` (``ARG NEMO_REVISION=v2.0.0.rc0.beta``: NVIDIA v4.0 ``nemo/Dockerfile`` L23 and the
submitters' copies; ``git checkout v2.0.0.rc0.beta``: AMD's v5.0 ROCm port and its copies, and MangoBoost's v5.0
folders, which ship the port without its Dockerfile: mlperf_nemo_stack.py ``patched_twins``, s26-M) runs NeMo 1.x's
``ParallelLinearAdapter``: ``self.dropout = nn.Dropout(dropout)`` applied to the adapter input before ``linear_in``
with ``dropout_position: pre`` (nemo/collections/nlp/modules/common/megatron/adapters/parallel_adapters.py
L231-L232, L280-L282 at that tag), no recompute option (NeMo 2's ``dropout_recompute`` came later): with the
yaml's ``adapter_dropout`` > 0 (``${oc.decode:${oc.env:LORA_DROPOUT,0.1}}``) such a row is ``no``. Rows of other
code (NVIDIA's NeMo 2 v5.0 / v5.1 recipes recompute it: ``NEMO_LORA_USE_THUNDER_DROPOUT=1``) stay empty (the
default, recomputed).

Usage: python data/validation/derive/mlperf_lora_dropout.py <mirror dir of training_results_vX.Y> ...
rewrites data/validation/training_runs.csv in place (idempotent).
"""

from __future__ import annotations

import re
import sys

from _mlperf_common import fill_from_launch_configs, nemo_key, nemo_value
from mlperf_nemo_stack import nemo_dockerfile, nemo_revision
from pinned_mirrors import Mirror

_NOTE = "data/validation/derive/mlperf_lora_dropout.py"
#: The NeMo tag whose adapters keep their dropout (module doc).
STORING_TAG = "v2.0.0.rc0.beta"
_DROPOUT = re.compile(r"^\s*(?P<key>adapter_dropout):\s*(?:\$\{oc\.decode:\$\{oc\.env:(?P<env>\w+),"
                      r"(?P<default>[\w.]+)\}\}|(?P<literal>[\w.]+))\s*$", re.M)


def lora_dropout_recompute(mirror: Mirror, config: str) -> tuple[str, str] | None:
    """("no", where it was read) for a llama2_70b_lora launch config ``config`` whose implementation runs NeMo
    :data:`STORING_TAG` with an adapter dropout > 0; None otherwise (left as is: the default)."""
    if "/llama2_70b_lora/" not in config:
        return None
    dockerfile = nemo_dockerfile(mirror, config, "")
    if dockerfile is None or nemo_revision(mirror, dockerfile) != STORING_TAG:
        return None
    found = nemo_key(mirror, config, _DROPOUT)
    if found is None or found[3] is None:
        return None
    _, env, path, m = found
    if float(nemo_value(m, env)) <= 0.0:
        return None
    return "no", (f"{dockerfile} (NVIDIA/NeMo {STORING_TAG}: ParallelLinearAdapter keeps nn.Dropout before linear_in, "
                  f"no recompute) and {path} (adapter_dropout {nemo_value(m, env)})")


def main(mirrors: list[str]) -> None:
    fill_from_launch_configs(mirrors, "lora_dropout_recompute", lora_dropout_recompute, _NOTE, 120)


if __name__ == "__main__":
    main(sys.argv[1:])
