"""Fill ``fp8_act`` of the NeMo-based MLPerf Training rows (gpt3, llama2_70b_lora) from the submitters' code.

Source: github.com/mlcommons/training_results_v3.1 / _v4.0 / _v4.1 / _v5.0. The launch config a row used is
the one its ``derived`` names (written by mlperf_lora_layout.py / mlperf_stated_layouts.py). NeMo passes
``model.activation_func_fp8_input_store`` to Megatron-Core's ``activation_func_fp8_input_store`` (the SwiGLU
input kept in FP8 for the backward); the v5.0 NVIDIA implementations' ``conf/megatron_gpt_peft_tuning_config.yaml``
set it as ``${oc.decode:${oc.env:FP8_ACT,0}}`` and config_DGXB200_1x8x1xtp1pp1cp1.sh /
config_GB200_2x4x1xtp1pp1cp1.sh export ``FP8_ACT=1``; v4.1 names the variable ``FP8_ACTIVATION`` (NVIDIA
h200_ngc24.09_nemo config_DGXH200_1x8x2xtp1pp1cp2.sh: ``FP8_ACTIVATION=True``). An implementation whose yaml has no
such key (v3.1, v4.0, every gpt3 one) runs with Megatron-Core's default, False (the v4.0 Dell logs warn "does not
have field.name: activation_func_fp8_input_store in its cfg"): ``no``. Rows whose config is not named stay empty
(unknown: off). AMD's v5.0 port (MI300X / MI325X, its yaml under ``src/conf/``) names the key
``fp8_activation_input_store`` (``${oc.decode:${oc.env:FP8_ACTIVATION,0}}``; its configs export
``FP8_ACTIVATION=True``), read as the same setting (the port's NeMo fork is not shipped: medium confidence).

Usage: python data/validation/derive/mlperf_fp8_act.py <mirror dir of training_results_vX.Y> ...
rewrites data/validation/training_runs.csv in place (idempotent), reading each mirror at its pinned commit
(pinned_mirrors.py ``COMMITS``, named in the ``source_locator`` of the rows filled).
"""

from __future__ import annotations

import re
import sys

from _mlperf_common import fill_from_launch_configs, nemo_flag
from pinned_mirrors import Mirror

_KEY = re.compile(r"^\s*(?P<key>activation_func_fp8_input_store|fp8_activation_input_store):\s*"
                  r"(?:\$\{oc\.decode:\$\{oc\.env:(?P<env>\w+),(?P<default>\w+)\}\}|(?P<literal>\w+))\s*$", re.M)
_NOTE = "data/validation/derive/mlperf_fp8_act.py"


def fp8_act(mirror: Mirror, config: str) -> tuple[str, str] | None:
    """("yes" / "no", where it was read) for the launch config ``config`` of ``mirror``; None when
    the implementation has no NeMo yaml (not a NeMo implementation: left empty)."""
    return nemo_flag(mirror, config, _KEY,
                     "no activation_func_fp8_input_store key in {impl}/conf/*.yaml (Megatron-Core default False)")


def main(mirrors: list[str]) -> None:
    fill_from_launch_configs(mirrors, "fp8_act", fp8_act, _NOTE, 110)


if __name__ == "__main__":
    main(sys.argv[1:])
