"""Fill ``fp8_transpose_cached`` of the MLPerf Llama 2 70B LoRA rows held in FP8 (``fp8_params`` yes): whether the
FP8 transpose of each frozen base weight is kept across micro-batches (``yes``) or re-formed in every micro-batch
(``no``), as each row's own run decides (issue 10, s22-P).

Two readings decide it, at the results mirror's pinned commit (pinned_mirrors.py ``COMMITS``):

* the switch: Megatron-Core's ``disable_parameter_transpose_cache`` (True: the TE modules get
  ``is_first_microbatch=None``), as the run set it. NeMo 1.x code (every v4.0 / v4.1 implementation and the v5.0 /
  v5.1 ones built on NeMo 24.09) has it in ``conf/megatron_gpt_peft_tuning_config.yaml`` (``True`` in all of them);
  the NeMo 2 code of NVIDIA's v5.0 ``*_ngc25.04_nemo`` (``train.py`` L222) and v5.1 ``nemo`` (``train.py`` L336, the
  copies of Dell, Lenovo, Supermicro, ...) passes ``disable_parameter_transpose_cache=False`` to the model config;
* the TransformerEngine major version, from the container release: TransformerEngine v2.0 was tagged 2025-02-12
  (NVIDIA/TransformerEngine), so a 24.xx or 25.01 container holds TE 1.x and a 25.03 or later one TE 2.x (a 25.02
  container, released within the month of the tag, is not read from its release: the code generation decides, as
  without a release); the v5.1 NeMo 2 ``Dockerfile`` builds ``release_v2.8``.

Rule (the physics, read in NVIDIA/TransformerEngine): TE 2.x keeps an FP8 parameter's column-wise (transposed) copy
whatever ``is_first_microbatch`` (release_v2.8 module/linear.py L243-263: ``get_weight_workspace`` on a
``QuantizedTensor`` weight, module/base.py L1366-1376, calls ``update_usage(columnwise_usage=True)`` and "do[es]
not destroy unnecessary usages"; tensor/_internal/float8_tensor_base.py ``update_usage`` L191-229 creates the
transpose once on a TN-only part and nothing drops it for a frozen weight): ``yes`` whatever the switch. TE 1.x
with the switch True re-forms it every micro-batch (v1.6rc2 ``transpose_2d(cache=ctx.is_first_microbatch is not
None)`` in ``_Linear.backward``: data/validation/mlperf_eval_rules.yaml ``fp8_weights``; v1.10 forms it
transiently in the backward, linear.py L449; v1.11 refreshes a parameter's transpose buffer in every forward where
it has one, L966-972): ``no``; the switch False: ``yes``.

Where it is read, first match wins:

1. the run's own printed config: every ``result_*.txt`` of the row prints ``disable_parameter_transpose_cache:
   true|false`` (NeMo 1.x config dump) or ``disable_parameter_transpose_cache=True|False`` (NeMo 2
   ``TransformerConfig``), all alike, and the container release from its ``:::SYSJSON`` ``framework``;
2. the code of the implementation of the launch config the row's ``derived`` names: ``train.py``'s keyword, else
   the NeMo yaml key (``nemo_conf_paths``), and the container release from the implementation's ``Dockerfile``
   ``FROM_IMAGE_NAME`` (none named: the switch's reading, TE 1.x with the yaml, TE 2.x with a NeMo 2 ``train.py``).

Other rows stay empty: validation then applies the benchmark's default (mlperf_eval_rules.yaml ``fp8_weights``,
the TE 1.x reading). The printed config wins over the launch config's folder because some runs did not run the
folder's code: Dell v5.1 ``1xXE9680x8H200`` names a config of the NeMo 2 ``nemo`` folder but its logs print the
NeMo 1.x config dump (``disable_parameter_transpose_cache: true``) on "PyTorch NVIDIA Release 24.09".

Usage: python data/validation/derive/mlperf_fp8_transpose_cache.py <mirror dir of training_results_vX.Y> ...
rewrites data/validation/training_runs.csv in place (idempotent), naming the pinned commit in the
``source_locator`` of the rows filled.
"""

from __future__ import annotations

import re
import sys

from _mlperf_common import (
    RESULT_SOURCE,
    dockerfile_arg,
    fill_mlperf_rows,
    impl_folder,
    mllog_events,
    mlperf_source,
    nemo_conf_paths,
    printed_value,
    result_files,
)
from pinned_mirrors import Mirror

COLUMN = "fp8_transpose_cached"
_NOTE = "data/validation/derive/mlperf_fp8_transpose_cache.py"
#: the switch as a NeMo 1.x yaml / its printed dump (``key: value``) or a NeMo 2 keyword (``key=value``)
_SWITCH = re.compile(r"^(?:\s*\d+:)?\s*disable_parameter_transpose_cache\s*[:=]\s*(True|False|true|false)\b", re.M)
_FRAMEWORK = re.compile(r'"framework":\s*"[^"]*?Release (\d\d\.\d\d)')
_CONFIG = re.compile(r"training_results_v[\d.]+/(\S+?\.sh)")
_RELEASE = re.compile(r":(\d\d\.\d\d)")
#: TransformerEngine v2.0 (tagged 2025-02-12) is the first 2.x: containers of release 25.01 and earlier hold TE 1.x,
#: those of 25.03 on TE 2.x; 25.02 (the tag's month) is not decided by its release
TE1_LAST_RELEASE, TE2_FIRST_RELEASE = (25, 1), (25, 3)


def cached(switch: bool, te2: bool) -> str:
    """``yes`` / ``no``: TE 2.x keeps an FP8 parameter's transpose whatever the switch; TE 1.x keeps it only with
    ``disable_parameter_transpose_cache`` False."""
    return "yes" if te2 or not switch else "no"


