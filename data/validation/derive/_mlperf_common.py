"""Helpers shared by the MLPerf Training derive scripts, reading a results mirror at its pinned commit
(pinned_mirrors.py ``Mirror``): a launch config's environment after the configs it sources (``parse_config``), its
implementation folder (``impl_folder``), the mllog event reader, the parts of a result row the row-adding scripts share
(``result_files``, ``last_eval_rate``, ``system_file``, ``canonical_accelerator``, ``result_source``,
``throughput_columns``: mlperf_lora_rows.py, mlperf_llama31_8b_rows.py; ``result_files`` also
mlperf_pair_steps.py, mlperf_steady_step.py), and the walk that fills one yes / no
column of the NeMo-based rows from the implementation of the launch config each row's ``derived`` names and the
first NeMo yaml key found there (``nemo_flag``: mlperf_fp8_act.py, mlperf_layer_cuda_graphs.py), and which rows a
script reads from the mirrors open (``mlperf_source`` per row, ``mlperf_rows`` over a table); and the one reader of
the config the result files print (``printed_pattern`` / ``printed_settings`` per file, ``printed_values`` /
``printed_each`` / ``printed_value`` over a results folder, all files alike: mlperf_lora_logged_layout.py,
mlperf_fp8_attention.py, mlperf_fp8_transpose_cache.py, ``printed_flag``, ``printed_layout_conflict``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath

from pinned_mirrors import Mirror, open_mirrors, stamp_locator
from runs_table import read_runs, set_note, write_runs

#: The source groups whose MLPerf rows the fill scripts complete: ``mlperf`` (fitted) and ``mlperf-forward`` (the
#: v5.0 results never fitted, a forward test: src/archsweep/validation/holdout.py FORWARD_TEST_GROUPS).
MLPERF_GROUPS: tuple[str, ...] = ("mlperf", "mlperf-forward")


def mlperf_source(repos: Mapping[str, Mirror], row: Mapping[str, str], source: re.Pattern[str]) -> re.Match[str] | None:
    """``source``'s match in the row's ``source`` (group 1: the results version, "v4.0") where the row is of
    :data:`MLPERF_GROUPS` and ``repos`` holds a mirror of that version, else None."""
    match = source.search(row["source"])
    return match if row["source_group"] in MLPERF_GROUPS and match and match.group(1) in repos else None


def mlperf_rows(repos: Mapping[str, Mirror], rows: list[dict[str, str]],
                source: re.Pattern[str]) -> Iterator[tuple[dict[str, str], re.Match[str]]]:
    """(row, its :func:`mlperf_source` match) of each of ``rows`` that has one, in order: the MLPerf rows a fill
    script reads from the mirrors open (mlperf_nemo_stack.py, mlperf_lora_logged_layout.py,
    mlperf_stated_layouts.py)."""
    for row in rows:
        if (match := mlperf_source(repos, row, source)) is not None:
            yield row, match


# The result files a gpt3 / llama2_70b_lora row of the ``mlperf`` group names in ``source``.
RESULT_SOURCE = re.compile(
    r"training_results_(v[\d.]+)\), (\S+?)/results/([^/]+)/(gpt3|llama2_70b_lora)/result_\*\.txt")
_CONFIG = re.compile(r"training_results_v[\d.]+/(\S+?\.sh)")
_ASSIGN = re.compile(r"^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=(\S*)")
_SOURCE_LINE = re.compile(r"^\s*(?:source|\.)\s+.*?([\w.-]*config_[\w.-]+\.sh)")


def _expand_value(raw: str, env: dict[str, str]) -> str:
    """A shell assignment's value: quotes stripped, ``${X:-default}`` / ``${X:=default}`` read from ``env``."""
    raw = raw.strip("\"'")
    m = re.fullmatch(r"\$\{(\w+):[-=]([^}]*)\}", raw)  # ${X:-default} and ${X:=default}
    return env.get(m.group(1), m.group(2)) if m else raw


