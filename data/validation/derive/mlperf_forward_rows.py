"""The ``mlperf-forward`` group: MLPerf Training v5.0 results never fitted, a forward test (issue 10, s18-D).

Source: github.com/mlcommons/training_results_v5.0 at the commit pinned_mirrors.py ``COMMITS`` pins (@0fdc28f0).
Every constant of the model was fitted on the ``mlperf`` group (v3.1 .. v4.1, two NVIDIA v5.0 LoRA rows, the v5.1
llama31_8b rows) and the ``nemo`` / ``mpt`` / ``megatron`` / ``mcore-moe`` groups; the rows written here were read
by none of those fits (src/archsweep/validation/holdout.py ``FORWARD_TEST_GROUPS`` keeps them out of every fit set).

What it does, in order (each step idempotent, so the whole script is):

1. :data:`LORA_SYSTEMS`: ``llama2_70b_lora`` rows of every submission that runs NVIDIA's NeMo implementation or a
   copy of it, through mlperf_lora_rows.py ``--group mlperf-forward`` (base columns from the mllog files and system
   file). The two NVIDIA v5.0 LoRA rows already in ``mlperf`` (nyx_n1, tyche_ngpu8) are not repeated.
2. mlperf_llama31_405b_rows.py: every v5.0 ``llama31_405b`` result (NVIDIA eos-dfw H100 and tyche GB200,
   IBM+CoreWeave+NVIDIA carina GB200, Nebius H200; all NeMo), layout and recipe from the launch config of the
   implementation folder of the result's name, steady step from ``tracked_stats``.
3. The fill scripts of the ``mlperf`` rows, run on the v5.0 mirror in the order the ``mlperf`` rows took them (they fill llama2_70b_lora rows only)
   (mlperf_lora_layout.py, mlperf_stated_layouts.py, mlperf_lora_logged_layout.py, mlperf_layer_cuda_graphs.py,
   mlperf_steady_step.py, mlperf_fp8_act.py, mlperf_fp8_attention.py, mlperf_tp_overlap_flags.py): layout,
   recipe, CUDA graphs, FP8 flags, TP-overlap flags and the steady step from the same files and by the same rules.
   They also re-derive the two v5.0 ``mlperf`` rows, which they leave as they were (same inputs, same rules).

:data:`SKIPPED`: the v5.0 results not added, with the reason. Usage:
``python data/validation/derive/mlperf_forward_rows.py <mirror dir of training_results_v5.0>``.
"""

from __future__ import annotations

import sys

import mlperf_fp8_act
import mlperf_fp8_attention
import mlperf_layer_cuda_graphs
import mlperf_llama31_405b_rows
import mlperf_lora_layout
import mlperf_lora_logged_layout
import mlperf_lora_rows
import mlperf_stated_layouts
import mlperf_steady_step
import mlperf_tp_overlap_flags
from pinned_mirrors import open_mirror

GROUP = "mlperf-forward"

