"""Fill the parallel layout of the MLPerf Training llama2_70b_lora rows from the submitters' launch configs.

Source: github.com/mlcommons/training_results_v4.0 / _v4.1,
``<submitter>/benchmarks/llama2_70b_lora/implementations/<impl>/[configs/]config_*.sh`` (``benchmark/`` for
GigaComputing and Quanta_Cloud_Technology, whose folders are named so, ``benchmarks/ft-llm/`` for ASUSTeK v4.0;
NeMo-based submissions: NVIDIA's reference implementation and its derivatives). Each config exports ``TP``, ``PP``,
``CP``, ``SP``, ``MBS`` (micro-batch), ``MINIBS`` (sequences per data-parallel rank per step),
``DGXNNODES`` x ``DGXNGPU`` (GPUs), ``FP8`` / ``FP8_DPA`` (FP8 GEMMs / FP8 dot-product attention) and,
where set, ``ACG`` (activation-checkpoint granularity; unset = no recomputation, the NeMo yaml's
``activations_checkpoint_granularity: ${oc.env:ACG,null}``) with ``ACM`` / ``ACL`` (the checkpoint method and
layer count, written into ``act_recompute`` where set: AMD v5.0 MI300X ``ACM=block ACL=21``); a config sources its ``config_common.sh``
first and the last assignment wins.

Which config a result used: the implementation folder's README names it where the submitter wrote one
(NVIDIA v4.0: ``README-eos_n8_ngc24.04_nemo.md`` -> ``config_DGXH100_8x8x1xtp4pp1cp2.sh``); otherwise
every config of the submitter's llama2_70b_lora implementations (the folder named like the result
folder first; among several, those named after the result's system) whose GPU count and global batch (``MINIBS x GPUs / (TP x PP x CP)``) match the row and
which names no other accelerator; the row is filled only when all of them state one layout. Rows of
submitters with no NeMo-style config (DeepSpeed, Habana, or no implementation published) stay as they
are.

Rules added in s20-A (issue 10), each where the files decide it:

* The result's own implementation folder is the one named like the result folder, or the one whose name the result
  folder extends by a ``.<suffix>``: University of Florida v5.1 files ``results/hpg.dgxb200x8.n8`` under
  ``implementations/hpg.dgxb200x8`` (its ``run_8n.sub`` sources ``config_DGXB200_8x8x1xtp1pp1cp8.sh``); the same
  file name in ``b200_nemo`` is another folder's.
* Accelerators a config may name (``_ACCELS``) include GB300, B300, MI350X and MI355X (v5.1: GigaComputing's and
  Dell's AMD configs, NVIDIA's GB300 / B300 configs copied into B200 / H200 submitters' folders).
* A config whose file name names another system of the submitter (``<submitter>/systems/<name>.json``, the node
  count ``Nx`` dropped) that this row's system name does not contain is that system's config, not this row's:
  Dell v5.1 ``config_XE9680x8H200-SXM-141GB_1x8x2xtp1pp1cp2.sh`` is the XE9680's, not the ``1xXE9680Lx8H200``'s
  (whose logs print TP2 CP1, mlperf_lora_logged_layout.py).
* Where the candidate configs agree on the layout (tp, pp, cp, sp, micro-batch, recompute) and differ only in
  ``FP8`` / ``FP8_DPA``, the layout is filled and ``precision`` is left as it is (the note says so).
* A sourced file a config's folder does not ship is read from the folder its ``README.md`` points to
  (``_mlperf_common.pointed_folder``: University of Florida's ``hpg.dgxb200x8`` -> ``b200_nemo``, whose
  ``config_common.sh`` sets TP / PP / SP / MBS / FP8 / FP8_DPA; the fill scripts after this one read that folder's
  NeMo ``conf/`` too).
* The run's printed config wins (s22-R): a config whose layout (tp, pp, cp, micro-batch, sp) the config every
  ``result_*.txt`` prints contradicts (``_mlperf_common.printed_layout_conflict``) is not the run's; the row is left
  to mlperf_lora_logged_layout.py. HPE v5.0 n2 / n4 24.09: the only 16- / 32-GPU configs of their size,
  ``config_XD670_{2,4}x8x4xtp4pp1cp2.sh`` (CP=2, MINIBS=4, LR=0.00036), against logs that print
  ``context_parallel_size: 1``, ``lr: 0.0005`` and "setting number of microbatches to constant 2" (TP4 CP1 DP4 / DP8).
* Not filled, the files leaving it open: the v5.0 rows whose submitter ships no config of their GPU count and
  global batch and whose logs print no NeMo config (Dell 2 x XE9680L H200 and 4 / 8 / 9 / 16 x XE9712 GB200,
  Supermicro AS-4126GS-NBR-LCC_N2: no config of that size in any v5.0 submitter's GB200 / B200 folders, NVIDIA's
  included; Dell's logs state only the global batch and ``gradient_accumulation_steps`` 1); HPE v5.0 n1 24.09 (its two
  configs, TP4 and TP2, disagree; its logs print TP2, mlperf_lora_logged_layout.py fills it).

Usage: python data/validation/derive/mlperf_lora_layout.py <mirror dir of training_results_vX.Y> ...
rewrites data/validation/training_runs.csv in place, reading each mirror at its pinned commit (pinned_mirrors.py
``COMMITS``, named in the ``source_locator`` of the rows filled).
"""

