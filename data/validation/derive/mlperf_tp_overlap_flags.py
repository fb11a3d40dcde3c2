"""Fill ``tp_overlap_disable_qkv`` and ``tp_overlap_rs_dgrad`` of the NeMo-based MLPerf Training rows from the
submitters' code (issue 10, s16-mlperflora).

Source: github.com/mlcommons/training_results_v3.1 / _v4.0 / _v4.1 / _v5.0, read at the commits pinned_mirrors.py
pins. The launch config a row used is the one its ``derived`` names (mlperf_lora_layout.py /
mlperf_stated_layouts.py). NeMo copies every key of its model config that names a Megatron-Core
``ModelParallelConfig`` field into that config (NeMo v2.0.0.rc0.beta / 24.09-alpha.rc0 megatron_base_model.py
``build_model_parallel_config``: ``for field in fields(ModelParallelConfig)``), so the implementation's
``conf/megatron_gpt_*.yaml`` decides:

* ``tp_overlap_disable_qkv``: the key ``tp_comm_disable_qkv`` (the field's name in Megatron-Core core_v0.7.0.beta,
  which the v4.0 Dockerfiles and the v4.1 GigaComputing one build) or ``tp_comm_overlap_disable_qkv`` (its name
  in 24.09-alpha.rc0, the v4.1 NVIDIA-derived Dockerfiles), ``${oc.decode:${oc.env:MC_TP_DISABLE_QKV,True}}`` in
  every file that has it; an implementation whose yaml has neither key runs Megatron-Core's default, false (the
  nine v4.0 copies other than NVIDIA's);
* ``tp_overlap_rs_dgrad``: the key ``tp_comm_overlap_rs_dgrad``, ``${oc.decode:${oc.env:MC_TP_OVERLAP_RS_DGRAD,
  False}}`` (v4.1 ``configs/config_common.sh`` exports True, the TP4 CP2 and TP1 CP2 configs False); no key:
  false (Megatron-Core's default).

Both are read for every row with a NeMo yaml, whatever its TP overlap (the model prices them only for LoRA jobs
with TP overlap and sequence parallelism). A llama2_70b_lora row whose config is not named (v4.1 Dell 2x / 4x
XE9680) takes the yaml's default when its submitter's results hold one llama2_70b_lora NeMo implementation and no
shell file of it sets the variable (Dell v4.1: ``MC_TP_DISABLE_QKV`` set nowhere -> yes; ``MC_TP_OVERLAP_RS_DGRAD``
set by ``config_common.sh`` and three configs -> left empty). Other rows stay empty (the job's defaults).
Where a llama2_70b_lora row's result files print the run's resolved config (``tp_comm_overlap_disable_qkv`` /
``tp_comm_overlap_rs_dgrad`` in the NeMo 1.x dump or the NeMo 2 ``MCore config``), that wins over the launch code
(s22-R; ``_mlperf_common.printed_flag``): HPE v5.0 n2 / n4 print ``tp_comm_overlap_rs_dgrad: true`` though the
config their ``derived`` names leaves it False (their logs print another layout and learning rate too).

Usage: python data/validation/derive/mlperf_tp_overlap_flags.py <mirror dir of training_results_vX.Y> ...
rewrites data/validation/training_runs.csv in place (idempotent).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

from _mlperf_common import MLPERF_GROUPS, RESULT_SOURCE, fill_from_launch_configs, fill_mlperf_rows, is_true, nemo_flag
from pinned_mirrors import Mirror

_ENV = r":\s*\$\{oc\.decode:\$\{oc\.env:(?P<env>\w+),(?P<default>\w+)\}\}"
_QKV = re.compile(r"^\s*(?P<key>tp_comm_disable_qkv|tp_comm_overlap_disable_qkv)" + _ENV, re.M)
_RS_DGRAD = re.compile(r"^\s*(?P<key>tp_comm_overlap_rs_dgrad)" + _ENV, re.M)
_NOTE = "data/validation/derive/mlperf_tp_overlap_flags.py"


def disable_qkv(mirror: Mirror, config: str) -> tuple[str, str] | None:
    """("yes" / "no", where it was read) for the launch config ``config`` of ``mirror``; None without a NeMo yaml."""
    return nemo_flag(mirror, config, _QKV, "no tp_comm_(overlap_)disable_qkv key in {impl}/conf/*.yaml "
                                           "(Megatron-Core default false)")


def rs_dgrad(mirror: Mirror, config: str) -> tuple[str, str] | None:
    """("yes" / "no", where it was read) for the launch config ``config`` of ``mirror``; None without a NeMo yaml."""
    return nemo_flag(mirror, config, _RS_DGRAD, "no tp_comm_overlap_rs_dgrad key in {impl}/conf/*.yaml "
                                                "(Megatron-Core default false)")


def unnamed_config_default(key: re.Pattern[str]) -> Callable[[dict[str, Mirror], dict[str, str]],
                                                              tuple[str, str, str] | None]:
    """A ``fill_mlperf_rows`` reader for the llama2_70b_lora rows with no launch config named: the yaml default
    of ``key`` where the submitter has one NeMo implementation of the benchmark and no shell file of it sets the
    variable; None otherwise (left as is)."""

    def derive_row(repos: dict[str, Mirror], row: dict[str, str]) -> tuple[str, str, str] | None:
        match = RESULT_SOURCE.search(row["source"])
        if (row["source_group"] not in MLPERF_GROUPS or not match or match.group(4) != "llama2_70b_lora"
                or match.group(1) not in repos or re.search(r"training_results_v[\d.]+/\S+?\.sh", row["derived"])):
            return None
        mirror, submitter = repos[match.group(1)], match.group(2)
        files = mirror.ls(f"{submitter}/benchmarks/llama2_70b_lora/")
        yamls = [f for f in files if re.search(r"/conf/megatron_gpt_\w+\.yaml$", f)]
        if len(yamls) != 1:
            return None
        found = key.search(mirror.show(yamls[0]))
        if found is None:
            return None
        var, default = found["env"], found["default"]
        setters = [f for f in files if f.endswith(".sh") and re.search(rf"^\s*(export\s+)?{var}=", mirror.show(f), re.M)]
        if setters:
            return None
        value = "yes" if is_true(default) else "no"
        return match.group(1), value, (f"{yamls[0]} ({found['key']}: ${{oc.env:{var},{default}}}; no launch config "
                                       f"named, and no .sh file of {submitter}'s implementation sets {var})")

    return derive_row


def main(mirrors: list[str]) -> None:
    fill_from_launch_configs(mirrors, "tp_overlap_disable_qkv", disable_qkv, _NOTE, 110, printed="tp_comm_overlap_disable_qkv")
    fill_from_launch_configs(mirrors, "tp_overlap_rs_dgrad", rs_dgrad, _NOTE, 110, printed="tp_comm_overlap_rs_dgrad")
    fill_mlperf_rows(mirrors, "tp_overlap_disable_qkv", unnamed_config_default(_QKV), _NOTE, 110, printed="tp_comm_overlap_disable_qkv")
    fill_mlperf_rows(mirrors, "tp_overlap_rs_dgrad", unnamed_config_default(_RS_DGRAD), _NOTE, 110, printed="tp_comm_overlap_rs_dgrad")


if __name__ == "__main__":
    main(sys.argv[1:])
