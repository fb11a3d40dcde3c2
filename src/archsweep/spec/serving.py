"""A serving job: what is served, under which load and service-level objectives.

Speculative decoding (draft models, Medusa, EAGLE, DeepSeek MTP) is NOT modelled: a job that
asks for it is refused with an :class:`~archsweep.errors.InputError`. Input and output lengths
are fixed means (every request has the same ISL/OSL, as in trtllm-bench's synthetic datasets);
length distributions are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from archsweep.spec.errors import InputError

__all__ = ["ServingJob", "ServingWorkload", "Precision", "LoadMode", "BYTES_PER_ELEMENT", "PRECISIONS", "LOAD_MODES",
           "MAX_REQUEST_TOKENS", "PERF_OVERVIEW_BATCH_SIZES"]

Precision = Literal["bf16", "fp8", "fp4", "int4"]
LoadMode = Literal["offline", "concurrency", "qps"]
PRECISIONS: tuple[str, ...] = ("bf16", "fp8", "fp4", "int4")
LOAD_MODES: tuple[str, ...] = ("offline", "concurrency", "qps")
#: Input limit on input_tokens / output_tokens of one request: 2^24 tokens, above the longest
#: context of any released model (Llama 4 Scout, 10M tokens); a larger value is a typo.
MAX_REQUEST_TOKENS = 2**24

#: Bytes per stored element including block scales: NVFP4 = 4-bit values + one FP8 scale per
#: 16 values (NVIDIA Blackwell NVFP4 format: 0.5 + 1/16 B); INT4 weight-only (group 128 with an
#: FP16 scale: 0.5 + 2/128 B; ModelOpt's INT4-AWQ is symmetric, AutoAWQ / GPTQ add a 4-bit zero a
#: group, 0.5/128 B more, not counted).
BYTES_PER_ELEMENT: dict[str, float] = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5 + 1.0 / 16.0, "int4": 0.5 + 2.0 / 128.0}



def _check(cond: bool, key: str, value: object, allowed: str) -> None:
    if not cond:
        raise InputError("<serving job>", key, str(value), allowed)


#: ``cuda_graph_config.batch_sizes`` of every llm_options file of TensorRT-LLM perf-overview @585c7565 (with
#: ``enable_padding: true``): the sizes a ``cuda_graph_padding`` serving entry pads to
#: (:mod:`archsweep.model.inference.cuda_graph`).
PERF_OVERVIEW_BATCH_SIZES: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512, 1024, 2048, 4096, 8192)


@dataclass(frozen=True)
class ServingJob:
    """One serving job.

    Attributes:
        input_tokens: prompt length (ISL), tokens per request.
        output_tokens: generated tokens per request (OSL), >= 1.
        load: "offline" (max throughput, all requests queued), "concurrency" (``concurrency``
            requests in flight for the whole deployment, closed loop) or "qps" (Poisson arrivals at
            ``qps`` requests/s for the deployment).
        concurrency: requests in flight (load "concurrency").
        qps: offered requests per second (load "qps").
        ttft_max_s / tpot_max_s: SLO limits on mean time to first token and mean time per output
            token, s (None = no limit).
        weight_precision: stored weight type; "int4" is weight-only (activations as given).
        activation_precision: matrix input type; sets the matrix peak used (bf16, fp8, fp4).
        kv_precision: KV-cache element type (bf16, fp8, fp4).
        speculative_decoding: must be False (not modelled).
        num_requests: requests of a finite offline run (a benchmark's dataset; load "offline" only);
            None: an unbounded steady state.
        non_expert_weight_precision: precision of the weights outside the routed experts
            (attention projections, dense FFN, shared experts, LM head) when a checkpoint keeps them
            wider than the experts (gpt-oss: MXFP4 experts, BF16 elsewhere); their GEMMs then run
            at that precision's matrix rate. None: ``weight_precision`` / ``activation_precision``.
        eager_prompt_iterations: the engine replays CUDA graphs only for iterations without a prompt
            (TensorRT-LLM's PyTorch backend): an iteration carrying one runs eagerly and takes at
            least the host's launch time (:mod:`archsweep.model.inference.eager`). False: every
            iteration at its device time.
        full_length_kv_pool: the KV cache holds every layer at the full sequence length, local
            (sliding-window / chunked) layers included: TensorRT-LLM's KV cache manager keeps one
            pool at ``max_seq_len`` unless ``kv_cache_config.max_attention_window`` lists the
            per-layer windows (the perf-overview @585c7565 options files do not); the kernels still
            read only the window. False: local layers hold at most their window
            (:func:`~archsweep.model.inference.attention_span.kv_tokens_held`).
        moe_allgather: under attention DP the MoE all-gathers every rank's tokens and
            reduce-scatters its BF16 output instead of an all-to-all of the routed copies
            (TensorRT-LLM's PyTorch path where its alltoall is not enabled:
            :func:`~archsweep.model.inference.moe_comm.trtllm_moe_allgather`). False: the all-to-all.
        moe_dispatch_precision: element type of the gathered tokens (``moe_allgather``); None: the
            activation precision (the MoE input is quantized before the gather); bf16 where the MoE
            op quantizes inside (FP8 block scales on Hopper).
        cuda_graph_batch_sizes: the batch sizes (per attention-DP rank, ascending) the engine holds a
            CUDA graph for with padding on; a generation-only iteration runs the next one up, the extra
            requests as one-token dummies (:mod:`archsweep.model.inference.cuda_graph`). Empty: no
            padding.
    """

    input_tokens: float
    output_tokens: float
    load: LoadMode = "offline"
    concurrency: float | None = None
    qps: float | None = None
    ttft_max_s: float | None = None
    tpot_max_s: float | None = None
    weight_precision: Precision = "bf16"
    activation_precision: Precision = "bf16"
    kv_precision: Precision = "bf16"
    speculative_decoding: bool = False
    num_requests: float | None = None
    non_expert_weight_precision: Precision | None = None
    eager_prompt_iterations: bool = False
    full_length_kv_pool: bool = False
    moe_allgather: bool = False
    moe_dispatch_precision: Precision | None = None
    cuda_graph_batch_sizes: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _check(self.input_tokens >= 1, "input_tokens", self.input_tokens, ">= 1 token")
        _check(self.output_tokens >= 1, "output_tokens", self.output_tokens, ">= 1 token")
        _check(self.load in LOAD_MODES, "load", self.load, "one of " + ", ".join(LOAD_MODES))
        if self.load == "concurrency":
            _check(self.concurrency is not None and self.concurrency >= 1, "concurrency", self.concurrency,
                   ">= 1 request in flight with load 'concurrency'")
        if self.load == "qps":
            _check(self.qps is not None and self.qps > 0, "qps", self.qps, "> 0 requests/s with load 'qps'")
        for key in ("ttft_max_s", "tpot_max_s"):
            v = getattr(self, key)
            _check(v is None or v > 0, key, v, "None (no limit) or > 0 s")
        _check(self.weight_precision in PRECISIONS, "weight_precision", self.weight_precision, ", ".join(PRECISIONS))
        _check(self.activation_precision in ("bf16", "fp8", "fp4"), "activation_precision", self.activation_precision,
               "bf16, fp8, fp4 (int4 is weight-only)")
        _check(self.kv_precision in ("bf16", "fp8", "fp4"), "kv_precision", self.kv_precision, "bf16, fp8, fp4")
        _check(self.non_expert_weight_precision in (None, "bf16"), "non_expert_weight_precision",
               self.non_expert_weight_precision, "None (as the experts) or bf16")
        _check(self.moe_dispatch_precision in (None, "bf16", "fp8", "fp4"), "moe_dispatch_precision",
               self.moe_dispatch_precision, "None (the activation precision), bf16, fp8, fp4")
        sizes = self.cuda_graph_batch_sizes
        _check(all(int(b) == b and b >= 1 for b in sizes) and list(sizes) == sorted(set(sizes)),
               "cuda_graph_batch_sizes", sizes, "ascending distinct whole batch sizes >= 1 (empty: no padding)")
        _check(self.num_requests is None or (self.load == "offline" and self.num_requests >= 1), "num_requests",
               self.num_requests, "None, or >= 1 request with load 'offline'")
        _check(not self.speculative_decoding, "speculative_decoding", self.speculative_decoding,
               "False: speculative decoding (MTP, draft models) is not modelled")

    @property
    def weight_bytes_per_element(self) -> float:
        return BYTES_PER_ELEMENT[self.weight_precision]

    @property
    def kv_bytes_per_element(self) -> float:
        return BYTES_PER_ELEMENT[self.kv_precision]

    @property
    def activation_bytes_per_element(self) -> float:
        return BYTES_PER_ELEMENT[self.activation_precision]

    @property
    def moe_dispatch_bytes_per_element(self) -> float:
        """Bytes of one gathered MoE input element (``moe_dispatch_precision``, else the activation's)."""
        return BYTES_PER_ELEMENT[self.moe_dispatch_precision or self.activation_precision]


@dataclass(frozen=True)
class ServingWorkload:
    """A serving workload of a study: a model served under a :class:`ServingJob`.

    Attributes:
        name: the label of its rows in the results (``workload`` column); unique in the study.
        model: workload stem of ``models/``.
        job: what is served, the load and the SLOs.
        fp4_native: the candidates' matrix engines run FP4 at 2x the FP8 rate (Blackwell NVFP4);
            else FP4 weights run at the FP8 rate. The hardware parameters have no FP4 field, so a
            study compares FP4 support with two serving entries.
        disaggregation: also search disaggregated prefill/decode pool splits.
    """

    name: str
    model: str
    job: ServingJob
    fp4_native: bool = False
    disaggregation: bool = True