def parse_config(mirror: Mirror, path: str, files: set[str], depth: int = 0,
                 resolve: Callable[[str], str | None] | None = None) -> dict[str, str]:
    """Environment a config of ``mirror`` exports, after the configs it sources (last assignment wins; three
    levels of ``source`` at most). A sourced file is looked for next to the config, in ``configs/`` below it and in
    the folder above, among ``files``; ``resolve`` (file name -> its path, or None: skipped), where given, finds
    the files this config sources instead (those files' own are found the default way, among their folder's)."""
    env: dict[str, str] = {}
    # one assignment per command: AMD v5.0 chains them (``export ACG=full && export ACM=block && export ACL=21``)
    for line in (c for raw in mirror.show(path).splitlines() for c in re.split(r"&&|;", raw.split("#", 1)[0])):
        src = _SOURCE_LINE.match(line)
        if src and depth < 3:
            name = PurePosixPath(src.group(1)).name
            if resolve is not None:
                found = resolve(name)
                if found is not None:
                    folder = set(mirror.ls(str(PurePosixPath(found).parent) + "/"))
                    env.update(parse_config(mirror, found, folder, depth + 1))
                continue
            here = PurePosixPath(path).parent
            for cand in (here / name, here / "configs" / name, here.parent / name):
                if str(cand) in files:
                    env.update(parse_config(mirror, str(cand), files, depth + 1))
                    break
            else:
                pointed = pointed_folder(mirror, impl_folder(path))
                there = set(mirror.ls(pointed + "/")) if pointed else set()
                if pointed and f"{pointed}/{name}" in there:
                    env.update(parse_config(mirror, f"{pointed}/{name}", there, depth + 1))
            continue
        m = _ASSIGN.match(line)
        if m:
            env[m.group(1)] = _expand_value(m.group(2), env)
    return env


_POINTER = re.compile(r"refer to the implementation directory \[[\w.-]+\]\(\.\./([\w.-]+)/?\)")


def pointed_folder(mirror: Mirror, impl: str) -> str | None:
    """The sibling implementation folder the ``README.md`` of implementation folder ``impl`` sends its reader to
    ("Please refer to the implementation directory [b200_nemo](../b200_nemo) for the details.": University of
    Florida v5.1 ``hpg.dgxb200x8``, whose launch configs source a ``config_common.sh`` and run a NeMo ``conf/`` it
    does not ship), or None. A launch config's sourced file missing from its own folder is read there
    (:func:`parse_config`), and so is the NeMo ``conf/`` (:func:`nemo_conf_paths`)."""
    readme = f"{impl}/README.md"
    if readme not in mirror.ls(readme):
        return None
    m = _POINTER.search(mirror.show(readme))
    return str(PurePosixPath(impl).parent / m.group(1)) if m else None


def impl_folder(config: str) -> str:
    """The implementation folder of a launch config (the folder above ``configs/``, else the config's own)."""
    parent = PurePosixPath(config).parent
    return str(parent.parent if parent.name == "configs" else parent)


def dockerfile_arg(mirror: Mirror, impl: str, name: str) -> str | None:
    """The default value of ``ARG <name>=<value>`` in implementation folder ``impl``'s ``Dockerfile`` (the base
    container ``FROM_IMAGE_NAME``, ``TE_REVISION``), or None without the file or the line."""
    path = f"{impl}/Dockerfile"
    if path not in set(mirror.ls(impl + "/", recursive=False)):
        return None
    m = re.search(rf"^\s*ARG\s+{re.escape(name)}=(\S+)", mirror.show(path), re.M)
    return m.group(1) if m else None


def is_true(text: str) -> bool:
    """Whether a config value reads as set (1 / true / yes, any case)."""
    return text.lower() in ("1", "true", "yes")


def mllog_events(text: str) -> list[dict]:
    """The ``:::MLLOG`` JSON records of a result file, in order (lines that do not parse are left out)."""
    out = []
    for line in text.splitlines():
        if ":::MLLOG" in line:
            try:
                out.append(json.loads(line.split(":::MLLOG", 1)[1]))
            except json.JSONDecodeError:
                continue
    return out


