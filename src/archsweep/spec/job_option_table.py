"""The training job options, one row each: the single source of what can be generated for them.

A job option is a ``training:`` key beyond batch, length, precision, mode and LoRA (the low-precision recipe,
recompute, overlaps, the pipeline split, FP8 attention...). Each :class:`JobOption` row gives its name (the
``training:`` key, the :class:`~archsweep.spec.training.TrainingJob` field and the ``WorkloadOverrides`` field),
its kind (type), default, allowed values, ``archsweep eval`` flag and help, the schema description, and the
validation CSV column. Generated from this table:

* the JSON Schema fragments of the ``training:`` mapping of a model file and a study entry
  (:func:`schema_fragment`; :func:`archsweep.load.schema.load_schema` fills them in);
* the ``archsweep eval`` flags and their help (:mod:`archsweep.cli.app`) and the what-if override names
  (:data:`archsweep.whatif._FLAGS`);
* the type / range check of each field of :class:`~archsweep.spec.training.TrainingJob` (:meth:`JobOption.problem`);
* the reading of options whose CSV cell is plain yes / no or text (:func:`archsweep.validation.cells.stated_job_options`,
  for :mod:`archsweep.validation.row_workload`);
* the key reading of the plain options (:mod:`archsweep.load.job_options`: a kind's generic reader).

Left by hand (clearer so): the cross-field rules (precision fp8 only, SwiGLU only, no layout with the
embedding / loss split: :mod:`archsweep.load.job_options`), the element-wise check of ``recompute_modules``
(one problem per bad entry), the CSV cells that need parsing (the recipe from the precision text, the offload
layers, the recompute modules: :mod:`archsweep.validation.cells`), the dataclass fields themselves (mypy reads
their types; a test holds them equal to this table) and the model code an option drives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from archsweep.spec.errors import InputError
from archsweep.spec.low_precision import RECIPE_NAMES
from archsweep.spec.pipeline_layout import parse_layout

__all__ = ["CP_COMM_TYPES", "CpCommType", "JOB_OPTIONS", "JOB_OPTION_NAMES", "OPTIMIZERS", "OptimizerName", "RECOMPUTE_METHODS", "RECOMPUTE_MODULES", "RecomputeMethod", "JobOption", "JobOptionKind", "job_option",
           "schema_fragment"]

#: Modules that selective recompute can re-run (Megatron-Core ``recompute_modules``, NVIDIA/Megatron-LM
#: @d98e8a6 megatron/core/transformer/transformer_config.py; default ["core_attn"]). Not modelled:
#: "moe" (re-runs the whole MoE layer, its token all-to-alls included) and the GatedDeltaNet / mHC ones.
RECOMPUTE_MODULES: tuple[str, ...] = ("core_attn", "layernorm", "moe_act", "mla_up_proj", "mlp", "shared_experts")
#: Megatron-Core ``recompute_method`` values (which layers ``recompute = full`` re-runs).
RecomputeMethod = Literal["uniform", "block"]
RECOMPUTE_METHODS: tuple[RecomputeMethod, ...] = get_args(RecomputeMethod)

#: TransformerEngine's context-parallel attention implementations the model prices (``cp_comm_type``;
#: archsweep.model.training.ring_attention, archsweep.model.training.cp_collectives); the hierarchical ``a2a+p2p``
#: takes its all-to-all group's size from ``cp_a2a_size`` (Megatron-Core ``hierarchical_context_parallel_sizes``).
CpCommType = Literal["p2p", "a2a", "all_gather", "a2a+p2p"]
CP_COMM_TYPES: tuple[CpCommType, ...] = get_args(CpCommType)

#: The optimizers the model prices (``optimizer``): the stack's Adam, or Muon (archsweep.model.training.newton_schulz).
OptimizerName = Literal["adam", "muon"]
OPTIMIZERS: tuple[OptimizerName, ...] = get_args(OptimizerName)

#: bool: true / false; count: an integer >= 0; choice: one of ``choices``; modules: a non-empty list of distinct
#: ``choices``; layout: a Megatron-Core pipeline layout string ("" = none, :mod:`archsweep.spec.pipeline_layout`).
JobOptionKind = Literal["bool", "count", "choice", "modules", "layout"]


@dataclass(frozen=True)
class JobOption:
    """One training job option.

    Attributes:
        name: the ``training:`` key, the ``TrainingJob`` and ``WorkloadOverrides`` field.
        kind: its type (:data:`JobOptionKind`).
        default: the value of a job that does not set it (the ``TrainingJob`` field default).
        flag: the ``archsweep eval`` flag (a bool kind also gets ``--no-...``).
        help: the flag's help text.
        description: what it means and its source (the schema description).
        csv_column: the validation CSV column that states it ("" = none).
        csv_generic: the column is read by the kind's generic reader (a yes / no cell, a layout text, a choice's
            name; empty = the default; bool, layout and choice kinds only); False: read by hand in
            :mod:`archsweep.validation.cells`.
        choices: the allowed values of a choice, the allowed entries of modules.
    """

    name: str
    kind: JobOptionKind
    default: bool | int | str | tuple[str, ...]
    flag: str
    help: str
    description: str
    csv_column: str = ""
    csv_generic: bool = False
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.csv_generic and self.kind not in ("bool", "layout", "choice"):  # the table's own rule, not user input
            raise ValueError(f"{self.name}: the generic CSV reader reads bool, layout and choice cells only, "
                             f"not {self.kind}")

    @property
    def allowed(self) -> str:
        """What a value may be, as an error message says it."""
        return {"bool": "true or false", "count": "an integer >= 0", "choice": "one of " + ", ".join(self.choices),
                "modules": "a non-empty list of distinct modules out of " + ", ".join(self.choices),
                "layout": "a Megatron-Core pipeline layout (see archsweep.spec.pipeline_layout) or empty"}[self.kind]

    def problem(self, value: Any) -> str | None:
        """None where ``value`` has this option's type and range, else what is allowed (:attr:`allowed`; a layout
        that does not parse: the parser's own reason). Cross-field rules are not checked here."""
        if self.kind == "bool":
            ok = isinstance(value, bool)
        elif self.kind == "count":
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        elif self.kind == "choice":
            ok = value in self.choices
        elif self.kind == "modules":
            ok = isinstance(value, tuple) and bool(value) and len(set(value)) == len(value) \
                and all(v in self.choices for v in value)
        else:  # a layout: "" (none) or what Megatron-Core's parser reads
            try:
                ok = value == "" or parse_layout(value) is not None
            except InputError as exc:
                return exc.problem.allowed
        return None if ok else self.allowed


