"""State NVIDIA NeMo in ``framework`` of the MLPerf Training rows whose implementation is NeMo code (s20-G, issue 10).

Source: github.com/mlcommons/training_results_v3.1 / _v4.0 / _v4.1 / _v5.0 / _v5.1 at the commits pinned_mirrors.py
``COMMITS`` pins (run with all five mirrors: s20-G ran it without v3.1, which left Azure+NVIDIA v3.1
``ND_H100_v5_n1344_pytorch`` gpt3, NVIDIA's NeMo implementation with the launch config of NVIDIA's own n1344 result
but for comments and walltime, read as stack ``other``; s21-J). Validation reads a row's software stack from
``source`` / ``framework`` / ``run_id`` (src/archsweep/validation/row_stack.py ``stack_of``); an MLPerf row's
``framework`` is its system file's text, which names the NGC base image ("PyTorch NVIDIA Release 25.09"), not the
code the benchmark ran, so NeMo-based rows were read as stack ``other`` and their data-parallel overlap was
searched instead of taking the NeMo defaults.

Rule: the launch config a row's layout was read from (the first ``training_results_vX.Y/<path>.sh`` its ``derived``
names: mlperf_lora_layout.py, mlperf_stated_layouts.py, mlperf_llama31_*_rows.py; where none is named, the
implementation folder named like the results folder) belongs to NeMo code where the
``Dockerfile`` of its implementation folder, or of the folder whose NeMo ``conf/`` the row resolves to
(``_mlperf_common.nemo_conf_paths``: NVIDIA's implementation of the same config name, the folder a README points to),
or, for a folder with no Dockerfile, of the folder whose NeMo patches and yaml it ships byte-identical
(:func:`patched_twins`: MangoBoost v5.0, AMD's ROCm port run under LLMBoost; s26-M), clones github.com/NVIDIA/NeMo (``git clone https://github.com/NVIDIA/NeMo``, e.g. NVIDIA v5.0
``tyche_ngpu8_ngc25.04_nemo/Dockerfile`` L31 at ``NEMO_REVISION=25.04-alpha.rc1``; AMD's ROCm port clones it too).
Such a row gets ``; NVIDIA NeMo code (<Dockerfile> L<n> clones github.com/NVIDIA/NeMo)`` appended to ``framework``
(replaced on a re-run: idempotent), with ``at <tag>, a YYYY-MM NeMo tag`` inside the brackets where the Dockerfile
checks out a NeMo git tag of :data:`TAG_MONTHS` (AMD's v5.0 ROCm port: v2.0.0.rc0.beta, s26-B; QCT's v5.0 /
v5.1 D74H-7U: 24.09-alpha.rc0, s26-Q), which
validation/software.py ``row_release`` reads as the row's software month; rows whose ``source`` / ``framework`` / ``run_id`` name NeMo already are not
touched. The text puts no digits after "NeMo" (row_stack.py reads "NeMo YY.MM" as a
NeMo Framework container release). Rows whose config is not named, or whose folders ship no such Dockerfile, are
left as they are (printed).

Usage: python data/validation/derive/mlperf_nemo_stack.py <mirror dir of training_results_vX.Y> ...
rewrites data/validation/training_runs.csv in place (idempotent).
"""

from __future__ import annotations

import re
import sys
from pathlib import PurePosixPath

from _mlperf_common import impl_folder, mlperf_rows, nemo_conf_paths, pointed_folder
from pinned_mirrors import Mirror, open_mirrors
from runs_table import read_runs, write_runs

_VERSION = re.compile(r"training_results_(v[\d.]+)\), (\S+?)/results/([^/]+)/(\w+)/result_")
_CONFIG = re.compile(r"training_results_v[\d.]+/(\S+?\.sh)")
#: A NeMo yaml a fill script names in ``derived`` as the one the row ran (e.g. mlperf_stated_layouts.py's
#: ``.../tyche_ngpu72_ngc25.04_nemo/conf/megatron_gpt_peft_tuning_config.yaml (fp8_params: ...)``).
_CONF_NAMED = re.compile(r"([\w.+-]+/benchmarks/[\w./+-]+?)(?:/src)?/conf/[\w./-]+\.yaml")
_CLONE = re.compile(r"github\.com/NVIDIA/NeMo(?:\.git)?\b")
_SUFFIX = re.compile(r"; NVIDIA NeMo code \([^)]*\)$")


def nemo_dockerfile(mirror: Mirror, config: str, derived: str) -> str | None:
    """``<Dockerfile> L<n>`` of the first folder of the config's implementation (its own, the folder its README
    points to, the folders of its NeMo ``conf/``, those of the NeMo yamls ``derived`` names as the row's) whose
    ``Dockerfile`` / ``Dockerfile.<arch>`` clones github.com/NVIDIA/NeMo, or None."""
    own = impl_folder(config)
    folders = [own, pointed_folder(mirror, own) or ""]
    folders += sorted({p.split("/conf/", 1)[0].removesuffix("/src") for p in nemo_conf_paths(mirror, config)})
    folders += sorted(set(_CONF_NAMED.findall(derived)))
    folders += patched_twins(mirror, own)
    for folder in filter(None, folders):
        for path in _dockerfiles(mirror, folder):
            text = mirror.show(path)
            if m := _CLONE.search(text):
                return f"{path} L{text.count(chr(10), 0, m.start()) + 1}"
    return None


def _dockerfiles(mirror: Mirror, folder: str) -> list[str]:
    """The ``Dockerfile`` / ``Dockerfile.<arch>`` right under ``folder``, sorted."""
    return sorted(p for p in mirror.ls(folder + "/", recursive=False)
                  if re.fullmatch(re.escape(folder) + r"/Dockerfile(\.[\w-]+)?", p))