def logged_fp8_model_init(mirror: Mirror, folder: str) -> str | None:
    """Why the frozen weights of a NeMo llama2_70b_lora result are FP8, from its result files (``folder``: the
    results folder), or None. The NeMo 25.09 MLPerf code (NVIDIA v5.1 ``implementations/nemo``, whose yaml alone
    has ``pre_quantized_model``) builds the model under ``te.fp8_model_init`` only where ``cfg.model.fp8`` is true and
    logs the tracked stat ``before_model_init`` only on that path (``custom_llama.py``
    ``CustomLlamaModel.configure_model``): every result file printing ``pre_quantized_model``, ``fp8: true``
    (:func:`printed_settings`) and that stat ran it (its printed ``fp8_param_gather: 0`` / ``fp8_param=False`` is Megatron-Core's per-layer
    context, a ``nullcontext`` inside the outer one). Results of other code: None."""
    files = result_files(mirror, folder)
    texts = [mirror.show(f) for f in files]
    if not texts or not all("pre_quantized_model:" in t and '"before_model_init"' in t
                            and is_true(printed_settings(t, ("fp8",)).get("fp8", "")) for t in texts):
        return None
    return (f"{folder}/result_*.txt (all {len(texts)}: NeMo 25.09 code (pre_quantized_model printed), fp8 true, "
            "tracked_stats before_model_init: CustomLlamaModel.configure_model under te.fp8_model_init, "
            "NVIDIA/benchmarks/llama2_70b_lora/implementations/nemo/custom_llama.py L99; confidence medium, "
            "the code inferred from its log)")


#: (substring of a system file's ``accelerator_model_name``, the validation set's canonical name), first match wins.
_CANONICAL = (("GB300", "GB300"), ("B300", "B300"), ("GB200", "GB200"), ("B200", "B200"), ("H200-NVL", "H200-NVL"), ("H200", "H200"),
              ("H100", "H100-SXM"), ("MI325X", "MI325X"), ("MI300X", "MI300X"))


def result_files(mirror: Mirror, folder: str) -> list[str]:
    """The ``result_<n>.txt`` files of a results folder of ``mirror`` (at its pinned commit), in git's order."""
    return [n for n in mirror.ls(folder.rstrip("/") + "/", recursive=False) if re.search(r"result_\d+\.txt$", n)]


def last_eval_rate(events: list[dict], seq: int) -> float | None:
    """Tokens/s of one result file from ``run_start`` to its last evaluation with a ``samples_count``
    (samples x ``seq`` / elapsed wall clock, evaluations and warm-up included); None without either marker."""
    t0 = next((e["time_ms"] for e in events if e.get("key") == "run_start"), None)
    evals = [e for e in events if e.get("key") == "eval_accuracy" and e.get("metadata", {}).get("samples_count")]
    if t0 is None or not evals:
        return None
    return evals[-1]["metadata"]["samples_count"] * seq / ((evals[-1]["time_ms"] - t0) / 1000.0)


def system_file(mirror: Mirror, submitter: str, system: str) -> tuple[dict, int]:
    """(``<submitter>/systems/<system>.json`` of ``mirror``, its GPUs = ``number_of_nodes`` x
    ``accelerators_per_node``)."""
    sysj = json.loads(mirror.show(f"{submitter}/systems/{system}.json"))
    return sysj, int(sysj["number_of_nodes"]) * int(sysj["accelerators_per_node"])


def system_cell(sysj: dict, networking: bool = True) -> str:
    """The ``system`` cell of a row from its system file: name, nodes, accelerator interconnect and (``networking``)
    host networking; a field the file lacks is left empty."""
    cell = f"{sysj['system_name']}; nodes={sysj['number_of_nodes']}; {sysj.get('accelerator_interconnect', '')}"
    return f"{cell}; net: {sysj.get('host_networking', '')}" if networking else cell


def canonical_accelerator(name: str) -> str:
    """The validation set's name of a system file's ``accelerator_model_name`` (itself when not known)."""
    return next((c for key, c in _CANONICAL if key in name), name)


def result_source(version: str, folder: str, submitter: str, system: str) -> str:
    """The ``source`` cell of a row read from the result files of ``folder`` and its system file."""
    return (f"MLCommons MLPerf Training {version} results (github.com/mlcommons/training_results_{version}), "
            f"{folder}/result_*.txt + {submitter}/systems/{system}.json")


def throughput_columns(total: float, gpus: int, gbs: int, seq: int) -> dict[str, str]:
    """tokens_per_s_per_gpu, tokens_per_s_total and step_time_s (= GBS x seq / total) of ``total`` tokens/s."""
    return {"tokens_per_s_per_gpu": f"{total / gpus:.1f}", "tokens_per_s_total": f"{total:.0f}",
            "step_time_s": f"{gbs * seq / total:.4g}"}


