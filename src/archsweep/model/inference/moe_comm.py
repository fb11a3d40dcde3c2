"""How TensorRT-LLM's PyTorch path moves MoE tokens under attention DP: all-gather + reduce-scatter.

Source (read, not copied): TensorRT-LLM ``_torch/modules/fused_moe/fused_moe_cutlass.py``
(``CutlassFusedMoE.forward_chunk`` / ``reducescatter_or_allreduce``; stored at 000a01de and in the later
versions with ``select_alltoall_method_type``). With attention DP and no alltoall method, every rank
all-gathers the hidden states of all ranks (``allgather(..., sizes=all_rank_num_tokens)``), runs its own
experts over them and reduce-scatters the BF16 output. The gathered input is quantized first for FP8
per-tensor (``static_quantize_e4m3_per_tensor``) and NVFP4 (``fp4_quantize``, plus its scales), but not
for FP8 block scales (the SM90 op does "dynamic quant + scatter + gemm1 ..." inside: the gather is BF16).
``select_alltoall_method_type`` returns NotEnabled when ``moe_ep_size <= top_k``, and otherwise uses the
MNNVL all-to-all where ``MnnvlMemory.supports_mnnvl()`` (tensorrt_llm/_mnnvl_utils.py, every stored version
read, e.g. 43908070761 / 53756527070 / 57419257414): true when every NVLink link of the GPU is P2P-capable and up
(``support_nvlink(need_all_up=True)``), with no platform or domain-size test — MnnvlMemory allocates FABRIC
handles on aarch64 (GB200) and POSIX file-descriptor handles on x86_64 ("for B200 (x86_64)"), so a DGX
H100 / H200 / B200 board runs the all-to-all too (s20-H; s20-D had taken a domain of <= 8 GPUs as "no MNNVL").
A PCIe-only GPU (no NVLink link) gathers. DeepEP needs ``TRTLLM_CAN_USE_DEEP_EP``, which the perf-overview
@585c7565 commands do not set. The
gpt-oss Triton backend (Hopper) gathers BF16 hidden states itself (``modeling_gpt_oss.py``
``MLPBlock.forward_attn_dp``) and supports no alltoall (the GPT-OSS deployment guide's support matrix).
"""

from __future__ import annotations

import numpy as np

from archsweep.model import collectives as coll
from archsweep.spec.hardware import HardwareArrays

__all__ = ["trtllm_moe_allgather", "allgather_moe_comm"]

#: One PCIe Gen5 x16 link per direction (128 GB/s both ways; TransformerEngine cpu_offloading.rst @d0067d0, as the
#: catalog's host-link entries cite it). A scale-up fabric no faster than this is PCIe: no NVLink link, so
#: ``supports_mnnvl()`` is false (the RTX PRO 6000 Server boards of the table: 54 GB/s); NVLink parts are >= 450 GB/s.
PCIE_GEN5_X16_BYTES_PER_S = 64e9


def trtllm_moe_allgather(top_k: int, ep: int, scaleup_bw_bytes_per_s: float) -> bool:
    """True where TensorRT-LLM's attention-DP MoE gathers tokens instead of an all-to-all (module docstring):
    expert parallelism no wider than ``top_k``, or no NVLink (a scale-up fabric no faster than one PCIe Gen5 x16
    link, :data:`PCIE_GEN5_X16_BYTES_PER_S`)."""
    return ep > 1 and (ep <= top_k or scaleup_bw_bytes_per_s <= PCIE_GEN5_X16_BYTES_PER_S)


def allgather_moe_comm(hw: HardwareArrays, rank_tokens: np.ndarray, hidden: float, dispatch_bytes: float,
                       ep: np.ndarray, stride: np.ndarray, efficiency: float) -> tuple[np.ndarray, np.ndarray]:
    """(time s, link bytes) of one MoE layer's all-gather of ``rank_tokens`` tokens a rank (``dispatch_bytes``
    an element) over ``ep`` ranks and the reduce-scatter of its BF16 output: each rank receives (and sends)
    (ep - 1) x rank_tokens x hidden elements a way, whatever the routing.

    ``rank_tokens``: tokens of one attention-DP rank per iteration; ``hidden``: model width (elements a token);
    ``dispatch_bytes``: bytes an element of the gathered input; ``ep``: expert-parallel ranks; ``stride``: rank
    stride of the EP group in the device numbering (:func:`~archsweep.model.collectives.all_gather_time_s`:
    which tier of the scale-up / scale-out network its ring crosses); ``efficiency``: achieved fraction of the link
    bandwidth (the serving calibration's ``collective_bw_efficiency``). Link bytes are per rank."""
    gathered = ep * rank_tokens * hidden  # elements of the gathered buffer a rank holds
    ag = coll.all_gather_time_s(hw, gathered * dispatch_bytes, ep, stride, efficiency)
    rs = coll.reduce_scatter_time_s(hw, gathered * 2.0, ep, stride, efficiency)
    share = (ep - 1.0) / np.maximum(ep, 1.0)
    on = ep > 1
    return (np.where(on, ag + rs, 0.0),
            np.where(on, share * gathered * (dispatch_bytes + 2.0), 0.0))
