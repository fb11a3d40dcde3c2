"""Fill the stated layout of the MLPerf Training gpt3 rows and of the DeepSpeed llama2_70b_lora rows from the submitters' code.

Sources: github.com/mlcommons/training_results_v3.1 / _v4.0 / _v4.1 (the version in each row's ``source``).

* gpt3, NeMo-based submissions (NVIDIA, Azure+NVIDIA): ``<submitter>/benchmarks/gpt3/implementations/<impl>/
  config_*.sh`` after the ``config_common.sh`` / ``config_fp8.sh`` they source (last assignment wins).
  ``TENSOR_MODEL_PARALLEL``, ``PIPELINE_MODEL_PARALLEL``, ``MICRO_BATCH_SIZE``, ``MINIBS`` (sequences per
  data-parallel rank), ``DGXNNODES`` x ``DGXNGPU``, ``FP8``; the unset ones take the defaults of the
  implementation's ``conf/custom.yaml``: ``virtual_pipeline_model_parallel_size: ${oc.env:INTERLEAVED_PIPELINE,12}``,
  ``sequence_parallel: ${oc.env:SEQ_PARALLEL,True}``, ``activations_checkpoint_granularity:
  ${oc.env:ACT_CKPT_GRANULARITY,null}``; ``USE_DIST_OPTIMIZER=True`` (config_common.sh) = ZeRO-1. A row takes
  the configs whose GPU count and ``MINIBS x GPUs / (TP x PP)`` match it (the folder named like the result
  first); where none is shipped, the config an implementation README names, read from its name
  (``config_<system>_<nodes>x<gpus>x<MINIBS>x<TP>x<PP>_mbs<MBS>.sh``) with the rest from the shipped configs
  of that implementation when they agree.
* gpt3, Intel-Habana (Megatron-DeepSpeed on Gaudi 2): the ``run_gpt.sh`` command line of the benchmark README
  (v3.1 ``Intel-HabanaLabs/benchmarks/README.md``, v4.0 ``Intel-HabanaLabs/benchmarks/gpt3/README.md``) for the
  row's node count, with ``run_gpt.sh``'s defaults (TP 8, PP 8, micro-batch 1, ``SEQUENCE_PARALLEL=true``,
  ``ZERO_STAGE=0``, ``--checkpoint-activations-granularity=selective`` unless
  ``--use-fused-sdpa-with-recompute true``; FP8 with ``--use-fp8-transformer-engine``).
* llama2_70b_lora, DeepSpeed submissions (JuniperNetworks v4.0 ``.../implementations/pytorch/run/
  run_single_node.sh``, ``run.sub``, ``configs/ds_lora_config.json``; Intel-Habana v4.0
  ``benchmarks/llm_finetune/run_llama_70B_fp8_submission.sh`` (the one its README runs),
  ``configs/ds_zero3.json``): HuggingFace + PEFT under DeepSpeed ZeRO stage 3, one sequence per GPU,
  no gradient accumulation, ``--use_gradient_checkpointing True`` (every decoder layer: full recompute),
  no tensor / pipeline / context parallelism; BF16 (Juniper), FP8 (Habana ``--fp8``).

Usage: python data/validation/derive/mlperf_stated_layouts.py <mirror dir of training_results_vX.Y> ...
rewrites data/validation/training_runs.csv in place, reading each mirror at its pinned commit (pinned_mirrors.py
``COMMITS``, named in the ``source_locator`` of the rows filled).
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import PurePosixPath

from _mlperf_common import (
    RESULT_SOURCE,
    impl_folder,
    is_true,
    logged_fp8_model_init,
    mlperf_rows,
    nemo_conf_paths,
    parse_config,
    result_files,
)
from mlperf_lora_layout import fill as fill_lora
from mlperf_lora_layout import layout as lora_layout
from pinned_mirrors import Mirror, open_mirrors, stamp_locator
from runs_table import read_runs, set_note, write_runs

_NAME = re.compile(r"config_\w+?_(\d+)x(\d+)x(\d+)x(\d+)x(\d+)(?:_mbs(\d+))?")
_NOTE = "data/validation/derive/mlperf_stated_layouts.py"


def nemo_yaml_settings(mirror: Mirror, config: str, env: dict[str, str], conf_of: str = "") -> dict[str, str]:
    """fp8_params / optimizer of the NeMo yaml of a config's implementation (``conf/*.yaml``; that of launch config
    ``conf_of`` where given: :func:`same_build_settings`), resolved against the config's environment:
    ``fp8_params: ${oc.decode:${oc.env:VAR,default}}``, ``optim: name:``.
    A yaml without an ``fp8_params`` key (the 25.09 NeMo LoRA code of MLPerf v5.1, whose ``fp8_param_gather`` is
    only Megatron-Core's per-layer ``fp8_param``) takes the weights' precision from how the implementation builds
    the model (:func:`model_init_fp8`)."""
    out: dict[str, str] = {}
    fp8_flag = ""  # the yaml's model.fp8, resolved (model_init_fp8 reads it)
    conf_paths = nemo_conf_paths(mirror, conf_of or config)
    for path in conf_paths:  # configs + run.sub only (Lenovo v4.1): NVIDIA's conf of that config
        if not re.search(r"/conf/(custom|megatron_gpt_\w+)\.yaml$", path):
            continue
        text = mirror.show(path)
        m = re.search(r"^\s*fp8_params:\s*\$\{oc\.decode:\$\{oc\.env:(\w+),(\w+)\}\}", text, re.M)
        if m:
            out["fp8_params"] = "yes" if is_true(env.get(m.group(1), m.group(2))) else "no"
            out["fp8_params_from"] = f"{path} (fp8_params: ${{oc.env:{m.group(1)},{m.group(2)}}})"
        m = re.search(r"^\s*fp8:\s*\$\{oc\.decode:\$\{oc\.env:(\w+),(\w+)\}\}", text, re.M)
        if m and not fp8_flag:
            fp8_flag = f"{m.group(1)}={env.get(m.group(1), m.group(2) + ' (default)')}"
        m = re.search(r"^\s*optim:\s*\n\s*name:\s*(\w+)", text, re.M)
        if m:
            out["optim"] = m.group(1)
        # v5.0 NVIDIA: the optim block names no optimizer, it states
        # ``use_distributed_optimizer: ${oc.decode:${oc.env:USE_DISTRIBUTED_OPTIMIZER,True}}``
        m = re.search(r"^optim:\s*\n(?:\s+.*\n)*?\s+use_distributed_optimizer:\s*"
                      r"\$\{oc\.decode:\$\{oc\.env:(\w+),(\w+)\}\}", text, re.M)
        if m and "optim" not in out and is_true(env.get(m.group(1), m.group(2))):
            out["optim"] = f"use_distributed_optimizer ({m.group(1)} default {m.group(2)})"
    if "fp8_params" not in out:
        out.update(model_init_fp8(mirror, conf_paths, fp8_flag))
    return out


_BUILD = re.compile(r"^(?:\S+ )?:::(DLPAL|GITCOMMITID) ([^\s$'\"]+)", re.M)


def logged_build(mirror: Mirror, folder: str) -> tuple[str, str] | None:
    """(container image, git commit) every ``result_*.txt`` of results folder ``folder`` prints alike in its
    ``:::DLPAL <image> ...`` and ``:::GITCOMMITID <commit>`` lines (NVIDIA's run.sub prints both before the job), or
    None where a file prints none, more than one, or an unexpanded ``${...}``."""
    found = set()
    for path in result_files(mirror, folder):
        pairs: dict[str, set[str]] = {"DLPAL": set(), "GITCOMMITID": set()}
        for key, value in _BUILD.findall(mirror.show(path)):
            pairs[key].add(value)
        if any(len(v) != 1 for v in pairs.values()):
            return None
        found.add((pairs["DLPAL"].pop(), pairs["GITCOMMITID"].pop()))
    return found.pop() if len(found) == 1 else None


def same_build_settings(mirror: Mirror, row: dict[str, str], rows: list[dict[str, str]], config: str,
                        env: dict[str, str]) -> dict[str, str]:
    """fp8_params / optimizer of a row whose implementation has no NeMo ``conf/`` (its own or NVIDIA's twin of its
    launch config ``config``, environment ``env``), from the results of its submitter and benchmark in the same
    mirror whose result files print the same container image and git commit as the row's (:func:`logged_build`):
    the same code, so their yaml is the one the row ran, resolved against the row's own environment (Oracle v5.0
    1 x GB200 / 8 x B200 LoRA; s20-G). {} where there is no such result or their yamls resolve differently."""
    own = RESULT_SOURCE.search(row["source"])
    if not own or not (build := logged_build(mirror, f"{own.group(2)}/results/{own.group(3)}/{own.group(4)}")):
        return {}
    twins: dict[str, dict[str, str]] = {}
    for other in rows:
        found = RESULT_SOURCE.search(other["source"])
        named = re.search(r"from the launch config training_results_v[\d.]+/(\S+\.sh)", other["derived"])
        if (other is row or not found or not named or found.group(1) != own.group(1)
                or found.group(2, 4) != own.group(2, 4) or not nemo_conf_paths(mirror, named.group(1))):
            continue
        folder = f"{found.group(2)}/results/{found.group(3)}/{found.group(4)}"
        if logged_build(mirror, folder) == build:
            twins[folder] = nemo_yaml_settings(mirror, config, env, conf_of=named.group(1))
    resolved = {(s.get("fp8_params"), s.get("optim")) for s in twins.values()}
    if not twins or len(resolved) != 1 or None in next(iter(resolved)):
        return {}
    out = dict(next(iter(twins.values())))
    out["fp8_params_from"] = (f"{' and '.join(s['fp8_params_from'] for s in twins.values())}, the conf of the "
                              f"results {' and '.join(sorted(twins))}: no conf/ of its own and no NVIDIA twin of its "
                              f"config, its result_*.txt print the container {build[0]} and GITCOMMITID {build[1]} "
                              "as theirs do (the same code), resolved with its own config, confidence medium")
    return out


_CONFIGURE = re.compile(r"^    def configure_model\(self\):\n((?:        .*\n|\s*\n)*)", re.M)
_FP8_GUARD = re.compile(r"if not self\.custom_callback\.cfg\.model\.fp8:\s*\n\s*super\(\)\.configure_model\(\)\s*\n\s*return")


def model_init_fp8(mirror: Mirror, conf_paths: list[str], fp8_flag: str) -> dict[str, str]:
    """fp8_params of a NeMo llama2_70b_lora implementation from its ``custom_llama.py`` (beside the ``conf/`` folder
    of ``conf_paths``): ``CustomLlamaModel.configure_model`` builds the model inside TransformerEngine's
    ``te.fp8_model_init(...)``, whose modules hold only FP8 copies of their weights (TransformerEngine release_v2.8
    transformer_engine/pytorch/fp8.py ``fp8_model_init`` docstring: "LoRA-like fine-tuning, where the main parameters
    of the model do not change"); Megatron-Core's per-layer context (``get_fp8_context(is_init=True)``,
    25.09-alpha.rc1 megatron/core/fp8_utils.py) is a ``nullcontext`` where ``fp8_param`` is False and leaves the
    outer one in force. Unconditional in the v5.0 code (``with torch.no_grad(), te.fp8_model_init():``); the v5.1
    code returns before it where ``cfg.model.fp8`` is false (``fp8_flag``: the yaml's ``fp8`` variable resolved,
    ``FP8=True``). {} when there is no such file or call."""
    folders = sorted({p.rsplit("/conf/", 1)[0] for p in conf_paths if "/conf/" in p})
    path = f"{folders[0].removesuffix('/src')}/custom_llama.py" if folders else ""
    text = mirror.show(path) if path and path in mirror.ls(path) else ""
    body = _CONFIGURE.search(text)
    if not body or "fp8_model_init(" not in body.group(1):
        return {}
    line = text.count("\n", 0, body.start(1) + body.group(1).index("fp8_model_init(")) + 1
    if _FP8_GUARD.search(body.group(1)):
        held = bool(fp8_flag) and is_true(fp8_flag.split("=", 1)[1].removesuffix(" (default)"))
        when = f"when cfg.model.fp8 ({fp8_flag or 'no fp8 key'})"
    else:
        held, when = True, "unconditionally"
    return {"fp8_params": "yes" if held else "no",
            "fp8_params_from": f"{path} L{line} (CustomLlamaModel.configure_model builds the model under "
                               f"te.fp8_model_init {when}: FP8 weights; confidence high, the code run)"}


def nemo_gpt3_layout(env: dict[str, str]) -> dict[str, object] | None:
    """Layout of one NeMo gpt3 launch config (None when it lacks the parallel sizes)."""
    try:
        tp, pp = int(env["TENSOR_MODEL_PARALLEL"]), int(env["PIPELINE_MODEL_PARALLEL"])
        gpus = int(env["DGXNNODES"]) * int(env.get("DGXNGPU", "8"))
        minibs, mbs = int(env["MINIBS"]), int(env.get("MICRO_BATCH_SIZE", "1"))
        vpp = int(env.get("INTERLEAVED_PIPELINE", "12")) if pp > 1 else 1
    except (KeyError, ValueError):
        return None
    acg = env.get("ACT_CKPT_GRANULARITY", "null")
    return {"tp": tp, "pp": pp, "vpp": vpp, "mbs": mbs, "gpus": gpus, "gbs": minibs * gpus // (tp * pp),
            "sp": is_true(env.get("SEQ_PARALLEL", "True")), "acg": "" if acg in ("", "null", "None") else acg,
            "fp8": is_true(env.get("FP8", "False")),
            "zero": 1 if is_true(env.get("USE_DIST_OPTIMIZER", "False")) else 0}


_SHARED = ("sp", "acg", "fp8", "zero", "vpp")


def find_nemo_gpt3(mirror: Mirror, submitter: str, folder: str, gpus: int, gbs: int) -> tuple[str, dict[str, object]] | str:
    """(config, layout) of a NeMo gpt3 row, or why none was chosen. A submitter with no ``implementations/`` folder
    whose gpt3 code sits one level below ``benchmarks/gpt3/`` (Oracle v4.1: ``benchmarks/gpt3/DGXH100_<...>_mbs2/
    config_*.sh``, NVIDIA's NeMo launch configs copied; s20-A) is read there, by the same rules."""
    prefix = f"{submitter}/benchmarks/gpt3/implementations/"
    files = set(mirror.ls(prefix))
    if not files:
        prefix = f"{submitter}/benchmarks/gpt3/"
        files = set(mirror.ls(prefix))
    configs = sorted(f for f in files if re.fullmatch(re.escape(prefix) + r"[^/]+/config_[^/]+\.sh", f)
                     and not re.search(r"common|fp8|shared", PurePosixPath(f).name))
    layouts = {c: lay for c in configs if (lay := nemo_gpt3_layout(parse_config(mirror, c, files)))}
    fits = [(c, lay) for c, lay in layouts.items() if lay["gpus"] == gpus and lay["gbs"] == gbs]
    fits = [f for f in fits if f[0].startswith(prefix + folder + "/")] or fits
    if fits:
        keys = ("tp", "pp", "mbs", *_SHARED)
        if len({tuple(lay[k] for k in keys) for _, lay in fits}) > 1:
            return "configs disagree: " + "; ".join(PurePosixPath(c).name for c, _ in fits)
        return fits[0]
    for readme in sorted(f for f in files if PurePosixPath(f).name.startswith("README")):
        for name in re.findall(r"config_[\w.-]+\.sh", mirror.show(readme)):
            shipped = [(c, lay) for c, lay in layouts.items() if PurePosixPath(c).name == name and lay["gpus"] == gpus]
            if shipped and readme.startswith(prefix + folder + "/") and _minibs_overridable(mirror, shipped[0][0]):
                # the result's own README names a shipped config whose MINIBS is a default (${MINIBS:=n}): the run
                # set another one; its global batch (the row's, from the log) gives it
                lay = {**shipped[0][1], "gbs": gbs}
                return f"{shipped[0][0]} (named by {PurePosixPath(readme).name}; MINIBS overridden: global batch {gbs} from the log)", lay
            m = _NAME.match(name)
            if not m:
                continue
            nodes, per, minibs, tp, pp = (int(g) for g in m.groups()[:5])
            if nodes * per != gpus or minibs * gpus // (tp * pp) != gbs:
                continue
            here = [lay for c, lay in layouts.items() if PurePosixPath(c).parent == PurePosixPath(readme).parent]
            shared = {tuple(lay[k] for k in _SHARED) for lay in here}
            if len(shared) != 1:
                return f"{readme} names {name} (not shipped); the shipped configs disagree on {_SHARED}"
            lay = dict(zip(_SHARED, shared.pop(), strict=True))
            lay.update(tp=tp, pp=pp, mbs=int(m.group(6) or 1), gpus=gpus, gbs=gbs)
            return f"{readme} -> {name} (named, not shipped; vpp/sp/recompute/fp8 from the shipped configs)", lay
    return f"no config of {prefix}* with {gpus} GPUs and global batch {gbs}"


def _minibs_overridable(mirror: Mirror, config: str) -> bool:
    return bool(re.search(r"MINIBS=\"?\$\{MINIBS:=", mirror.show(config)))


def _flag(args: list[str], name: str, default: str) -> str:
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else default


def find_habana_gpt3(mirror: Mirror, version: str, gpus: int) -> tuple[str, dict[str, object]] | str:
    """(README, layout) of an Intel-Habana gpt3 row from the run_gpt.sh command its README gives."""
    readme = "Intel-HabanaLabs/benchmarks/README.md" if version == "v3.1" else "Intel-HabanaLabs/benchmarks/gpt3/README.md"
    text = mirror.show(readme).replace("\\\n", " ")
    for line in text.splitlines():
        if "run_gpt.sh" not in line or "--num-nodes" not in line:
            continue
        args = shlex.split(line.strip().strip("`"))
        if int(_flag(args, "--num-nodes", "0")) * 8 != gpus:
            continue
        tp = int(_flag(args, "--tensor-model-parallel-size", "8"))
        pp = int(_flag(args, "--pipeline-model-parallel-size", "8"))
        fused_recompute = is_true(_flag(args, "--use-fused-sdpa-with-recompute", "false"))
        lay: dict[str, object] = {"tp": tp, "pp": pp, "vpp": 1, "mbs": int(_flag(args, "--micro-batch-size", "1")),
                                  "dp": int(_flag(args, "--data-parallel-size", "1")), "sp": True,
                                  "acg": "" if fused_recompute else "selective", "zero": 0,
                                  "fp8": "--use-fp8-transformer-engine" in args, "gpus": gpus}
        return f"{readme} (run_gpt.sh --num-nodes {gpus // 8})", lay
    return f"no run_gpt.sh command for {gpus // 8} nodes in {readme}"


#: The DeepSpeed llama2_70b_lora launches (see the module docstring): file read, FP8, DeepSpeed config.
_DEEPSPEED_LORA = {
    "JuniperNetworks": ("JuniperNetworks/benchmarks/llama2_70b_lora/implementations/pytorch/run/run_single_node.sh, "
                        "run/run.sub, configs/ds_lora_config.json (zero_optimization.stage 3, overlap_comm true)", False,
                        "JuniperNetworks/benchmarks/llama2_70b_lora/implementations/pytorch/configs/ds_lora_config.json"),
    "Intel-HabanaLabs": ("Intel-HabanaLabs/benchmarks/llm_finetune/run_llama_70B_fp8_submission.sh (--fp8), "
                         "configs/ds_zero3.json (zero_optimization.stage 3, overlap_comm false)", True,
                         "Intel-HabanaLabs/benchmarks/llm_finetune/configs/ds_zero3.json"),
}


def _overlap_comm(mirror: Mirror, config: str) -> str:
    """``zero_optimization.overlap_comm`` of a DeepSpeed JSON config ("true" / "false"); unset = true for stage 3
    (microsoft/DeepSpeed deepspeed/runtime/zero/config.py: overlap_comm defaults to stage == 3)."""
    zero = json.loads(mirror.show(config)).get("zero_optimization", {})
    value = zero.get("overlap_comm", zero.get("stage") == 3)
    return "true" if value is True or str(value).lower() == "true" else "false"


def fill(row: dict[str, str], version: str, where: str, lay: dict[str, object], zero_text: str, suffix: str = "") -> None:
    gpus = int(row["num_accels"])
    tp, pp = int(lay["tp"]), int(lay["pp"])  # type: ignore[call-overload]
    row.update(tp=str(tp), pp=str(pp), cp="1", dp=str(gpus // (tp * pp)), vpp=str(lay["vpp"]),
               sp="yes" if lay["sp"] and tp > 1 else "no", micro_batch=str(lay["mbs"]),
               act_recompute=str(lay["acg"]) or "none", fsdp_zero=zero_text)
    row["precision"] = ("FP8 (stated in the launch code)" if lay["fp8"] else "BF16 (no FP8 flag in the launch code)")
    note = (f"tp/pp/cp/dp/vpp/sp/micro_batch/act_recompute/fsdp_zero/precision from training_results_{version}/{where}, "
            f"{_NOTE}{suffix}")
    row["derived"] = set_note(row["derived"], r"tp/pp/cp/dp/vpp/sp/micro_batch/act_recompute/fsdp_zero.*?"
                              r"mlperf_stated_layouts\.py( \(fp8_params from [^;]*\))?", note)


def _note(row: dict[str, str], note: str) -> None:
    row["derived"] = set_note(row["derived"], r"tp_comm_overlap .*?mlperf_stated_layouts\.py", f"{note}, {_NOTE}")


def find_lora_outside_implementations(mirror: Mirror, submitter: str, row: dict[str, str]) -> tuple[str, dict[str, object]] | str:
    """A NeMo llama2_70b_lora config of a submitter that ships its code outside ``implementations/`` (Oracle v4.1:
    ``Oracle/benchmarks/llama2_70b_lora/BM.GPU.H100.<n>/configs/config_*.sh``), matched on GPU count and global
    batch as data/validation/derive/mlperf_lora_layout.py does; folders named ``.<GPU count>`` first."""
    prefix = f"{submitter}/benchmarks/llama2_70b_lora/"
    files = set(mirror.ls(prefix))
    configs = sorted(f for f in files if re.search(r"/configs/config_[^/]+\.sh$", f) and "/implementations/" not in f
                     and "common" not in f and "/config.bak/" not in f)
    gpus, gbs = int(row["num_accels"]), int(row["global_batch_seqs"])
    fits = [(c, lay) for c in configs if (lay := lora_layout(parse_config(mirror, c, files)))
            and lay["gpus"] == gpus and lay["gbs"] == gbs]
    fits = [f for f in fits if re.search(rf"\.{gpus}/configs/", f[0])] or fits
    keys = ("tp", "pp", "cp", "sp", "mbs", "fp8", "fp8_dpa", "acg")
    if not fits or len({tuple(lay[k] for k in keys) for _, lay in fits}) > 1:
        return f"no single layout among {prefix}*/configs/config_*.sh for {gpus} GPUs and global batch {gbs}"
    return fits[0]


def nemo_lora_settings(row: dict[str, str], mirror: Mirror, version: str, rows: list[dict[str, str]]) -> None:
    """tp_comm_overlap, fp8_params and the optimizer of a NeMo llama2_70b_lora row whose launch config is named
    in ``derived`` (by data/validation/derive/mlperf_lora_layout.py or :func:`find_lora_outside_implementations`);
    ``rows``: the table, for :func:`same_build_config`."""
    config = re.search(r"from the launch config training_results_v[\d.]+/(\S+\.sh)", row["derived"])
    if not config:
        return
    path = config.group(1)
    env = parse_config(mirror, path, set(mirror.ls(impl_folder(path))))
    row["tp_comm_overlap"] = "yes" if is_true(env.get("TP_COMM_OVERLAP", "False")) else "no"
    yaml = nemo_yaml_settings(mirror, path, env)
    found = RESULT_SOURCE.search(row["source"])
    if "fp8_params" not in yaml and found and (logged := logged_fp8_model_init(
            mirror, f"{found.group(2)}/results/{found.group(3)}/{found.group(4)}")):
        yaml.update(fp8_params="yes", fp8_params_from=logged)  # no conf/ of its own: what its logs show it ran
    elif "fp8_params" not in yaml and (twin := same_build_settings(mirror, row, rows, path, env)):
        yaml = twin
    row["fp8_params"] = yaml.get("fp8_params", "")
    if yaml.get("optim") == "fused_adam":  # not distributed_fused_adam: no sharding over data parallel
        row["fsdp_zero"] = "ZeRO-0 (optim fused_adam, not the distributed optimizer)"
    elif "distributed" in yaml.get("optim", ""):  # optimizer state sharded, the (frozen) weights not
        row["fsdp_zero"] = f"distributed optimizer (optim {yaml['optim']})"
    row["source_locator"] = stamp_locator(row["source_locator"], mirror)
    _note(row, f"tp_comm_overlap / fp8_params / fsdp_zero from TP_COMM_OVERLAP and FP8 of training_results_{version}/{path} "
               f"(after configs/config_common.sh; unset = False) and {yaml.get('fp8_params_from', '-')}, "
               f"optim {yaml.get('optim', '-')}")
    print(f"{row['run_id']}: tp{row['tp']} cp{row['cp']} tp_comm_overlap {row['tp_comm_overlap']} "
          f"fp8_params {row['fp8_params']} optim {yaml.get('optim')}")


def main(mirrors: list[str]) -> None:
    repos = open_mirrors(mirrors)
    fields, rows = read_runs(["tp_comm_overlap", "fp8_params"])
    for row, match in mlperf_rows(repos, rows, RESULT_SOURCE):
        version, submitter, folder, bench = match.groups()
        mirror, gpus = repos[version], int(row["num_accels"])
        found: tuple[str, dict[str, object]] | str
        if bench == "gpt3" and submitter == "Intel-HabanaLabs":
            found = find_habana_gpt3(mirror, version, gpus)
            zero = "ZeRO-0 (DeepSpeed zero_optimization.stage 0, run_gpt.sh ZERO_STAGE=0)"
        elif bench == "gpt3":
            found = find_nemo_gpt3(mirror, submitter, folder, gpus, int(row["global_batch_seqs"]))
            zero = "distributed optimizer (USE_DIST_OPTIMIZER=True)"
        elif submitter in _DEEPSPEED_LORA:
            where, fp8, ds_config = _DEEPSPEED_LORA[submitter]
            found = (where, {"tp": 1, "pp": 1, "vpp": 1, "mbs": 1, "sp": False, "fp8": fp8,
                             "acg": "full (--use_gradient_checkpointing True: every decoder layer)"})
            zero = f"ZeRO-3 (DeepSpeed zero_optimization.stage 3, overlap_comm {_overlap_comm(mirror, ds_config)})"
            if "huggingface" not in row["framework"].lower():
                row["framework"] += "; HuggingFace Transformers / PEFT under DeepSpeed ZeRO-3"
        else:
            if not row["tp"] and isinstance(lora := find_lora_outside_implementations(mirror, submitter, row), tuple):
                fill_lora(row, version, *lora)
            nemo_lora_settings(row, mirror, version, rows)
            continue
        if isinstance(found, str):
            print(f"{row['run_id']}: left as is ({found})")
            continue
        suffix = ""
        if bench == "gpt3" and submitter != "Intel-HabanaLabs":
            config = found[0].split(" ")[0]
            env = parse_config(mirror, config, set(mirror.ls(impl_folder(config)))
                               ) if config.endswith(".sh") else {}
            yaml = nemo_yaml_settings(mirror, config, env)
            if nemo_conf_paths(mirror, config):
                row["fp8_params"] = yaml.get("fp8_params", "no")
                suffix = f" (fp8_params from {yaml.get('fp8_params_from', 'no fp8_params key in conf/*.yaml')})"
            elif "FP8_PARAMS" in env:  # Oracle v4.1: launch configs and run.sub only, the yaml is the container's
                row["fp8_params"] = "yes" if is_true(env["FP8_PARAMS"]) else "no"
                # no ";" in the note: fill's set_note pattern ends this suffix at the first one (idempotence)
                suffix = (f" (fp8_params from FP8_PARAMS={env['FP8_PARAMS']} of the config, after config_common.sh, no "
                          "conf/ shipped: NVIDIA's gpt3 conf/custom.yaml reads it as fp8_params: "
                          "${oc.decode:${oc.env:FP8_PARAMS,False}}, training_results_v4.1 NVIDIA/benchmarks/gpt3/"
                          "implementations/eos_n64_ngc24.09_nemo/conf/custom.yaml L82, confidence medium)")
        fill(row, version, found[0], found[1], zero, suffix)
        row["source_locator"] = stamp_locator(row["source_locator"], mirror)
        print(f"{row['run_id']}: tp{row['tp']} pp{row['pp']} vpp{row['vpp']} dp{row['dp']} mb{row['micro_batch']} "
              f"sp {row['sp']} recompute {row['act_recompute'][:10]} {row['precision'][:4]} <- {found[0][:90]}")
    write_runs(fields, rows)


if __name__ == "__main__":
    main(sys.argv[1:])