def nemo_conf_paths(mirror: Mirror, config: str) -> list[str]:
    """The files under the ``conf/`` folder of the implementation of launch config ``config`` of ``mirror``. An implementation that ships only ``configs/`` + ``run.sub`` (Lenovo v4.1 llama2_70b_lora: its
    ``run.sub`` runs ``${CONT}``, NVIDIA's container) takes the ``conf/`` of the NVIDIA implementation that
    ships a launch config of the same file name (``h200_ngc24.09_nemo`` for ``config_DGXH200_1x8x2xtp1pp1cp2.sh``);
    [] when there is none."""
    paths = mirror.ls(impl_folder(config) + "/conf/") or mirror.ls(impl_folder(config) + "/src/conf/")  # AMD v5.0: src/conf/
    if paths:
        return paths
    pointed = pointed_folder(mirror, impl_folder(config))  # University of Florida v5.1 hpg.dgxb200x8 -> b200_nemo
    if pointed and (paths := mirror.ls(pointed + "/conf/")):
        return paths
    name = PurePosixPath(config).name
    nvidia = [p for p in mirror.ls("NVIDIA/benchmarks/llama2_70b_lora/") if PurePosixPath(p).name == name]
    return mirror.ls(impl_folder(sorted(nvidia)[0]) + "/conf/") if nvidia else []


def nemo_yamls(mirror: Mirror, config: str) -> tuple[str, list[str], dict[str, str]] | None:
    """(implementation folder, its NeMo ``conf/custom.yaml`` / ``conf/megatron_gpt_*.yaml`` paths (with the
    fallback of :func:`nemo_conf_paths`), the launch config's environment, read in the implementation's own
    folder) of the launch config ``config`` of ``mirror``; None when there is no NeMo yaml (not a NeMo
    implementation). Where the yamls are those of the folder the implementation's README points to
    (:func:`pointed_folder`), that folder is the one named."""
    impl = impl_folder(config)
    files = set(mirror.ls(impl))
    yamls = sorted(f for f in nemo_conf_paths(mirror, config) if re.search(r"/conf/(custom|megatron_gpt_\w+)\.yaml$", f))
    if not yamls:
        return None
    env = parse_config(mirror, config, files)
    pointed = pointed_folder(mirror, impl)
    return (pointed if pointed and yamls[0].startswith(pointed + "/") else impl), yamls, env


def nemo_key(mirror: Mirror, config: str, key: re.Pattern[str]) -> tuple[str, dict[str, str], str, re.Match[str] | None] | None:
    """(implementation folder, launch config environment, yaml path, match) of the first NeMo yaml of the
    launch config's implementation (in path order) where ``key`` matches; path "" and match None when none
    does; None when the implementation has no NeMo yaml (:func:`nemo_yamls`)."""
    found = nemo_yamls(mirror, config)
    if found is None:
        return None
    impl, yamls, env = found
    for path in yamls:
        m = key.search(mirror.show(path))
        if m:
            return impl, env, path, m
    return impl, env, "", None


def nemo_value(m: re.Match[str], env: Mapping[str, str]) -> str:
    """The value a NeMo yaml key resolves to under a launch config's environment ``env``: ``m``'s group ``literal``
    where it matched a plain value, else ``env``'s ``ENV`` else ``DEFAULT`` of its
    ``${oc.decode:${oc.env:ENV,DEFAULT}}`` (groups ``env`` and ``default``)."""
    literal = m.groupdict().get("literal")
    return literal if literal is not None else env.get(m["env"], m["default"])


def nemo_flag(mirror: Mirror, config: str, key: re.Pattern[str], missing: str) -> tuple[str, str] | None:
    """("yes" / "no", where it was read) of the yes / no NeMo yaml setting ``key`` matches (named groups ``key``,
    ``env`` and ``default`` of ``${oc.decode:${oc.env:ENV,DEFAULT}}``, or ``literal`` for a plain value) for the
    launch config ``config`` of ``mirror``: the launch config's ``ENV`` else ``DEFAULT``; "no" with
    ``missing`` (formatted with ``impl``) when no yaml of the implementation has the key; None when the
    implementation has no NeMo yaml (not a NeMo implementation: left empty)."""
    found = nemo_key(mirror, config, key)
    if found is None:
        return None
    impl, env, path, m = found
    if m is None:
        return "no", missing.format(impl=impl)
    value = "yes" if is_true(nemo_value(m, env)) else "no"
    literal = m.groupdict().get("literal")
    if literal is not None:
        return value, f"{path} ({m['key']}: {literal})"
    var, default = m["env"], m["default"]
    return value, f"{path} ({m['key']}: ${{oc.env:{var},{default}}}; {var}={env.get(var, 'unset')})"