from __future__ import annotations

import re
import sys
from pathlib import PurePosixPath

from _mlperf_common import MLPERF_GROUPS, impl_folder, is_true, parse_config, printed_layout_conflict
from pinned_mirrors import Mirror, open_mirrors, stamp_locator
from runs_table import read_runs, set_note, write_runs

_SOURCE = re.compile(r"training_results_(v[\d.]+)\), (\S+?)/results/([^/]+)/llama2_70b_lora/result_\*\.txt")
_ACCELS = ("H100", "H200", "L40S", "B200", "GB200", "B300", "GB300", "A100", "MI300X", "MI325X", "MI350X", "MI355X")
_LAYOUT_KEYS = ("tp", "pp", "cp", "sp", "mbs", "acg", "acm", "acl")
_PRECISION_KEYS = ("fp8", "fp8_dpa")


def layout(env: dict[str, str]) -> dict[str, object] | None:
    """(tp, pp, cp, sp, mbs, minibs, gpus, fp8, fp8_dpa, acg) of a config, None when it lacks one."""
    try:
        tp, pp, cp = int(env.get("TP", "1")), int(env.get("PP", "1")), int(env.get("CP", "1"))
        gpus = int(env["DGXNNODES"]) * int(env.get("DGXNGPU", "8"))
        minibs, mbs = int(env["MINIBS"]), int(env.get("MBS", "1"))
    except (KeyError, ValueError):
        return None

    def truthy(key: str) -> bool:
        return is_true(env.get(key, "0"))

    return {"tp": tp, "pp": pp, "cp": cp, "sp": truthy("SP"), "mbs": mbs, "minibs": minibs, "gpus": gpus,
            "gbs": minibs * gpus // (tp * pp * cp), "fp8": truthy("FP8"), "fp8_dpa": truthy("FP8_DPA"),
            "acg": env.get("ACG", "") if env.get("ACG", "null") not in ("", "null", "None") else "",
            "acm": env.get("ACM", "") if env.get("ACM", "null") not in ("", "null", "None") else "",
            "acl": env.get("ACL", "") if env.get("ACL", "null") not in ("", "null", "None") else ""}


def _names_other_accel(path: str, accel: str) -> bool:
    """Whether the config's file name or its implementation folder (Supermicro v5.0 ``h200_nemo`` / ``b200_nemo``)
    names an accelerator other than ``accel``."""
    name = PurePosixPath(path).name.upper() + " " + PurePosixPath(impl_folder(path)).name.upper()
    return any(a in name for a in _ACCELS if a not in accel.upper())


def is_own_folder(impl: str, folder: str) -> bool:
    """Whether implementation folder ``impl`` (its name) is that of results folder ``folder``: the same name, or
    ``folder`` = ``impl`` + ``.<suffix>`` (University of Florida v5.1 ``hpg.dgxb200x8.n8`` -> ``hpg.dgxb200x8``)."""
    return folder == impl or folder.startswith(impl + ".")


