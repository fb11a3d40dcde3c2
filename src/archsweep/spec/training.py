"""A training job: how an architecture is trained (batch, sequence length, precision, mode).

Built by :mod:`archsweep.load.workloads` from the ``training:`` section of ``models/<name>.yaml``
(the model's default job) and, per study entry, from the overrides of
:mod:`archsweep.load.training_workloads`. The architecture is a separate type
(:class:`~archsweep.spec.architecture.Architecture`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from archsweep.spec.errors import InputError
from archsweep.spec.job_option_table import JOB_OPTIONS, RECOMPUTE_MODULES, CpCommType, OptimizerName, RecomputeMethod
from archsweep.spec.low_precision import RecipeName

__all__ = ["BLOCK_RECOMPUTE_LAYERS_ALLOWED", "LORA_TARGETS", "LORA_TARGET_GROUPS", "OPTIMIZER_DTYPE_BYTES", "PRECISIONS",
           "RECOMPUTE_MODULES", "TRAINING_MODES", "LoraTarget", "Precision",
           "TrainingJob", "TrainingMode", "TrainingWorkload", "expand_lora_targets"]

Precision = Literal["bf16", "fp16", "fp8"]
#: What ``recompute_num_layers`` may be with ``recompute_method`` "block" (checked here and where a job is read,
#: :func:`archsweep.load.job_options.job_option_values`).
BLOCK_RECOMPUTE_LAYERS_ALLOWED = "an integer >= 1 with recompute_method block (the layers recomputed per pipeline stage)"
TrainingMode = Literal["pretrain", "finetune_full", "finetune_lora"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
TRAINING_MODES: tuple[str, ...] = get_args(TrainingMode)

#: Projections a LoRA adapter can sit on (NeMo's names, nemo/collections/nlp/parts/peft_config.py
#: PEFT_MODULE_MAP): the fused QKV projection (MLA: its down/up projections), the attention output
#: projection, the FFN up (gate + up; MoE: every expert's) and down projections.
LoraTarget = Literal["attention_qkv", "attention_dense", "mlp_fc1", "mlp_fc2"]
LORA_TARGETS: tuple[str, ...] = get_args(LoraTarget)
#: Group names and what they expand to (NeMo ``get_target_modules``: "attention" = qkv + dense,
#: "mlp" = fc1 + fc2, "all" = the four).
LORA_TARGET_GROUPS: dict[str, tuple[str, ...]] = {
    "attention": ("attention_qkv", "attention_dense"), "mlp": ("mlp_fc1", "mlp_fc2"), "all": LORA_TARGETS}
#: Bytes per element of the optimizer dtypes a job may state (``dfa_state_dtype``, ``dfa_grad_sync_dtype``): Apex
#: DistributedFusedAdam's state and gradient buffers, or the stack optimizer's gradient buffer and data-parallel
#: reduce (Megatron-Core ``grad_reduce_in_fp32``: FP32, else the BF16 parameter dtype).
OPTIMIZER_DTYPE_BYTES: dict[str, float] = {"fp32": 4.0, "bf16": 2.0}




def expand_lora_targets(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Projection names from target / group names, in :data:`LORA_TARGETS` order; unknown names kept
    (the caller reports them)."""
    wanted: set[str] = set()
    for name in names:
        wanted.update(LORA_TARGET_GROUPS.get(name, (name,)))
    return tuple(t for t in LORA_TARGETS if t in wanted) + tuple(sorted(wanted - set(LORA_TARGETS)))


def cp_a2a_size_problem(cp_comm_type: str, cp_a2a_size: int) -> str | None:
    """None where ``cp_a2a_size`` fits ``cp_comm_type`` (2 or more with "a2a+p2p", else 0), else what is allowed."""
    if cp_a2a_size >= 2 if cp_comm_type == "a2a+p2p" else cp_a2a_size == 0:
        return None
    return f"an integer >= 2 with cp_comm_type a2a+p2p, 0 with any other cp_comm_type (here {cp_comm_type})"