def schema_fragment(option: JobOption) -> dict[str, Any]:
    """The JSON Schema of ``option``'s ``training:`` key (its description, type and allowed values)."""
    types: dict[str, dict[str, Any]] = {
        "bool": {"type": "boolean"}, "count": {"type": "integer", "minimum": 0},
        "choice": {"enum": list(option.choices)}, "layout": {"type": "string"},
        "modules": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"enum": list(option.choices)}}}
    return {"description": option.description, **types[option.kind]}


#: The training job options, in ``archsweep eval --help`` order.
JOB_OPTIONS: tuple[JobOption, ...] = (
    JobOption(
        "low_precision_recipe", "choice", "delayed", "--recipe",
        "scaling recipe of an FP8 job: delayed, current, mxfp8 or nvfp4 (override; its cast traffic and GEMM rate on "
        "the part come from data/calibration/low_precision_recipes.yaml and data/hardware/low_precision_rates.yaml, "
        "as in validate; default delayed)",
        "Scaling recipe of an FP8 job (precision fp8 only; default delayed): per-tensor delayed or current scaling, "
        "MXFP8, NVFP4; its cast traffic and GEMM rate on the part come from data/calibration/low_precision_recipes.yaml "
        "and data/hardware/low_precision_rates.yaml.",
        csv_column="precision", choices=RECIPE_NAMES),
    JobOption(
        "fp8_params", "bool", False, "--fp8-params",
        "hold and gather the weights in FP8, 1 byte per parameter (precision fp8 only; override, default off)",
        "Weights held and gathered in FP8, 1 byte per parameter (precision fp8 only; default false).",
        csv_column="fp8_params", csv_generic=True),
    JobOption(
        "activation_offload_layers", "count", 0, "--offload-layers",
        "layers per pipeline stage whose activations are offloaded to host memory over the part's host link "
        "(catalog host_link_bw_bytes_per_s; fewer than the model's layers; override, default 0)",
        "Layers per pipeline stage whose stored activations are copied to host memory and back over the part's host "
        "link (default 0).",
        csv_column="act_offload_layers"),
    JobOption(
        "recompute_modules", "modules", ("core_attn",), "--recompute-modules",
        "what recompute=selective re-runs, comma-separated: core_attn, layernorm, moe_act, mla_up_proj, mlp, "
        "shared_experts (Megatron-Core recompute_modules; override, default core_attn)",
        "What the mapping's recompute = selective re-runs in the backward (Megatron-Core recompute_modules; default "
        "[core_attn]): each module once, out of core_attn, layernorm, moe_act, mla_up_proj, mlp, shared_experts "
        "(archsweep.spec.job_option_table.RECOMPUTE_MODULES).",
        csv_column="moe_recompute_modules", choices=RECOMPUTE_MODULES),
    JobOption(
        "recompute_method", "choice", "uniform", "--recompute-method",
        "which layers recompute=full re-runs: uniform (every layer, in units of --recompute-num-layers) or block "
        "(only the first --recompute-num-layers of each pipeline stage; Megatron-Core recompute_method; default uniform)",
        "Which transformer layers the mapping's recompute = full re-runs (Megatron-Core recompute_method, "
        "NVIDIA/Megatron-LM @d98e8a6 megatron/core/recompute.py checkpointed_forward): uniform (the default) "
        "checkpoints every layer, the input of each unit of recompute_num_layers consecutive layers; block "
        "checkpoints only the first recompute_num_layers layers of each pipeline stage (each virtual stage with an "
        "interleaved pipeline) and keeps every activation of the others. archsweep.model.training.recompute_share.",
        csv_column="act_recompute", choices=RECOMPUTE_METHODS),
    JobOption(
        "recompute_num_layers", "count", 0, "--recompute-num-layers",
        "with recompute=full: layers per recompute unit (uniform) or recomputed layers per pipeline stage, per "
        "virtual stage when interleaved (block); 0 = every layer on its own (Megatron-Core recompute_num_layers; "
        "default 0)",
        "With the mapping's recompute = full (Megatron-Core recompute_num_layers): uniform, the layers of one "
        "checkpointed unit (its input stored once, its layers re-materialised together in the backward); block, "
        "the layers recomputed in each pipeline stage (each virtual stage with an interleaved pipeline: Megatron-Core "
        "counts the layers of one TransformerBlock), every other layer keeping all its activations. 0, the default, "
        "is every layer checkpointed on its own (uniform 1); block needs 1 or more; at most the model's layers "
        "(a mapping whose stage holds fewer layers recomputes them all).",
        csv_column="act_recompute"),
    JobOption(
        "activation_fp8_input_store", "bool", False, "--fp8-act",
        "keep the SwiGLU input (FC1 output) in FP8 for the backward, 1 byte instead of 2, for a cast each way "
        "(Megatron-Core activation_func_fp8_input_store, NeMo FP8_ACT; SwiGLU models; override, default off)",
        "The SwiGLU keeps its input (the FC1 output) in FP8 for the backward, 1 byte instead of 2, for one cast "
        "kernel each way (Megatron-Core activation_func_fp8_input_store, NeMo FP8_ACT; SwiGLU models only; default "
        "false).",
        csv_column="fp8_act", csv_generic=True),
    JobOption(
        "lora_dropout_recompute", "bool", True, "--lora-dropout-recompute",
        "LoRA: the adapter dropout re-runs in the backward and stores nothing (NeMo 2 dropout_recompute; default "
        "on, NVIDIA's MLPerf v5.0 recipe; --no-lora-dropout-recompute: a 1 B mask and the dropped 2 B copy stored)",
        "LoRA with lora_dropout > 0: the adapter dropout is re-run in the backward and stores nothing (NeMo 2 "
        "LoRA dropout_recompute, NVIDIA's MLPerf v5.0 recipe NEMO_LORA_USE_THUNDER_DROPOUT=1; default true); false: "
        "stored as PyTorch's nn.Dropout keeps it, a 1 B mask and the dropped 2 B copy per element of each adapted "
        "input (NeMo 1.x ParallelLinearAdapter, NeMo 2's own default). "
        "archsweep.model.training.activation_memory._lora_dropout_bytes.",
        csv_column="lora_dropout_recompute", csv_generic=True),
    JobOption(
        "param_gather_overlap", "bool", True, "--param-gather-overlap",
        "the distributed optimizer's parameter all-gather overlaps the next step's forward (Megatron-Core "
        "overlap_param_gather; default on; --no-param-gather-overlap: exposed)",
        "The distributed optimizer's parameter all-gather after the optimizer step overlaps the next step's forward "
        "(Megatron-Core overlap_param_gather; default true); false: issued after the step, all of it exposed (the "
        "Megatron-Bridge v0.2.0 fp8_mx presets).",
        csv_column="param_gather_overlap", csv_generic=True),
    JobOption(
        "moe_a2a_overlap", "bool", False, "--moe-a2a-overlap",
        "MoE: hide the EP all-to-all of one micro-batch under another's compute (Megatron-Core "
        "overlap_moe_expert_parallel_comm, combined 1F1B; pp = 1 or interleaved pipelines, ep > 1, without full "
        "recompute; default off, as Megatron-Core; an error for a dense model)",
        "MoE: the EP dispatch / combine all-to-all of one micro-batch runs under another's compute (Megatron-Core "
        "overlap_moe_expert_parallel_comm, the combined 1F1B schedule, with delay_wgrad_compute) on mappings where "
        "Megatron-Core runs the combined schedule (pp = 1 or an interleaved pipeline, ep > 1, no full recompute); "
        "default false, Megatron-Core's default (Megatron-Bridge turns it on in its DeepSeek-V3 and Qwen3-235B H100 / "
        "B200 presets).",
        csv_column="moe_a2a_overlap", csv_generic=True),
    JobOption(
        "embedding_loss_in_pipeline_split", "bool", False, "--pp-split-embedding-loss",
        "the pipeline split counts the embedding and the loss as one layer each (Megatron-Core "
        "account_for_embedding/loss_in_pipeline_split; pp must divide layers + 2; default off)",
        "The pipeline split counts the input embedding and the loss (output layer) as one layer each (Megatron-Core "
        "account_for_embedding_in_pipeline_split and account_for_loss_in_pipeline_split, both set; NVIDIA/Megatron-LM "
        "transformer_block.py get_num_layers_to_build): every stage holds (layers + 2) / pp slots, the first builds "
        "one layer fewer beside the embedding, the last one fewer beside the output layer; a mapping whose pp does "
        "not divide layers + 2, or whose vpp does not divide the slots per stage, is infeasible (Megatron-Core "
        "asserts both). Default false, Megatron-Core's default (Megatron-Bridge's Qwen3-235B-A22B and Llama 3.1 405B "
        "pretrain recipes and the Megatron-LM MoE model zoo's Qwen3-235B-A22B config set both: "
        "data/validation/derive/pipeline_split.py).",
        csv_column="pp_split_embedding_loss", csv_generic=True),
    JobOption(
        "fp8_dot_product_attention", "bool", False, "--fp8-dpa",
        "the attention core runs in FP8: its forward at the part's FP8 attention rate, its backward at the BF16 rate "
        "(Megatron-Core fp8_dot_product_attention, NeMo FP8_DPA; precision fp8 only; default off)",
        "The attention core (the flash-attention kernel) runs in FP8 (TransformerEngine DelayedScaling(fp8_dpa=True): "
        "Megatron-Core fp8_dot_product_attention, NeMo FP8_DPA=1 in the MLPerf LoRA configs): the forward at the "
        "part's FP8 attention rate (fp8_attention_rate_ratio, data/hardware/low_precision_rates.yaml; a part without "
        "one: the BF16 rate), the backward at the BF16 rate (the FP8 backward's rate over BF16 moves with the cuDNN "
        "release, docs/model-accuracy.md s25-A). Under cp_comm_type all_gather at cp > 1 the kernel runs BF16: "
        "TransformerEngine calls that CP class without its FP8 arguments. precision fp8 only. Default false "
        "(Megatron-Core's).",
        csv_column="fp8_attention", csv_generic=True),
    JobOption(
        "pipeline_layout", "layout", "", "--pipeline-layout",
        "Megatron-Core pipeline_model_parallel_layout, e.g. 'Et*4|(t*4|)*14tmL' (E embedding, t layer, m MTP layer, "
        "L loss; stages '|'): only mappings with pp x vpp = its stages; default none",
        "Megatron-Core's custom pipeline layout (pipeline_model_parallel_layout; NVIDIA/Megatron-LM "
        "megatron/core/transformer/pipeline_parallel_layer_layout.py): stages in layer order separated by '|', each a "
        "run of E (embedding), t (transformer layer), m (MTP layer), L (loss), with (...)*n and x*n repeats, e.g. "
        "'Et*4|(t*4|)*14tmL' (the Megatron-Bridge DeepSeek-V3 PP 16 / PP 2 x VPP 8 presets). Stage k runs on pipeline "
        "rank k mod pp; a mapping runs it only where pp x vpp is the stage count and Megatron-Core accepts it at that "
        "pp (MTP only in a rank's last virtual stage); the t and m counts must be the model's layers and "
        "mtp_num_layers. Not together with embedding_loss_in_pipeline_split. Default '' (the even split).",
        csv_column="pipeline_layout", csv_generic=True),
    JobOption(
        "tp_overlap_disable_qkv", "bool", False, "--tp-overlap-disable-qkv",
        "TP overlap: the QKV projection's all-gather is not overlapped (Megatron-Core tp_comm_overlap_disable_qkv, "
        "NeMo MC_TP_DISABLE_QKV); priced for LoRA jobs, where it decides who gathers the QKV adapter's input; "
        "default off, as Megatron-Core",
        "With TP communication overlap (userbuffers) and sequence parallelism, the QKV projection runs its input "
        "all-gather without overlap (Megatron-Core tp_comm_overlap_disable_qkv, tp_comm_disable_qkv in core_v0.7.0.beta: "
        "TELayerNormColumnParallelLinear sets ub_overlap_ag and ub_overlap_rs_dgrad False for the 'qkv' buffer). "
        "Priced for LoRA jobs with an adapter on attention_qkv: true = TransformerEngine returns the gathered norm "
        "output to the adapter and the all-gather is exposed; false = the all-gather stays overlapped and NeMo's "
        "adapter gathers its input again (gather_from_sequence_parallel_region: an all-gather forward and a "
        "reduce-scatter backward, exposed; NeMo mcore_mixins.py mcore_register_adapters). NVIDIA's MLPerf LoRA "
        "configurations set it (MC_TP_DISABLE_QKV default True); Megatron-Core's default is false. Not priced for "
        "other jobs.",
        csv_column="tp_overlap_disable_qkv", csv_generic=True),
    JobOption(
        "tp_overlap_rs_dgrad", "bool", False, "--tp-overlap-rs-dgrad",
        "TP overlap: the column-parallel data-gradient reduce-scatter is pipelined with the data-gradient GEMM "
        "(Megatron-Core tp_comm_overlap_rs_dgrad, NeMo MC_TP_OVERLAP_RS_DGRAD); priced for LoRA jobs (frozen "
        "weights); default off, as Megatron-Core",
        "With TP communication overlap and sequence parallelism, the input-gradient reduce-scatter of a "
        "column-parallel projection (QKV unless tp_overlap_disable_qkv, FC1) is split and pipelined with its "
        "data-gradient GEMM (Megatron-Core tp_comm_overlap_rs_dgrad -> TransformerEngine ub_overlap_rs_dgrad, which "
        "v1.11 module/layernorm_linear.py keeps for a frozen weight) instead of hidden behind the weight-gradient "
        "GEMM (ub_bulk_wgrad, off for a frozen weight). Priced for LoRA jobs: such a frozen projection's "
        "reduce-scatter is charged at the TP overlap residual like the others, not exposed in full. The MLPerf "
        "v4.1 NeMo configurations set it in config_common.sh and the TP4 CP2 / TP1 configs turn it off; "
        "Megatron-Core's default is false.",
        csv_column="tp_overlap_rs_dgrad", csv_generic=True),
    JobOption(
        "cp_comm_type", "choice", "p2p", "--cp-comm-type",
        "context parallelism's attention: p2p (the K/V ring), a2a (all-to-all, Ulysses), all_gather or a2a+p2p "
        "(all-to-all over --cp-a2a-size ranks, the ring over the groups) (TransformerEngine / Megatron-Core "
        "cp_comm_type; default p2p, Megatron-Core's)",
        "Which TransformerEngine context-parallel attention a job with cp > 1 runs (Megatron-Core cp_comm_type, "
        "handed to TransformerEngine's attn_forward_func_with_cp; NVIDIA/TransformerEngine release_v2.8 "
        "transformer_engine/pytorch/attention/dot_product_attention/context_parallel.py L3789-3823): p2p, the K/V "
        "ring (AttnFuncWithCPAndKVP2P: each hop overlaps one ring step); a2a, all-to-all of q, k, v before the "
        "attention kernel and of its output after (AttnFuncWithCPAndQKVOA2A, Ulysses: nothing overlaps the kernel; it "
        "asserts each rank's query and KV heads divisible by cp, so the search offers only such tp x cp and a fixed "
        "strategy that breaks it is refused); "
        "all_gather, an exposed K/V all-gather and dK/dV reduce-scatter (AttnFuncWithCPAndKVAllGather, BF16, its "
        "attention kernel BF16 even with fp8_dot_product_attention); a2a+p2p, the hierarchical one "
        "(AttnFuncWithCPAndKVP2P with cp_group [a2a group, p2p group]): an all-to-all over cp_a2a_size consecutive "
        "CP ranks, then the K/V ring over the cp / cp_a2a_size groups (each rank with the a2a group's tokens and "
        "1 / cp_a2a_size of its heads), the output all-to-all back; the search offers only a cp that is 1 or a "
        "multiple of cp_a2a_size with the rank's heads divisible by it. A model with sliding-window layers "
        "(GPT-OSS) gets cp > 1 only under a2a or all_gather (TransformerEngine refuses the window under the ring). "
        "Default p2p: Megatron-Core's cp_comm_type None becomes p2p "
        "(NVIDIA/Megatron-LM @d98e8a6 megatron/core/extensions/transformer_engine.py L2141-2142); the MLPerf NeMo 2 "
        "LoRA configs run a2a (data/validation/derive/mlperf_cp_comm_type.py).",
        csv_column="cp_comm_type", csv_generic=True, choices=CP_COMM_TYPES),
    JobOption(
        "optimizer", "choice", "adam", "--optimizer",
        "the optimizer: adam (the stack's, default) or muon (Newton-Schulz-orthogonalised momentum on the 2-D "
        "weights, Adam on the embedding and output layer; Megatron-Core dist_muon: ZeRO 0 or 1 only)",
        "The optimizer of the step. adam, the default: the stack's mixed-precision Adam (12 B of FP32 state per "
        "parameter). muon: Megatron-Core's Muon (NVIDIA/Megatron-LM @55ac708 megatron/core/optimizer/muon.py, the "
        "Megatron-Bridge v0.3.1 pin; Emerging-Optimizers' orthogonalised momentum): every 2-D weight but the "
        "embedding and the output layer keeps an FP32 momentum and FP32 master weight (muon_state_bytes_per_param) and "
        "is orthogonalised each step by muon_newton_schulz_steps Newton-Schulz iterations per TP shard (blockwise), "
        "the rest runs Adam. With zero_stage 1 it is the layer-wise distributed optimizer (layer_wise_optimizer.py: "
        "whole parameters dealt to the data-parallel ranks, gradients all-reduced, updated weights all-gathered after "
        "the step); with zero_stage 0 every rank updates every weight; ZeRO 2-3 are infeasible (muon.py refuses the "
        "distributed optimizer, Megatron-Bridge's Kimi-K2 recipe turns it off). "
        "archsweep.model.training.newton_schulz, archsweep.model.training.state_memory.",
        csv_column="optimizer", csv_generic=True, choices=OPTIMIZERS),
    JobOption(
        "cp_a2a_size", "count", 0, "--cp-a2a-size",
        "with cp_comm_type a2a+p2p: the all-to-all group's size (2 or more; Megatron-Core "
        "hierarchical_context_parallel_sizes[0]); 0 otherwise, the default",
        "The all-to-all level of the hierarchical context parallelism cp_comm_type a2a+p2p (Megatron-Core "
        "hierarchical_context_parallel_sizes = [cp_a2a_size, cp / cp_a2a_size]; TransformerEngine release_v2.8 "
        "context_parallel.py AttnFuncWithCPAndKVP2P with cp_group [a2a group, p2p group]): 2 or more with a2a+p2p, "
        "0 (the default) with every other cp_comm_type. A mapping's cp is 1 or a multiple of it; at cp = cp_a2a_size "
        "the ring has one rank and TransformerEngine runs the plain a2a."),
)

#: The option names, in table order.
JOB_OPTION_NAMES: tuple[str, ...] = tuple(o.name for o in JOB_OPTIONS)
_BY_NAME = {o.name: o for o in JOB_OPTIONS}


def job_option(name: str) -> JobOption:
    """The row of option ``name`` (KeyError for a name that is not an option)."""
    return _BY_NAME[name]