def names_other_system(config: str, system: str, systems: list[str]) -> bool:
    """Whether the file name of ``config`` names a system of ``systems`` (the submitter's system file names; a
    leading node count ``Nx`` dropped, case ignored) that is not contained in this row's ``system`` name: Dell v5.1
    ``config_XE9680x8H200-SXM-141GB_*`` names the ``XE9680x8H200-SXM-141GB``, not ``1xXE9680Lx8H200-SXM-141GB``;
    ``config_AS-A126GS-TNBR_*`` does name Supermicro's ``AS-A126GS-TNBR_N1`` (contained in it)."""
    name, own = PurePosixPath(config).name.upper(), system.upper()
    for other in systems:
        bare = re.sub(r"^\d+X", "", other.upper())
        if len(bare) >= 6 and bare in name and bare not in own:
            return True
    return False


def find_config(mirror: Mirror, submitter: str, folder: str, row: dict[str, str]) -> tuple[str, dict[str, object]] | str:
    """(config path, layout) for a row, or the reason none was chosen; a layout whose candidates differed only in
    ``FP8`` / ``FP8_DPA`` carries ``precision_open`` = the configs (precision then left as is)."""
    # GigaComputing and Quanta_Cloud_Technology (v4.0, v4.1) ship their code under benchmark/; ASUSTeK v4.0 names
    # the implementation folder ft-llm (the benchmark's working name; its results are filed as llama2_70b_lora)
    # Lenovo v5.0 ships its configs and conf/ right under benchmarks/llama2_70b_lora/ (no implementations/ folder)
    for prefix in (*(f"{submitter}/{where}/implementations/" for where in
                     ("benchmarks/llama2_70b_lora", "benchmark/llama2_70b_lora", "benchmarks/ft-llm")),
                   f"{submitter}/benchmarks/llama2_70b_lora/"):
        files = set(mirror.ls(prefix))
        if not prefix.endswith("/implementations/"):  # only the files right under it (Oracle v4.1's subfolders: not)
            files = {f for f in files if "/" not in f[len(prefix):]}
        if files:
            break
    configs = sorted(f for f in files if re.search(r"/config_[^/]+\.sh$", f) and "common" not in PurePosixPath(f).name
                     and "/NeMo/" not in f and "/Megatron-LM/" not in f)
    named = []
    for readme in sorted(f for f in files if f.startswith(prefix + folder + "/") and PurePosixPath(f).name.startswith("README")):
        named += re.findall(r"(config_[\w.-]+\.sh)", mirror.show(readme))
    named = [n for n in named if "common" not in n]
    own = [c for c in configs if is_own_folder(PurePosixPath(impl_folder(c)).name, folder)]
    systems = [PurePosixPath(f).stem for f in mirror.ls(f"{submitter}/systems/") if f.endswith(".json")]
    gpus, gbs = int(row["num_accels"]), int(row["global_batch_seqs"])
    fits: list[tuple[str, dict[str, object]]] = []
    # a README may name a file not shipped, or (Oracle v5.0 64xBM.GPU.H200.8) one shipped for another system: the
    # named configs first, then the result's own folder, then every config, the first of these with a fit
    for chosen in ([c for c in configs if PurePosixPath(c).name in named], own, configs):
        for c in chosen:
            lay = layout(parse_config(mirror, c, files))
            if (lay and lay["gpus"] == gpus and lay["gbs"] == gbs and not _names_other_accel(c, row["accelerator_canonical"])
                    and not names_other_system(c, folder, systems)):
                fits.append((c, lay))
        if fits:
            break
    if not fits:
        return f"no config of {prefix}* with {gpus} GPUs and global batch {gbs}"
    stem = re.sub(r"-\d+$", "", folder).upper()  # SYS-821GE-TNHR-1 -> config_SYS-821GE-TNHR_1x8x4...
    bare = re.sub(r"^\d+X", "", stem)  # Dell v5.0 1xXE9680Lx8H200-SXM-141GB -> config_XE9680lx8H200-SXM-141GB_1x8x2...
    fits = ([f for f in fits if stem in PurePosixPath(f[0]).name.upper()]
            or [f for f in fits if bare in PurePosixPath(f[0]).name.upper()] or fits)
    if len({tuple(lay[k] for k in _LAYOUT_KEYS) for _, lay in fits}) > 1:
        keys = _LAYOUT_KEYS + _PRECISION_KEYS
        return "configs disagree: " + "; ".join(f"{PurePosixPath(c).name} {[lay[k] for k in keys]}" for c, lay in fits)
    own_fits = [f for f in fits if is_own_folder(PurePosixPath(impl_folder(f[0])).name, folder)]
    path, picked = (own_fits or fits)[0]
    if len({tuple(f[1][k] for k in _PRECISION_KEYS) for f in fits}) > 1:
        picked = {**picked, "precision_open": ", ".join(
            f"{PurePosixPath(impl_folder(c)).name}/{PurePosixPath(c).name} FP8={other['fp8']} FP8_DPA={other['fp8_dpa']}"
            for c, other in fits)}
    return path, picked


