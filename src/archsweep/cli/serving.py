"""``archsweep eval --serving``: the serving options of the ``eval`` subcommand, and its handler.

``archsweep eval --serving --model llama3-70b --accelerator H200 --count 8 --input-tokens 2048
--output-tokens 256 --ttft-max 2s --tpot-max 50ms [--qps 5 | --concurrency 64] [--precision fp8]
[--kv-precision fp8] [--no-disaggregation] [--eager-prompt-iterations] [--full-length-kv-pool]
[--moe-allgather] [--cuda-graph-padding] [--json]``

Options are added to the existing ``eval`` parser by :func:`add_serving_arguments` (one call in
:mod:`archsweep.cli.app`); :func:`cmd_eval_serving` runs :func:`archsweep.whatif_serving.serving_what_if`.
A bad value raises :class:`~archsweep.spec.errors.InputError` naming the option (exit 2).
"""

from __future__ import annotations

import argparse
import json

from archsweep.load.serving_workloads import serving_job_from_options, token_count
from archsweep.load.units import parse_quantity
from archsweep.spec.errors import InputError
from archsweep.spec.job_option_table import JOB_OPTIONS
from archsweep.spec.serving import PRECISIONS
from archsweep.whatif_serving import print_serving_what_if, serving_what_if

__all__ = ["SERVING_OPTIONS", "TRAINING_OPTIONS", "add_serving_arguments", "check_training_eval", "cmd_eval_serving"]

_SOURCE = "<command line>"