_RANK = r"^[ \t]*(?:\d+:)?[ \t]*"  # a line's start: a rank prefix of srun logs (``0:``, `` 0:``) allowed


def printed_pattern(key: str) -> re.Pattern[str]:
    """The line that prints ``key`` in a result file (group 1: its value, quotes dropped): ``key: value`` of the NeMo
    1.x config dump ("Experiment configuration", also NeMo 2's "Optimized config") or ``key=value,`` of the NeMo 2
    ``MCore config`` (the model's ``TransformerConfig``, its first field after ``Llama2Config70B(``). A nested key
    ``parent.key`` (``optim.name``) is the dump's ``key:`` on the line right under ``parent:``."""
    *parents, leaf = key.split(".")
    head = "".join(rf"{_RANK}{re.escape(p)}:[ \t]*\n" for p in parents)
    first_field = "" if parents else r"(?:\w+\()?"
    return re.compile(rf"{head}{_RANK}{first_field}{re.escape(leaf)}[ \t]*[:=][ \t]*'?([^\s,']+)'?,?[ \t]*$", re.M)


def printed_settings(text: str, keys: Sequence[str]) -> dict[str, str]:
    """{key: value} of each of ``keys`` that the result file ``text`` prints (:func:`printed_pattern`, its first
    line), in the order the file prints them."""
    found = sorted((m.start(), key, m.group(1)) for key in keys if (m := printed_pattern(key).search(text)))
    return {key: value for _, key, value in found}


def _printed_per_file(mirror: Mirror, folder: str, keys: Sequence[str]) -> list[dict[str, str]]:
    """:func:`printed_settings` of ``keys`` in each ``result_*.txt`` of results ``folder`` (git's order), each file
    read once for all the keys."""
    return [printed_settings(mirror.show(f), keys) for f in result_files(mirror, folder)]


def printed_values(mirror: Mirror, folder: str, keys: Sequence[str]) -> dict[str, str] | None:
    """{key: value} of each of ``keys`` as every ``result_*.txt`` of results ``folder`` prints it, all alike, in the
    order the files print them (:func:`printed_settings`); a key no file prints is left out ({} without files); None
    where a key is printed by some files only or with different values. The run's resolved config, as
    :func:`printed_value`."""
    found = _printed_per_file(mirror, folder, keys)
    if any(f != found[0] for f in found[1:]):
        return None
    return found[0] if found else {}


def printed_each(mirror: Mirror, folder: str, keys: Sequence[str]) -> tuple[dict[str, str], int]:
    """({key: value} of each of ``keys`` on its own, as :func:`printed_value` reads it: every ``result_*.txt`` of
    results ``folder`` prints it, all alike — a key some file does not print, or prints otherwise, is left out; the
    number of files). Each file is read once for all the keys."""
    found = _printed_per_file(mirror, folder, keys)
    alike = {key: found[0][key] for key in keys
             if found and key in found[0] and all(f.get(key) == found[0][key] for f in found[1:])}
    return alike, len(found)


def printed_value(mirror: Mirror, folder: str, key: str) -> tuple[str, int] | None:
    """(value, files) of the setting ``key`` as every ``result_*.txt`` of results ``folder`` prints it, all alike
    (:func:`printed_pattern`: its first line in a file); None where a file does not print it or the files differ.
    This is the run's resolved config: where it settles a cell it wins over the launch code (s22-P's
    transpose-cache switch, s22-R)."""
    found, files = printed_each(mirror, folder, (key,))
    return (found[key], files) if key in found else None


#: The result folder of a NeMo-run benchmark a row of the ``mlperf`` groups names (group 1: version, 2: the folder):
#: llama2_70b_lora, gpt3, llama31_405b, llama31_8b. Of the non-LoRA rows only Oracle v4.1 gpt3 (NeMo 1.x dump),
#: Nebius v5.0 llama31_405b (dump) and Oracle v5.1 llama31_8b (dump and ``MCore config``) print a config (s23-G).
PRINTED_RESULTS = re.compile(
    r"training_results_(v[\d.]+)\), (\S+?/results/[^/]+/(?:llama2_70b_lora|gpt3|llama31_405b|llama31_8b))/result_\*\.txt")


