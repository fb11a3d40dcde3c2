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
(unknown: off). The key ``fp8_activation_input_store`` (``${oc.decode:${oc.env:FP8_ACTIVATION,0}}``) is dead
wherever it stands: the v4.0-era NVIDIA yamls (``conf/``; NVIDIA v4.0 ``nemo``, its copies by Dell, HPE,
Supermicro, ..., GigaComputing v4.1 G593-ZD1) carry it, but the code they run (NVIDIA/NeMo v2.0.0.rc0.beta with
Megatron-Core core_v0.7.0.beta: NVIDIA v4.0 ``nemo/Dockerfile`` L23 / L33, the same in GigaComputing v4.1's) fills
``TransformerConfig`` only from cfg keys named like its fields
(nemo/collections/nlp/models/language_modeling/megatron_base_model.py L547-L561 ``build_transformer_config``), and
no file of NVIDIA's v4.0 implementation or of GigaComputing's v4.1 one (which ships its NeMo and Megatron-LM trees)
reads that name: the run keeps Megatron-Core's False (the v4.0 Dell logs print ``fp8_activation_input_store: 0``
beside the warning "does not have field.name: activation_func_fp8_input_store in its cfg"; s21-J). AMD's v5.0
ROCm port (MI300X / MI325X: AMD, Dell ``pytorch``, MangoBoost, Oracle, QCT D75T-7U, Supermicro 8xMI325X; yaml
under ``src/conf/``) is that v4.0 yaml with its line unchanged, and runs the same NeMo (``Dockerfile``: ``git clone
https://github.com/NVIDIA/NeMo``, ``git checkout v2.0.0.rc0.beta``, two patches to multimodal files only) on ROCm's
Megatron-LM branch ``megatron_190213a_mlperf``, whose base commit 190213a (and every later ROCm/Megatron-LM commit
fetched) names the field ``activation_func_fp8_input_store`` (megatron/core/transformer/transformer_config.py L84):
so the port's ``FP8_ACTIVATION=True`` is dead too, ``no`` (s26-B; the branch itself is not public: medium).

Where a row's result files print the run's resolved config (NeMo 1.x "Experiment configuration" dump, NeMo 2
``MCore config``), its ``activation_func_fp8_input_store`` wins over the launch code (s22-R): the Dell v5.0 H200 /
H200-NVL rows name a config of Dell's NeMo 2 ``nemo`` folder, whose yaml reads ``FP8_ACT`` while the config exports
NeMo 1.x's ``FP8_ACTIVATION=True``, but the runs ran NeMo 1.x and print ``activation_func_fp8_input_store: true``.

Usage: python data/validation/derive/mlperf_fp8_act.py <mirror dir of training_results_vX.Y> ...
rewrites data/validation/training_runs.csv in place (idempotent), reading each mirror at its pinned commit
(pinned_mirrors.py ``COMMITS``, named in the ``source_locator`` of the rows filled).
"""

from __future__ import annotations

import re
import sys

from _mlperf_common import fill_from_launch_configs, nemo_conf_paths, nemo_flag
from pinned_mirrors import Mirror

_VALUE = r":\s*(?:\$\{oc\.decode:\$\{oc\.env:(?P<env>\w+),(?P<default>\w+)\}\}|(?P<literal>\w+))\s*$"
#: Megatron-Core's field name, the only one NeMo passes on (``fp8_activation_input_store`` is dead: module doc).
_KEY = re.compile(r"^\s*(?P<key>activation_func_fp8_input_store)" + _VALUE, re.M)
_NOTE = "data/validation/derive/mlperf_fp8_act.py"
#: Why AMD's ROCm port (yaml under ``src/conf/``) reads as ``no``.
_PORT_MISSING = ("no activation_func_fp8_input_store key in {impl}/src/conf/*.yaml: its fp8_activation_input_store "
                 "(FP8_ACTIVATION=True) is no TransformerConfig field of ROCm Megatron-LM 190213a, and NVIDIA/NeMo "
                 "v2.0.0.rc0.beta (the port's Dockerfile) passes only field names on (megatron_base_model.py "
                 "build_transformer_config): Megatron-Core default False (medium: the port's megatron_190213a_mlperf branch "
                 "is not public)")


def fp8_act(mirror: Mirror, config: str) -> tuple[str, str] | None:
    """("yes" / "no", where it was read) for the launch config ``config`` of ``mirror``; None when
    the implementation has no NeMo yaml (not a NeMo implementation: left empty)."""
    port = any("/src/conf/" in path for path in nemo_conf_paths(mirror, config))
    return nemo_flag(mirror, config, _KEY, _PORT_MISSING if port else
                     "no activation_func_fp8_input_store key in {impl}/conf/*.yaml (Megatron-Core default False)")


def main(mirrors: list[str]) -> None:
    fill_from_launch_configs(mirrors, "fp8_act", fp8_act, _NOTE, 110, printed="activation_func_fp8_input_store")


if __name__ == "__main__":
    main(sys.argv[1:])