def add_serving_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``--serving`` options to the ``eval`` parser."""
    group = parser.add_argument_group("serving (with --serving)")
    group.add_argument("--serving", action="store_true",
                       help="answer a serving what-if: best SLO-feasible serving configuration (TP/PP/EP/attention-DP, "
                            "replicas, concurrency, prefill/decode split) and its latency, throughput, power and cost")
    group.add_argument("--input-tokens", default=None, help="prompt tokens per request (ISL), e.g. 2048 (required with --serving)")
    group.add_argument("--output-tokens", default=None, help="generated tokens per request (OSL), e.g. 256 (required with --serving)")
    group.add_argument("--ttft-max", default=None, help="SLO on mean time to first token, e.g. 2s or 500ms (default: none)")
    group.add_argument("--tpot-max", default=None, help="SLO on mean time per output token, e.g. 50ms (default: none)")
    group.add_argument("--qps", default=None,
                       help="offered requests/s (Poisson arrivals); default offline (max throughput); not with --concurrency")
    group.add_argument("--concurrency", default=None,
                       help="requests in flight for the deployment (closed loop), a number > 0; not with --qps")
    group.add_argument("--kv-precision", default=None, help="KV-cache type: bf16, fp8, fp4 (default fp8 for fp8/fp4 weights, else bf16)")
    group.add_argument("--fp4-native", choices=("yes", "no"), default=None,
                       help="matrix engines run FP4 at 2x FP8 (default: yes for the catalog parts with a published "
                            "FP4 peak in data/hardware/low_precision_rates.yaml: Blackwell, MI355X, Rubin)")
    group.add_argument("--no-disaggregation", action="store_true", help="do not search disaggregated prefill/decode splits")
    group.add_argument("--eager-prompt-iterations", action="store_true",
                       help="iterations carrying a prompt run without CUDA graphs, at least the host's launch time "
                            "(TensorRT-LLM PyTorch backend; data/calibration/serving.yaml eager_host_s_per_layer); "
                            "default off: every iteration at its device time")
    group.add_argument("--full-length-kv-pool", action="store_true",
                       help="the KV cache holds sliding-window / chunked-attention layers at the full sequence "
                            "length too (TensorRT-LLM without kv_cache_config.max_attention_window); default off: "
                            "local layers hold at most their window")
    group.add_argument("--moe-allgather", action="store_true",
                       help="under attention DP the MoE all-gathers every rank's tokens and reduce-scatters its BF16 "
                            "output (TensorRT-LLM where its alltoall is off); default off: an all-to-all of the routed copies")
    group.add_argument("--cuda-graph-padding", action="store_true",
                       help="generation-only iterations run padded to the next captured CUDA-graph batch size "
                            "(TensorRT-LLM perf-overview options: 1, 2, 4, ..., 8192); default off")


#: ``eval`` options of a training what-if (argparse dest -> flag), refused with ``--serving``.
TRAINING_OPTIONS = {"strategy": "--strategy", "global_batch": "--global-batch", "seq_len": "--seq-len",
                    **{option.name: option.flag for option in JOB_OPTIONS}, "mode": "--mode",
                    "lora_rank": "--lora-rank", "total_tokens": "--total-tokens", "exhaustive": "--exhaustive"}
#: ``eval`` options of a serving what-if (argparse dest -> flag), refused without ``--serving``.
SERVING_OPTIONS = {"input_tokens": "--input-tokens", "output_tokens": "--output-tokens", "ttft_max": "--ttft-max",
                   "tpot_max": "--tpot-max", "qps": "--qps", "concurrency": "--concurrency",
                   "kv_precision": "--kv-precision", "fp4_native": "--fp4-native",
                   "no_disaggregation": "--no-disaggregation", "eager_prompt_iterations": "--eager-prompt-iterations",
                   "full_length_kv_pool": "--full-length-kv-pool", "moe_allgather": "--moe-allgather",
                   "cuda_graph_padding": "--cuda-graph-padding"}


def check_training_eval(args: argparse.Namespace) -> None:
    """A training ``eval`` (no ``--serving``) given a serving option: refused, naming it (it was ignored)."""
    for option, name in SERVING_OPTIONS.items():
        if getattr(args, option, None) not in (None, False):
            raise InputError(_SOURCE, name, str(getattr(args, option)), "only with --serving (a serving what-if)")


def _number(raw: str | None, option: str, *, required: bool = False) -> float | None:
    if raw is None:
        if required:
            raise InputError(_SOURCE, option, "<missing>", f"{option} N with --serving")
        return None
    return parse_quantity(raw, "dimensionless", file=_SOURCE, key_path=option, positive=True)


def _tokens(raw: str | None, option: str) -> float:
    if raw is None:
        raise InputError(_SOURCE, option, "<missing>", f"{option} N with --serving")
    return token_count(raw, _SOURCE, option)


def _time(raw: str | None, option: str) -> float | None:
    if raw is None:
        return None
    return parse_quantity(raw.replace("ms", " ms") if raw.endswith("ms") and " " not in raw else raw, "time",
                          file=_SOURCE, key_path=option, positive=True)


def cmd_eval_serving(args: argparse.Namespace) -> int:
    """``archsweep eval --serving``: one serving what-if, printed or as one flat JSON object."""
    if args.qps is not None and args.concurrency is not None:
        raise InputError(_SOURCE, "--qps/--concurrency", f"--qps {args.qps} --concurrency {args.concurrency}",
                         "one of --qps (open loop) or --concurrency (closed loop), not both; neither: offline")
    isl = _tokens(args.input_tokens, "--input-tokens")
    osl = _tokens(args.output_tokens, "--output-tokens")
    qps = _number(args.qps, "--qps")
    conc = _number(args.concurrency, "--concurrency")
    precision = args.precision or "bf16"
    if precision not in PRECISIONS:
        raise InputError(_SOURCE, "--precision", precision, "one of " + ", ".join(PRECISIONS) + " with --serving")
    if args.kv_precision is not None and args.kv_precision not in ("bf16", "fp8", "fp4"):
        raise InputError(_SOURCE, "--kv-precision", args.kv_precision, "one of bf16, fp8, fp4")
    if args.count is not None and args.count < 1:
        raise InputError(_SOURCE, "--count", str(args.count), "an integer >= 1")
    for option, name in TRAINING_OPTIONS.items():
        if getattr(args, option, None) not in (None, False):
            raise InputError(_SOURCE, name, str(getattr(args, option)), "not used with --serving (training options)")
    load = "qps" if qps is not None else "concurrency" if conc is not None else "offline"
    job = serving_job_from_options(input_tokens=isl, output_tokens=osl, load=load, concurrency=conc, qps=qps,
                                   ttft_max_s=_time(args.ttft_max, "--ttft-max"),
                                   tpot_max_s=_time(args.tpot_max, "--tpot-max"),
                                   precision=precision, kv_precision=args.kv_precision,
                                   eager_prompt_iterations=args.eager_prompt_iterations,
                                   full_length_kv_pool=args.full_length_kv_pool,
                                   moe_allgather=args.moe_allgather, cuda_graph_padding=args.cuda_graph_padding)
    fp4 = None if args.fp4_native is None else args.fp4_native == "yes"
    result = serving_what_if(args.model, args.accelerator, args.count, job, fp4_native=fp4,
                             disaggregation=not args.no_disaggregation)
    if args.json:
        print(json.dumps(result))
    else:
        print_serving_what_if(result)
    return 0