@dataclass(frozen=True)
class TrainingJob:
    """One training job.

    Attributes:
        global_batch_seqs: sequences per optimizer step (>= 1).
        seq_len: tokens per sequence (>= 1).
        precision: matrix datatype ("bf16"/"fp16" mixed precision, "fp8" recipe).
        mode: pre-training, full fine-tuning, or LoRA fine-tuning.
        lora_rank: LoRA rank (mode "finetune_lora" only; the loaders require it > 0 there).
        total_tokens: tokens of the whole run (for time-to-train), 0 if unknown.
        lora_targets: projections that carry adapters (:data:`LORA_TARGETS`); default all four,
            the QLoRA setting (Dettmers et al. 2023 Sec. 4) this model assumed before the field existed.
        lora_dropout: dropout probability on the adapter input (NeMo ``adapter_dropout``,
            ``dropout_position: pre``); > 0 adds a dropout kernel forward and backward per adapter.
        lora_a2a: adapters on row-parallel projections under sequence parallelism return their
            output with one all-to-all (hidden-split to sequence-split) instead of an all-gather of
            the whole output (NeMo ``a2a_experimental``, set by ``LORA_A2A=1``).
        lora_dropout_recompute: the adapter dropout (``lora_dropout`` > 0) is re-run in the backward and
            stores nothing (NeMo 2 ``LoRA(dropout_recompute=True)``, NVIDIA's MLPerf v5.0 recipe
            ``NEMO_LORA_USE_THUNDER_DROPOUT=1``); false: stored as PyTorch's ``nn.Dropout`` keeps it, a 1 B mask
            and the dropped 2 B copy per element of each adapted input (NeMo 1.x ``ParallelLinearAdapter``,
            NeMo 2's default ``dropout_recompute=False``). Default true, the accounting before the field.
        low_precision_recipe: scaling recipe of a low-precision ("fp8") job
            (:data:`archsweep.spec.low_precision.RECIPE_NAMES`: per-tensor delayed or current scaling,
            MXFP8 block scaling, NVFP4); the recipe's cast traffic and GEMM rate come from
            ``data/calibration/low_precision_recipes.yaml`` (resolved into the calibration).
        activation_offload_layers: transformer layers (per pipeline stage) whose stored activations
            are copied to host memory in the forward and back in the backward (Megatron-Core
            ``cpu_offloading_num_layers``; TransformerEngine ``get_cpu_offload_context``); 0 = off.
        fp8_params: the weights are held and gathered in FP8, 1 byte per parameter instead of BF16's
            2 (TransformerEngine ``fp8_model_init``; NeMo ``fp8_params``, Megatron
            ``--fp8-param-gather``); resolved into the calibration by
            :func:`archsweep.load.part_physics.job_calibration`.
        fp8_weight_transpose_cached: with ``fp8_params``, the FP8 transpose of each weight is kept
            between micro-batches (TransformerEngine's default; TransformerEngine 2.x always keeps it, whatever
            ``is_first_microbatch``); False = re-formed in every micro-batch, TransformerEngine 1.x with
            ``disable_parameter_transpose_cache`` (the NeMo 1.x MLPerf LoRA configs: Megatron-Core passes
            ``is_first_microbatch=None``), 2 bytes of HBM traffic per weight element on parts whose FP8 GEMMs
            take one layout only (resolved by ``job_calibration``).
        recompute_modules: what the mapping's ``recompute = selective`` re-runs in the backward
            (:data:`RECOMPUTE_MODULES`; Megatron-Core ``recompute_modules``, default the attention core).
            Each entry's own problem is reported where it is read (``load.job_options.recompute_option``,
            ``validation.cells``); here the whole list (:meth:`archsweep.spec.job_option_table.JobOption.problem`).
        recompute_method: which layers the mapping's ``recompute = full`` re-runs (Megatron-Core
            ``recompute_method``): "uniform" (every layer, checkpointed in units of ``recompute_num_layers``) or
            "block" (the first ``recompute_num_layers`` of each pipeline stage, per virtual stage when interleaved;
            the others keep all their activations). Cost: :mod:`archsweep.model.training.recompute_share`.
        recompute_num_layers: Megatron-Core ``recompute_num_layers`` with ``recompute = full``: the layers of a
            uniform unit, or the recomputed layers of each (virtual) pipeline stage under "block"; 0 (the
            default) = every layer checkpointed on its own (uniform 1). "block" needs >= 1; at most the model's
            layers (:func:`archsweep.load.job_options.job_fits_model`).
        activation_fp8_input_store: the SwiGLU activation's input (the FC1 output) is kept for the
            backward in FP8 E4M3, 1 byte per element instead of 2 (Megatron-Core
            ``activation_func_fp8_input_store``, NVIDIA/Megatron-LM @d98e8a6
            megatron/core/fusions/fused_bias_swiglu.py L180 / L232 ``input.to(torch.float8_e4m3fn)``;
            NeMo ``FP8_ACT=1`` in the MLPerf LoRA configs). Any precision; SwiGLU MLPs only (others ignore it:
            Megatron-Core rejects it, transformer_config.py L2467). Its time, a cast kernel each way over the
            FC1 output: :mod:`archsweep.model.activation_store`.
        param_gather_overlap: with a sharded optimizer (ZeRO 1-2), the all-gather of the updated weights
            after the optimizer step overlaps the next step's forward (Megatron-Core ``overlap_param_gather``,
            the Megatron-Bridge default with DP > 1: ``CommOverlapConfig``, src/megatron/bridge/training/
            comm_overlap.py); False = issued synchronously after the step, all of it exposed (the
            Megatron-Bridge v0.2.0 ``fp8_mx`` presets: ``cfg.comm_overlap.overlap_param_gather = False``, which CommOverlapConfig copies onto ``cfg.ddp``).
        moe_a2a_overlap: a MoE job runs Megatron-Core's EP all-to-all overlap (``overlap_moe_expert_parallel_comm``,
            the combined 1F1B schedule that hides one micro-batch's dispatch / combine under another's compute,
            with ``delay_wgrad_compute``) where the stack offers it (``Calibration.moe_a2a_overlap``) and the
            mapping allows it (pp = 1 or an interleaved pipeline, ep > 1, no full recompute:
            :func:`archsweep.model.training.communication.a2a_overlap_pairs`). False, the default, is
            Megatron-Core's (NVIDIA/Megatron-LM transformer_config.py ``overlap_moe_expert_parallel_comm: bool =
            False``); Megatron-Bridge's performance presets turn it on in 7 of 35 (DeepSeek-V3, Qwen3-235B
            H100 / B200: data/validation/derive/moe_recipes.py).
        embedding_loss_in_pipeline_split: the pipeline split counts the input embedding and the loss (output
            layer) as one layer each (Megatron-Core ``account_for_embedding_in_pipeline_split`` and
            ``account_for_loss_in_pipeline_split``, both set: NVIDIA/Megatron-LM @b0cc2706dd
            megatron/core/transformer/transformer_block.py ``get_num_layers_to_build``): every stage holds
            (layers + 2) / pp slots, the first builds one layer fewer, the last one layer fewer beside the
            output layer; Megatron-Core asserts that pp divides layers + 2 and vpp the slots per stage.
            Megatron-Bridge's Qwen3-235B-A22B and Llama 3.1 405B pretrain recipes set both
            (data/validation/derive/pipeline_split.py). False, the default, is Megatron-Core's.
        fp8_dot_product_attention: the attention core runs in FP8 (TransformerEngine
            ``DelayedScaling(fp8_dpa=True)``: Megatron-Core ``fp8_dot_product_attention``, NeMo ``FP8_DPA=1`` in
            the MLPerf LoRA configs); the model prices its forward kernel at the part's FP8 attention rate
            (``fp8_attention_rate_ratio``, data/hardware/low_precision_rates.yaml; a part without one: the BF16
            rate) and its backward at the BF16 rate (the FP8 backward's rate over BF16 moves with the cuDNN release:
            docs/model-accuracy.md s25-A); under ``cp_comm_type`` "all_gather" at cp > 1 the kernel runs BF16
            (TransformerEngine calls that class without its FP8 arguments). FP8 precision only (TransformerEngine
            runs it inside ``fp8_autocast``). False, the default, is Megatron-Core's (transformer_config.py
            ``fp8_dot_product_attention: bool = False``).
        pipeline_layout: Megatron-Core's custom pipeline layout (``pipeline_model_parallel_layout``, e.g.
            ``Et*4|(t*4|)*14tmL``: :mod:`archsweep.spec.pipeline_layout`): what each pipeline stage builds; a
            mapping runs it only where pp x vpp is its stage count and Megatron-Core accepts it at that pp. "",
            the default: the even split (or the embedding / loss split). Megatron-Core refuses it together with
            ``embedding_loss_in_pipeline_split`` (transformer_config.py L1306-1315).
        tp_overlap_disable_qkv: with TP overlap, the QKV projection's all-gather is not overlapped
            (Megatron-Core ``tp_comm_overlap_disable_qkv``; NVIDIA's MLPerf NeMo LoRA configs: ``MC_TP_DISABLE_QKV``
            default True); priced for LoRA jobs only (who gathers the QKV adapter's input:
            :func:`archsweep.model.training.communication.lora_tensor_parallel_s`). False, the default, is
            Megatron-Core's.
        tp_overlap_rs_dgrad: with TP overlap, a column-parallel projection's data-gradient reduce-scatter is
            pipelined with its data-gradient GEMM (Megatron-Core ``tp_comm_overlap_rs_dgrad``); priced for LoRA
            jobs only (a frozen weight's reduce-scatter then stays hidden). False, the default, is Megatron-Core's.
        cp_comm_type: which TransformerEngine context-parallel attention a cp > 1 mapping runs (Megatron-Core
            ``cp_comm_type``): "p2p", the K/V ring (:mod:`archsweep.model.training.ring_attention`); "a2a", the
            all-to-all (Ulysses) of q, k, v and of the output, or "all_gather", the K/V all-gather and dK/dV
            reduce-scatter (:mod:`archsweep.model.training.cp_collectives`), or "a2a+p2p", the all-to-all over
            ``cp_a2a_size`` consecutive CP ranks and the ring over the cp / ``cp_a2a_size`` groups. "p2p", the
            default, is Megatron-Core's (its None becomes "p2p": megatron/core/extensions/transformer_engine.py
            L2141-2142 @d98e8a6).
        cp_a2a_size: with "a2a+p2p", the all-to-all group's size, 2 or more (Megatron-Core
            ``hierarchical_context_parallel_sizes[0]``); 0 with every other ``cp_comm_type``.
        optimizer: "adam" (the stack's, the default) or "muon" (Megatron-Core's Muon: Newton-Schulz-orthogonalised
            momentum on the 2-D weights but the embedding and output layer, Adam on those;
            :mod:`archsweep.model.training.newton_schulz`); Muon with ZeRO 2-3 is infeasible.
        dfa_state_dtype: the optimizer is Apex ``DistributedFusedAdam`` (NeMo 1.x ``optim.name:
            distributed_fused_adam``) with this state dtype (``optim.dtype``: "fp32" or "bf16"); "" = the
            stack's optimizer (Megatron-Core: FP32 gradient buffer + 12 B of FP32 state). Bytes:
            :func:`archsweep.model.training.state_memory.model_state_bytes_per_param`.
        dfa_grad_sync_dtype: that optimizer's gradient buffer and reduce dtype (``optim.grad_sync_dtype``;
            Apex's default: the state dtype). With ``dfa_state_dtype`` "": the stack's optimizer with its gradient
            buffer and data-parallel reduce in this dtype (Megatron-Core ``grad_reduce_in_fp32``: "fp32" True,
            "bf16" False; :func:`archsweep.load.part_physics.job_calibration`); "" = the stack's
            ``dp_grad_bytes_per_param``.
    """

    global_batch_seqs: int
    seq_len: int
    precision: Precision = "bf16"
    mode: TrainingMode = "pretrain"
    lora_rank: int = 0
    total_tokens: float = 0.0
    lora_targets: tuple[str, ...] = LORA_TARGETS
    lora_dropout: float = 0.0
    lora_a2a: bool = False
    lora_dropout_recompute: bool = True
    low_precision_recipe: RecipeName = "delayed"
    activation_offload_layers: int = 0
    fp8_params: bool = False
    fp8_weight_transpose_cached: bool = True
    recompute_modules: tuple[str, ...] = ("core_attn",)
    recompute_method: RecomputeMethod = "uniform"
    recompute_num_layers: int = 0
    activation_fp8_input_store: bool = False
    param_gather_overlap: bool = True
    moe_a2a_overlap: bool = False
    embedding_loss_in_pipeline_split: bool = False
    fp8_dot_product_attention: bool = False
    pipeline_layout: str = ""
    tp_overlap_disable_qkv: bool = False
    tp_overlap_rs_dgrad: bool = False
    cp_comm_type: CpCommType = "p2p"
    cp_a2a_size: int = 0
    optimizer: OptimizerName = "adam"
    dfa_state_dtype: str = ""
    dfa_grad_sync_dtype: str = ""

    def __post_init__(self) -> None:
        for key in ("global_batch_seqs", "seq_len"):
            value = getattr(self, key)
            if not value >= 1:
                raise InputError("<training job>", key, value, "an integer >= 1")
        if self.precision not in PRECISIONS:
            raise InputError("<training job>", "precision", self.precision, "one of " + ", ".join(PRECISIONS))
        for option in JOB_OPTIONS:  # each option's type and range (archsweep.spec.job_option_table)
            value = getattr(self, option.name)
            if (allowed := option.problem(value)) is not None:
                raise InputError("<training job>", option.name, list(value) if isinstance(value, tuple) else value,
                                 allowed)
        if self.fp8_dot_product_attention and self.precision != "fp8":
            raise InputError("<training job>", "fp8_dot_product_attention", True,
                             f"false for a {self.precision} job (FP8 attention runs only with precision fp8)")
        if self.recompute_method == "block" and self.recompute_num_layers < 1:
            raise InputError("<training job>", "recompute_num_layers", self.recompute_num_layers,
                             BLOCK_RECOMPUTE_LAYERS_ALLOWED)
        if self.pipeline_layout != "" and self.embedding_loss_in_pipeline_split:
            raise InputError("<training job>", "pipeline_layout", self.pipeline_layout,
                             "no layout together with embedding_loss_in_pipeline_split (Megatron-Core refuses both)")
        if (allowed := cp_a2a_size_problem(self.cp_comm_type, self.cp_a2a_size)) is not None:
            raise InputError("<training job>", "cp_a2a_size", self.cp_a2a_size, allowed)
        for key in ("dfa_state_dtype", "dfa_grad_sync_dtype"):
            if getattr(self, key) not in ("", *OPTIMIZER_DTYPE_BYTES):
                raise InputError("<training job>", key, getattr(self, key), "fp32, bf16 or empty")
        if self.optimizer == "muon" and self.dfa_state_dtype:
            raise InputError("<training job>", "optimizer", self.optimizer,
                             "adam where dfa_state_dtype is set (that names Apex DistributedFusedAdam)")
        if self.optimizer == "muon" and self.mode == "finetune_lora":
            raise InputError("<training job>", "optimizer", self.optimizer,
                             "adam for a finetune_lora job (Muon on LoRA adapters is not modelled)")
        if self.dfa_state_dtype and not self.dfa_grad_sync_dtype:
            raise InputError("<training job>", "dfa_grad_sync_dtype", self.dfa_grad_sync_dtype,
                             "fp32 or bf16 where dfa_state_dtype is set")
        if self.mode not in TRAINING_MODES:
            raise InputError("<training job>", "mode", self.mode, "one of " + ", ".join(TRAINING_MODES))
        bad = [t for t in self.lora_targets if t not in LORA_TARGETS]
        if bad or not self.lora_targets:
            raise InputError("<training job>", "lora_targets", list(self.lora_targets),
                             "a non-empty list of " + ", ".join(LORA_TARGETS))
        if not 0.0 <= self.lora_dropout < 1.0:
            raise InputError("<training job>", "lora_dropout", self.lora_dropout, "a probability in [0, 1)")

    @property
    def tokens_per_step(self) -> int:
        """Tokens per optimizer step (global batch x sequence length)."""
        return self.global_batch_seqs * self.seq_len

    @property
    def max_zero_stage(self) -> int:
        """The highest ZeRO stage the job's optimizer runs at: 3 for Adam; 1 for Muon (Megatron-Core @55ac708
        megatron/core/optimizer/muon.py refuses the distributed optimizer, 'muon with dist optimizer is not
        supported'; its ZeRO 1 is the layer-wise distributed optimizer, and ZeRO 2-3 / FSDP would shard the weights
        Muon orthogonalises whole)."""
        return 1 if self.optimizer == "muon" else 3


@dataclass(frozen=True)
class TrainingWorkload:
    """A training entry of a study: a model trained under a job set by the study.

    Attributes:
        name: the label of its rows in the results (``workload`` column); unique in the study.
        model: workload stem of ``models/``.
        job: the model's default job with the entry's overrides applied.
    """

    name: str
    model: str
    job: TrainingJob
