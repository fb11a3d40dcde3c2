"""Fill ``lora_dropout_recompute`` of the MLPerf llama2_70b_lora rows whose code stores the adapter dropout (s26-B, issue 10).

Source: github.com/mlcommons/training_results_v4.0 / _v4.1 / _v5.0 / _v5.1 at the commits pinned_mirrors.py
``COMMITS`` pins. An implementation whose ``Dockerfile`` (found as mlperf_nemo_stack.py finds it) builds a NeMo 1.x
revision of :data:`STORING_REVISIONS` runs NeMo 1.x's ``ParallelLinearAdapter``: ``self.dropout = nn.Dropout(dropout)``
applied to the adapter input before ``linear_in`` when ``dropout_position`` is ``pre``
(nemo/collections/nlp/modules/common/megatron/adapters/parallel_adapters.py L231-L232, L280-L282 at v2.0.0.rc0.beta;
L237-L238, L288-L290 at 24.09-alpha.rc0; peft_config.py ``_create_lora_config`` passes the yaml's
``dropout_position``, default ``post``), no recompute option (NeMo 2's ``dropout_recompute`` came later). The
revisions: ``v2.0.0.rc0.beta`` (``ARG NEMO_REVISION=v2.0.0.rc0.beta``: NVIDIA v4.0 ``nemo/Dockerfile`` L23,
GigaComputing and Lambda v4.1; ``git checkout v2.0.0.rc0.beta``: AMD's v5.0 ROCm port and its copies, and
MangoBoost's v5.0 folders, which ship the port without its Dockerfile: mlperf_nemo_stack.py ``patched_twins``,
s26-M), the release branch ``r2.0.0.rc0.beta`` the v4.0 copies by Dell, Fujitsu, GigaComputing, HPE, Oracle, Quanta, Red Hat and
Supermicro build (``ARG NEMO_REVISION=r2.0.0.rc0.beta``; its head is the tag's commit b2eccd270d in the NeMo
snapshot fetched on 2026-12-03), and ``24.09-alpha.rc0`` (NVIDIA v4.1 ``*_ngc24.09_nemo`` and the copies, commit
4068955b5a; s26-Q). With the yaml's ``dropout_position: "pre"`` and ``adapter_dropout`` > 0
(``${oc.decode:${oc.env:LORA_DROPOUT,0.1}}``) such a row is ``no``. Rows of other code (NVIDIA's NeMo 2 v5.0 / v5.1
recipes recompute it: ``NEMO_LORA_USE_THUNDER_DROPOUT=1``; a Dockerfile at NeMo ``main``, which moves) stay empty
(the default, recomputed).

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
#: The NeMo 1.x revisions whose adapters keep their dropout, with the commit each names (module doc).
STORING_REVISIONS = {"v2.0.0.rc0.beta": "b2eccd270d", "r2.0.0.rc0.beta": "b2eccd270d", "24.09-alpha.rc0": "4068955b5a"}
_DROPOUT = re.compile(r"^\s*(?P<key>adapter_dropout):\s*(?:\$\{oc\.decode:\$\{oc\.env:(?P<env>\w+),"
                      r"(?P<default>[\w.]+)\}\}|(?P<literal>[\w.]+))\s*$", re.M)
#: Where the adapter applies its dropout (NeMo's default ``post``: on the adapter output, storing only a mask).
_POSITION = re.compile(r"^\s*dropout_position:\s*[\"']?(?P<literal>\w+)[\"']?\s*$", re.M)


def lora_dropout_recompute(mirror: Mirror, config: str) -> tuple[str, str] | None:
    """("no", where it was read) for a llama2_70b_lora launch config ``config`` whose implementation builds a NeMo
    revision of :data:`STORING_REVISIONS` with an adapter dropout > 0 at ``dropout_position`` ``pre``; None otherwise
    (left as is: the default)."""
    if "/llama2_70b_lora/" not in config:
        return None
    dockerfile = nemo_dockerfile(mirror, config, "")
    revision = None if dockerfile is None else nemo_revision(mirror, dockerfile)
    if revision not in STORING_REVISIONS:
        return None
    found, position = nemo_key(mirror, config, _DROPOUT), nemo_key(mirror, config, _POSITION)
    if found is None or found[3] is None or position is None or position[3] is None:
        return None
    _, env, path, m = found
    if float(nemo_value(m, env)) <= 0.0 or position[3]["literal"] != "pre":
        return None
    return "no", (f"{dockerfile} (NVIDIA/NeMo {revision}, commit {STORING_REVISIONS[revision]}: ParallelLinearAdapter "
                  f"keeps nn.Dropout before linear_in, no recompute) and {path} (adapter_dropout {nemo_value(m, env)}, "
                  f"dropout_position pre)")


def main(mirrors: list[str]) -> None:
    fill_from_launch_configs(mirrors, "lora_dropout_recompute", lora_dropout_recompute, _NOTE, 120)


if __name__ == "__main__":
    main(sys.argv[1:])