#: ``<submitter>/<system>`` of the v5.0 llama2_70b_lora results added (NeMo-based: NVIDIA's implementation or a
#: submitter's copy of it; H100 / H200 / H200 NVL / B200 / GB200).
LORA_SYSTEMS: tuple[str, ...] = (
    "ASUSTeK/ESC_N8_E11_n2",
    "Dell/16xXE9712x4GB200", "Dell/1xXE7745x4H200-NVL-141GB", "Dell/1xXE9680Lx8B200-SXM-180GB",
    "Dell/1xXE9680Lx8H200-SXM-141GB", "Dell/2xXE9680Lx8H200-SXM-141GB", "Dell/4xXE9712x4GB200",
    "Dell/8xXE9712x4GB200", "Dell/9xXE9712x4GB200", "Dell/XE7740x8H200-NVL-141GB", "Dell/XE9680x8H200-SXM-141GB",
    "GigaComputing/G893-SD1_pytorch",
    "HPE/HPE-Cray-XD670-H200-SXM5-141GB_n1_24.09", "HPE/HPE-Cray-XD670-H200-SXM5-141GB_n2_24.09",
    "HPE/HPE-Cray-XD670-H200-SXM5-141GB_n4_24.09",
    "Lambda/1cc_b200_n1_ngc25.04_nemo",
    "Lenovo/4xSR680Ax8H200-SXM-141GB", "Lenovo/SR780aV3-8xB200_SXM_180GB",
    "NVIDIA/tyche_ngpu72_ngc25.04_nemo", "NVIDIA/tyche_ngpu144_ngc25.04_nemo", "NVIDIA/tyche_ngpu512_ngc25.04_nemo",
    "Oracle/18xBM.GPU.GB200.4", "Oracle/1xBM.GPU.B200.8", "Oracle/1xBM.GPU.GB200.4", "Oracle/1xBM.GPU.H200.8",
    "Oracle/2xBM.GPU.GB200.4", "Oracle/64xBM.GPU.H200.8", "Oracle/8xBM.GPU.B200.8",
    "QCT/D74H-7U",
    "SCITIX/scitix_n8_ngc24.09_nemo",
    "Supermicro/ARS-121GL-NBO_18", "Supermicro/AS-4125GS-TNHR2-LCC", "Supermicro/AS-4126GS-NBR-LCC_N1",
    "Supermicro/AS-4126GS-NBR-LCC_N2", "Supermicro/AS-A126GS-TNBR", "Supermicro/AS-A126GS-TNBR_N1",
    "Supermicro/SYS-422GA-NBRT-LCC", "Supermicro/SYS-821GE-TNHR", "Supermicro/SYS-A21GE-NBRT",
)

#: ``<submitter>/<system>`` of the AMD Instinct llama2_70b_lora results added (s19-D): AMD's port of the NeMo
#: implementation (config_MI300X_1x8x1.sh / config_MI325X_1x8x1.sh, NeMo yaml under src/conf/; system file: PyTorch
#: 2.6.0, ROCm 6.4, TransformerEngine / Megatron-LM / flash-attn forks by commit; MangoBoost names it 'LLMBoost
#: 1.1.0'). The MI300X configs run a block recompute of 21 of the 80 layers (ACG=full ACM=block ACL=21: act_recompute
#: "full (block: 21 layers per pipeline stage; ...)", the job's recompute_method / recompute_num_layers); the MI325X
#: ones none (ACG unset).
AMD_SYSTEMS: tuple[str, ...] = (
    "AMD/MI300X_EPYC_9575F_pytorch", "AMD/MI325X_EPYC_9575F_pytorch", "Dell/1xXE9680x8MI300X",
    "MangoBoost/MI300X-LLMBoost-GPUBoost-1node", "MangoBoost/MI300X-LLMBoost-GPUBoost-2node",
    "MangoBoost/MI300X-LLMBoost-GPUBoost-4node", "Oracle/1xBM.GPU.MI300X.8", "QCT/D75T-7U",
    "Supermicro/8xMI325X_2xEPYC_9575F",
)

#: v5.0 results of the two benchmarks not added, and why.
SKIPPED: dict[str, str] = {
    "NVIDIA/nyx_n1_ngc25.04_nemo llama2_70b_lora": "in the mlperf group already (s7-rows): not duplicated",
    "NVIDIA/tyche_ngpu8_ngc25.04_nemo llama2_70b_lora": "in the mlperf group already (s7-rows): not duplicated",
    "GigaComputing/G893-ZX1-AAX2_pytorch llama2_70b_lora": ("AMD Instinct MI325X: GigaComputing ships no "
                                                            "implementation of it (its configs are B200 / GB200 ones)"),
}

_FILLS = (mlperf_lora_layout, mlperf_stated_layouts, mlperf_lora_logged_layout, mlperf_layer_cuda_graphs,
          mlperf_steady_step, mlperf_fp8_act, mlperf_fp8_attention, mlperf_tp_overlap_flags)


def main(repo: str) -> None:
    mirror = open_mirror(repo)
    if mirror.version != "v5.0":
        raise SystemExit(f"{repo}: a mirror of training_results_{mirror.version}; the rows of this script are v5.0's")
    mlperf_lora_rows.main(repo, list(LORA_SYSTEMS) + list(AMD_SYSTEMS), GROUP)
    mlperf_llama31_405b_rows.main(repo)
    for fill in _FILLS:
        fill.main([repo])


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: mlperf_forward_rows.py <mirror dir of training_results_v5.0>")
    main(sys.argv[1])