def _build_inputs(mirror: Mirror, folder: str) -> dict[str, str]:
    """Path below ``folder`` -> text of the files a NeMo build and run take from it: ``patches/`` and the NeMo yaml
    folder (``conf/``, ``src/conf/``)."""
    return {p[len(folder) + 1:]: mirror.show(p)
            for sub in ("patches/", "conf/", "src/conf/") for p in mirror.ls(f"{folder}/{sub}")}


def patched_twins(mirror: Mirror, folder: str) -> list[str]:
    """The implementation folders of the same benchmark and round whose ``Dockerfile`` builds the code that
    ``folder`` ships without one (s26-M), sorted: ``folder`` has no Dockerfile and ships NeMo patches
    (``patches/*.patch``), and the twin's Dockerfile ``git apply``s every one of them while its ``patches/`` and NeMo
    yaml folder hold the very files ``folder`` ships (same names, same bytes); [] otherwise. The one case: MangoBoost
    v5.0 MI300X-LLMBoost-GPUBoost-{1,2,4}node ship AMD's ROCm port (patches, ``src/conf`` yaml, ``src/train.py``
    identical to AMD's MI300X_EPYC_9575F_pytorch), and run it in an image whose build the 4-node result files
    print (``FROM docker.io/rocm/mlperf-preview:llama2_70b_training_5.0``, adding pip packages for LLMBoost only),
    all three logs make in ``/workspace/deps/nemo`` (the NeMo clone path of AMD's Dockerfile) and log apex's
    micro-batch calculator (``microbatches.py:39``), which NeMo stopped calling when Megatron-Core has its own
    (NVIDIA/NeMo f2e3232003, 2024-07-15): the pre-2.0 NeMo of AMD's port."""
    if _dockerfiles(mirror, folder):
        return []
    shipped = _build_inputs(mirror, folder)
    patches = [PurePosixPath(p).name for p in shipped if p.startswith("patches/")]
    if not patches:
        return []
    bench = folder.split("/benchmarks/", 1)[1].split("/", 1)[0]
    impl = re.compile(r"([^/]+/benchmarks/" + re.escape(bench) + r"/implementations/[^/]+)/patches/[^/]+")
    twins = []
    for twin in sorted({m.group(1) for p in mirror.ls("") if (m := impl.fullmatch(p))} - {folder}):
        applied = " ".join(mirror.show(d) for d in _dockerfiles(mirror, twin))
        if _build_inputs(mirror, twin) == shipped and all(
                re.search(r"git apply \S*/" + re.escape(name) + r"\b", applied) for name in patches):
            twins.append(twin)
    return twins


#: Month of the NeMo git tags a Dockerfile checks out (NVIDIA/NeMo: the tag's commit date), written beside the
#: clone so that validation/software.py ``row_release`` bounds the row's software by it (a row that names no
#: container is otherwise bounded by its MLPerf round's month). v2.0.0.rc0.beta: commit b2eccd270d, 2024-05-02;
#: 24.09-alpha.rc0 (NeMo 1.x, the NVIDIA v4.1 recipe QCT's v5.0 / v5.1 D74H-7U copies build): commit 4068955b5a,
#: 2024-09-16 (s26-Q).
TAG_MONTHS = {"v2.0.0.rc0.beta": "2024-05", "24.09-alpha.rc0": "2024-09"}


def nemo_revision(mirror: Mirror, dockerfile: str) -> str | None:
    """The NeMo revision the ``Dockerfile`` at ``dockerfile`` (``path`` or ``path L<n>``, the clone's line) builds:
    its ``ARG NEMO_REVISION=`` default, else the first ``git checkout`` from its NeMo clone line on; None without
    either."""
    path, _, line = dockerfile.partition(" L")
    text = mirror.show(path)
    if m := re.search(r"^\s*ARG\s+NEMO_REVISION=(\S+)", text, re.M):
        return m.group(1)
    m = re.search(r"git checkout (\S+)", "\n".join(text.splitlines()[int(line or 1) - 1:]))
    return m.group(1) if m else None


def main(mirrors: list[str]) -> None:
    repos = open_mirrors(mirrors)
    fields, rows = read_runs()
    for row, found in mlperf_rows(repos, rows, _VERSION):
        version, submitter, system, bench = found.groups()
        config = _CONFIG.search(row["derived"])
        # no launch config named (a layout from the logs, mlperf_lora_logged_layout.py): the implementation folder
        # named like the results folder
        named = config.group(1) if config else f"{submitter}/benchmarks/{bench}/implementations/{system}/-"
        where = nemo_dockerfile(repos[version], named, row["derived"])
        base = _SUFFIX.sub("", row["framework"])
        if "nemo" in f"{row['source']} {base} {row['run_id']}".lower():
            continue  # validation reads NeMo from the row already
        if where is None:
            print(f"{row['run_id']}: left as is (no NeMo Dockerfile for {named})")
            row["framework"] = base
            continue
        tag = nemo_revision(repos[version], where)
        month = f" at {tag}, a {TAG_MONTHS[tag]} NeMo tag" if tag in TAG_MONTHS else ""
        row["framework"] = (f"{base}; NVIDIA NeMo code (training_results_{version}/{where} clones "
                            f"github.com/NVIDIA/NeMo{month})")
        print(f"{row['run_id']}: NeMo <- {where}")
    write_runs(fields, rows)


if __name__ == "__main__":
    main(sys.argv[1:])
