"""Fill ``cp_comm_type`` of the NeMo-based MLPerf Training rows run with context parallelism (CP > 1): which of
TransformerEngine's context-parallel attention implementations ran (issue 10, s24-G).

TransformerEngine's ``attn_forward_func_with_cp`` (release_v2.8 transformer_engine/pytorch/attention/
dot_product_attention/context_parallel.py L3789-3823) runs ``AttnFuncWithCPAndKVP2P`` for ``p2p`` (the K/V ring),
``AttnFuncWithCPAndKVAllGather`` for ``all_gather`` and ``AttnFuncWithCPAndQKVOA2A`` for ``a2a`` (all-to-all,
Ulysses); Megatron-Core hands it ``TransformerConfig.cp_comm_type``, whose default None it turns into ``p2p``
(NVIDIA/Megatron-LM @d98e8a6 megatron/core/extensions/transformer_engine.py L2141-2142; transformer_config.py
L1030 ``cp_comm_type: Optional[Union[str, List[str]]] = None``). Read per row, at the results mirror's pinned commit
(pinned_mirrors.py ``COMMITS``):

* the launch config the row's ``derived`` names (mlperf_lora_layout.py / mlperf_stated_layouts.py /
  mlperf_llama31_8b_rows.py) with ``CP`` > 1: the NeMo yaml key ``cp_comm_type`` of its implementation
  (``mlperf_fp8_attention.CP_COMM_KEY``; every v5.0 / v5.1 NeMo 2 llama2_70b_lora yaml has
  ``cp_comm_type: ${oc.decode:${oc.env:CP_COMM_TYPE,'a2a'}}``, s23-G) resolved against the config's environment;
  a NeMo yaml without the key: ``p2p`` (Megatron-Core's default above; the TransformerEngine 1.x of those NeMo 1.x
  implementations has the ring only or defaults to it);
* then, winning over it, the config every ``result_*.txt`` of a row of ``_mlperf_common.PRINTED_RESULTS`` prints
  alike (``cp_comm_type`` with ``context_parallel_size`` > 1; empty where it prints ``context_parallel_size`` 1;
  s22-R: the printed config is the run's).

Rows with CP 1, rows without a named NeMo launch config or printed value, and rows of other sources stay empty
(the job's default, ``p2p``).

Usage: python data/validation/derive/mlperf_cp_comm_type.py <mirror dir of training_results_vX.Y> ...
rewrites data/validation/training_runs.csv in place (idempotent), naming the pinned commit in the
``source_locator`` of the rows filled.
"""

from __future__ import annotations

import sys

from _mlperf_common import (
    PRINTED_RESULTS,
    fill_from_launch_configs,
    fill_mlperf_rows,
    mlperf_source,
    nemo_key,
    nemo_value,
    printed_each,
)
from mlperf_fp8_attention import CP_COMM_KEY
from pinned_mirrors import Mirror

_NOTE = "data/validation/derive/mlperf_cp_comm_type.py"
_COLUMN = "cp_comm_type"


def launch_config_comm(mirror: Mirror, config: str) -> tuple[str, str] | None:
    """(cp_comm_type, where it was read) of the launch config ``config`` of ``mirror`` with ``CP`` > 1 (module
    rule); None at CP 1 or when its implementation has no NeMo yaml (left as is)."""
    found = nemo_key(mirror, config, CP_COMM_KEY)
    if found is None:
        return None
    impl, env, path, m = found
    cp = int(env.get("CP", "1"))
    if cp <= 1:
        return None
    if m is None:
        return "p2p", (f"no cp_comm_type key in {impl}/conf/*.yaml, {config} (CP={cp}): Megatron-Core's default None, "
                       "TransformerEngine's p2p")
    text = m["literal"] if m["literal"] is not None else f"{m['env']}={env.get(m['env'], 'unset')}"
    return nemo_value(m, env), f"{path} (cp_comm_type; {text}), {config} (CP={cp})"


def printed_row(repos: dict[str, Mirror], row: dict[str, str]) -> tuple[str, str, str] | None:
    """(results version, cp_comm_type, where) of a row whose result files all print ``cp_comm_type`` alike with
    ``context_parallel_size`` > 1; "" where they print ``context_parallel_size`` 1 and the cell is set (the launch
    config the row names says CP > 1: HPE v5.0 n2 / n4, s22-R); None for every other row."""
    match = mlperf_source(repos, row, PRINTED_RESULTS)
    if match is None:
        return None
    cfg, files = printed_each(repos[match.group(1)], match.group(2), ("cp_comm_type", "context_parallel_size"))
    if cfg.get("context_parallel_size") == "1" and row[_COLUMN]:
        return match.group(1), "", (f"the config printed in {match.group(2)}/result_*.txt (all {files} alike: "
                                    "context_parallel_size 1, no context parallelism)")
    if "cp_comm_type" not in cfg or cfg.get("context_parallel_size", "1") == "1":
        return None
    return match.group(1), cfg["cp_comm_type"], (
        f"the config printed in {match.group(2)}/result_*.txt (all {files} alike: cp_comm_type {cfg['cp_comm_type']}, "
        f"context_parallel_size {cfg['context_parallel_size']})")


def main(mirrors: list[str]) -> None:
    fill_from_launch_configs(mirrors, _COLUMN, launch_config_comm, _NOTE, 160)
    fill_mlperf_rows(mirrors, _COLUMN, printed_row, _NOTE, 160)


if __name__ == "__main__":
    main(sys.argv[1:])