def recompute_text(lay: dict[str, object]) -> str:
    """The ``act_recompute`` cell of a layout: ACG (none when unset); with ACG=full and a method (``ACM`` uniform /
    block, ``ACL`` layers: the NeMo yaml's ``activations_checkpoint_method`` / ``_num_layers``), the method and
    count as archsweep.validation.cells.recompute_layers_of reads them ("full (block: 21 layers per pipeline
    stage; ACG=full ACM=block ACL=21)")."""
    acg, acm, acl = str(lay["acg"]), str(lay["acm"]), str(lay["acl"])
    if acg != "full" or not acm or not acl.isdigit():
        return acg or "none"
    per = "per pipeline stage" if acm == "block" else "per checkpointed unit"
    return f"full ({acm}: {acl} layers {per}; ACG=full ACM={acm} ACL={acl})"


def fill(row: dict[str, str], version: str, path: str, lay: dict[str, object]) -> None:
    dp = int(row["num_accels"]) // (int(lay["tp"]) * int(lay["pp"]) * int(lay["cp"]))  # type: ignore[call-overload]
    row.update(tp=str(lay["tp"]), pp=str(lay["pp"]), cp=str(lay["cp"]), dp=str(dp), sp="yes" if lay["sp"] else "no",
               micro_batch=str(lay["mbs"]), act_recompute=recompute_text(lay))
    if lay["fp8"] and "precision_open" not in lay:
        row["precision"] = ("FP8 (TransformerEngine hybrid recipe, FP8=True; "
                            + ("FP8 dot-product attention FP8_DPA=1)" if lay["fp8_dpa"] else "attention BF16, FP8_DPA=0)"))
    note = (f"tp/pp/cp/dp/sp/micro_batch/act_recompute/precision from the launch config "
            f"training_results_{version}/{path} (MINIBS={lay['minibs']} per data-parallel rank, MBS={lay['mbs']}; "
            "act_recompute none = ACG unset; dp = num_accels / (tp*pp*cp)"
            + (f"; precision left as is: the configs agree on the layout, not on FP8 ({lay['precision_open']})"
               if "precision_open" in lay else "")
            + "), data/validation/derive/mlperf_lora_layout.py")
    row["derived"] = set_note(row["derived"], r"tp/pp/cp/dp/sp/micro_batch.*?mlperf_lora_layout\.py", note)


def main(mirrors: list[str]) -> None:
    repos = open_mirrors(mirrors)
    fields, rows = read_runs()
    for row in rows:
        match = _SOURCE.search(row["source"])
        if row["source_group"] not in MLPERF_GROUPS or not match:
            continue
        version, submitter, folder = match.groups()
        if version not in repos:
            continue
        found = find_config(repos[version], submitter, folder, row)
        if isinstance(found, str):
            print(f"{row['run_id']}: left as is ({found})")
            continue
        path, lay = found
        conflict = printed_layout_conflict(repos[version], f"{submitter}/results/{folder}/llama2_70b_lora", {
            "tp": str(lay["tp"]), "pp": str(lay["pp"]), "cp": str(lay["cp"]), "micro_batch": str(lay["mbs"]),
            "sp": "yes" if lay["sp"] else "no"})
        if conflict:
            print(f"{row['run_id']}: left as is ({path} is not the run's config: its result files print {conflict}; "
                  "mlperf_lora_logged_layout.py reads them)")
            continue
        fill(row, version, path, lay)
        row["source_locator"] = stamp_locator(row["source_locator"], repos[version])
        print(f"{row['run_id']}: {found[0]} tp{row['tp']} pp{row['pp']} cp{row['cp']} dp{row['dp']} "
              f"mb{row['micro_batch']} {row['precision']}")
    write_runs(fields, rows)


if __name__ == "__main__":
    main(sys.argv[1:])