def _te2(release: str | None, nemo2: bool) -> tuple[bool, str]:
    """(TE 2.x?, why) from a container release (``yy.mm``) or, without one or in the month TE v2.0 was tagged
    (after :data:`TE1_LAST_RELEASE`, before :data:`TE2_FIRST_RELEASE`), the code generation (``nemo2``)."""
    code = f"TE {'2' if nemo2 else '1'}.x with NeMo {'2' if nemo2 else '1.x'} code"
    if release is None:
        return nemo2, f"no container release named: {code}"
    year, month = (int(part) for part in release.split("."))
    if TE1_LAST_RELEASE < (year, month) < TE2_FIRST_RELEASE:
        return nemo2, f"container release {release}, the month TE v2.0 was tagged: {code}"
    te2 = (year, month) >= TE2_FIRST_RELEASE
    return te2, f"container release {year:02d}.xx: TE {'2' if te2 else '1'}.x"


def from_logs(mirror: Mirror, folder: str) -> tuple[str, str] | None:
    """(value, where) from the config every result file of ``folder`` prints, all alike
    (``_mlperf_common.printed_value``), and the container release they name; None otherwise."""
    found = printed_value(mirror, folder, "disable_parameter_transpose_cache")
    if found is None or found[0].lower() not in ("true", "false"):
        return None
    files = result_files(mirror, folder)
    releases = {m.group(1) if (m := _FRAMEWORK.search(mirror.show(name))) else None for name in files}
    if len(releases) != 1:
        return None
    switch_text, release = found[0].lower(), releases.pop()
    te2, why = _te2(release, switch_text == "false")
    return cached(switch_text == "true", te2), (f"{folder}/result_*.txt (all {len(files)} print "
                                                 f"disable_parameter_transpose_cache {switch_text}; {why})")


def from_code(mirror: Mirror, config: str) -> tuple[str, str] | None:
    """(value, where) from the implementation of launch config ``config``: ``train.py``'s keyword, else the NeMo
    yaml key; the container release from its Dockerfile. None where neither has the switch."""
    impl = impl_folder(config)
    here = set(mirror.ls(impl + "/", recursive=False))
    where = ""
    switch = None
    if f"{impl}/train.py" in here:
        switch, where = _SWITCH.search(mirror.show(f"{impl}/train.py")), f"{impl}/train.py"
    if switch is None:
        for path in sorted(p for p in nemo_conf_paths(mirror, config) if p.endswith(".yaml")):
            if (switch := _SWITCH.search(mirror.show(path))) is not None:
                where = path
                break
    if switch is None:
        return None
    nemo2 = where.endswith("train.py")
    release = _RELEASE.search(dockerfile_arg(mirror, impl, "FROM_IMAGE_NAME") or "")
    te2, why = _te2(release.group(1) if release else None, nemo2)
    line = mirror.show(where)[:switch.start(1)].count("\n") + 1
    return cached(switch.group(1).lower() == "true", te2), (f"{where} L{line} (disable_parameter_transpose_cache "
                                                            f"{switch.group(1)}; {why})")


def ran_elsewhere(mirror: Mirror, impl: str, folder: str) -> str | None:
    """Why the runs of results ``folder`` did not run implementation ``impl``'s code, or None (consistent, or not
    checkable): the ``init_start`` event of the first result file names its call site (``/workspace/ft-llm/<file>``,
    ``lineno``), which must be a line of ``impl``'s ``<file>`` that logs ``INIT_START``. A call site in an installed
    package (NeMo 2 code logs through ``mlperf_common``) is not checked."""
    files = result_files(mirror, folder)
    event = next((e for e in mllog_events(mirror.show(files[0])) if e.get("key") == "init_start"), None) if files else None
    site = (event or {}).get("metadata", {})
    name, lineno = str(site.get("file", "")), site.get("lineno")
    if not name.startswith("/workspace/ft-llm/") or not isinstance(lineno, int):
        return None
    path = f"{impl}/{name.removeprefix('/workspace/ft-llm/')}"
    if path not in set(mirror.ls(path)):
        return f"{folder}/result_*.txt log init_start at {name} L{lineno}; the implementation ships no {path}"
    lines = mirror.show(path).splitlines()
    if lineno <= len(lines) and re.search(r"INIT_START|init_start", lines[lineno - 1]):
        return None
    return (f"{folder}/result_*.txt log init_start at {name} L{lineno}, which {path} ({len(lines)} lines) does "
            "not: the runs did not run this implementation's code")


def derive_row(repos: dict[str, Mirror], row: dict[str, str]) -> tuple[str, str, str] | None:
    """(results version, value, where) of a llama2_70b_lora row with FP8 weights; None for other rows or where
    neither its logs nor its named implementation state the switch."""
    match = mlperf_source(repos, row, RESULT_SOURCE)
    if match is None or match.group(4) != "llama2_70b_lora" or row["fp8_params"] != "yes":
        return None
    mirror = repos[match.group(1)]
    folder = f"{match.group(2)}/results/{match.group(3)}/llama2_70b_lora"
    found = from_logs(mirror, folder)
    if found is None and (config := _CONFIG.search(row["derived"])) is not None:
        elsewhere = ran_elsewhere(mirror, impl_folder(config.group(1)), folder)
        if elsewhere is not None:
            print(f"{row['run_id']}: {COLUMN} left as is: {elsewhere}")
            return None
        found = from_code(mirror, config.group(1))
    return None if found is None else (match.group(1), *found)


def main(mirrors: list[str]) -> None:
    fill_mlperf_rows(mirrors, COLUMN, derive_row, _NOTE, 120)


if __name__ == "__main__":
    main(sys.argv[1:])