def printed_flag(repos: Mapping[str, Mirror], row: Mapping[str, str], key: str) -> tuple[str, str, str] | None:
    """(results version, "yes" / "no", where) of the yes / no setting ``key`` as the result files of a row of
    :data:`PRINTED_RESULTS` print it (:func:`printed_value`); None for other rows and where they do not print it
    alike."""
    match = mlperf_source(repos, row, PRINTED_RESULTS)
    if match is None:
        return None
    found = printed_value(repos[match.group(1)], match.group(2), key)
    if found is None:
        return None
    value, files = found
    return match.group(1), ("yes" if is_true(value) else "no"), (
        f"the config printed in {match.group(2)}/result_*.txt (all {files}: {key} {value}, the run's resolved "
        "config, which wins over the launch code)")


#: The layout cells a printed config settles: (cell, printed key); ``sp`` compared as yes / no.
PRINTED_LAYOUT: tuple[tuple[str, str], ...] = (
    ("tp", "tensor_model_parallel_size"), ("pp", "pipeline_model_parallel_size"), ("cp", "context_parallel_size"),
    ("micro_batch", "micro_batch_size"), ("sp", "sequence_parallel"))


def printed_layout_conflict(mirror: Mirror, folder: str, cells: Mapping[str, str]) -> str | None:
    """What the config every result file of llama2_70b_lora results ``folder`` prints alike says against the layout
    ``cells`` (tp, pp, cp, micro_batch as digits, sp yes / no; a cell absent or empty is not compared), e.g.
    "context_parallel_size 1 where 2"; None where nothing printed contradicts it (HPE v5.0 n2 / n4: their logs print
    TP4 CP1, the config their folder ships of that size says CP 2; s22-R)."""
    out = []
    printed = printed_each(mirror, folder, [key for _, key in PRINTED_LAYOUT])[0]
    for cell, key in PRINTED_LAYOUT:
        if key not in printed or not cells.get(cell):
            continue
        value = ("yes" if is_true(printed[key]) else "no") if cell == "sp" else printed[key]
        if value != cells[cell]:
            out.append(f"{key} {printed[key]} where {cells[cell]}")
    return ", ".join(out) or None


def fill_mlperf_rows(mirrors: list[str], column: str,
                     derive_row: Callable[[dict[str, Mirror], dict[str, str]], tuple[str, str, str] | None],
                     note: str, width: int, printed: str | None = None) -> None:
    """Set ``column`` of every row for which ``derive_row(mirrors by version, row)`` = (the results version read,
    value, where it was read) is not None (the others are left as is), with a note in ``derived`` replacing this
    script's earlier one and that mirror's pinned commit in ``source_locator``; rewrites
    data/validation/training_runs.csv. ``printed``: the yes / no setting that, where the result files of a row of
    :data:`PRINTED_RESULTS` print it (:func:`printed_flag`), decides the cell before ``derive_row`` is asked."""
    repos = open_mirrors(mirrors)
    fields, rows = read_runs([column])
    for row in rows:
        found = (printed_flag(repos, row, printed) if printed else None) or derive_row(repos, row)
        if found is None:
            continue
        version, value, where = found
        row[column] = value
        row["source_locator"] = stamp_locator(row["source_locator"], repos[version])
        row["derived"] = set_note(row["derived"], rf"{column} .*?{re.escape(Path(note).name)}",
                                  f"{column} {value} from {where}, {note}")
        print(f"{row['run_id']}: {column} {value} <- {where[:width]}")
    write_runs(fields, rows)


def fill_from_launch_configs(mirrors: list[str], column: str, derive: Callable[[Mirror, str], tuple[str, str] | None],
                             note: str, width: int, printed: str | None = None) -> None:
    """:func:`fill_mlperf_rows` over the MLPerf rows whose launch config is named, from ``derive(mirror, config)`` =
    (value, where it was read) or None (left as is); ``printed``: the setting the result files' printed config
    settles first (:func:`printed_flag`)."""

    def from_config(repos: dict[str, Mirror], row: dict[str, str]) -> tuple[str, str, str] | None:
        match = mlperf_source(repos, row, RESULT_SOURCE)
        if match is None:
            return None
        config = _CONFIG.search(row["derived"])
        found = derive(repos[match.group(1)], config.group(1)) if config else None
        return None if found is None else (match.group(1), *found)

    fill_mlperf_rows(mirrors, column, from_config, note, width, printed)
