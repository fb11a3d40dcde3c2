"""Every derive script that reads a repository clone reads it at a pinned commit (issue 10, s11-pin:
data/validation/derive/pinned_mirrors.py): one commit per MLPerf results repository and one per Megatron-Bridge tag
a script names; the tables are complete for every repository / tag a row or a script names, each MLPerf row names
the commit, no script reads a clone's HEAD or a tag, and a clone of an unpinned version or without the pinned commit
is refused. No mirror is needed: the git checks run on small repositories made here."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from measured_runs import runs

from archsweep.load.paths import data_dir

DERIVE = data_dir() / "validation" / "derive"
CSV = data_dir() / "validation" / "training_runs.csv"
_VERSION = re.compile(r"training_results_(v\d+\.\d+)")
#: The scripts that read a results mirror, with the arguments after the mirror path.
SCRIPTS = {"mlperf_steady_step.py": [], "mlperf_lora_layout.py": [], "mlperf_stated_layouts.py": [],
           "mlperf_lora_logged_layout.py": [], "mlperf_layer_cuda_graphs.py": [], "mlperf_fp8_act.py": [],
           "mlperf_fp8_attention.py": [], "mlperf_tp_overlap_flags.py": [],
           "mlperf_lora_rows.py": ["NVIDIA/nyx_n1_ngc25.04_nemo"], "mlperf_llama31_8b_rows.py": [],
           "mlperf_pair_steps.py": ["NVIDIA/results/nyx_n1_ngc25.04_nemo/llama2_70b_lora"],
           "mlperf_power_logs.py": ["Lenovo/results/SR780aV3-8xB200_SXM_180GB/llama2_70b_lora"],
           "mlperf_power_readings.py": [], "mlperf_lora_time_split.py": [],
           "mlperf_forward_rows.py": [], "mlperf_llama31_405b_rows.py": [],  # s18-D
           "mlperf_grad_reduce.py": [],  # s19-P
           "mlperf_nemo_stack.py": [],  # s20-G
           "mlperf_fp8_transpose_cache.py": [],  # s22-P
           "mlperf_cp_comm_type.py": [],  # s24-G
           "mlperf_lora_dropout.py": []}  # s26-B
#: The scripts that read a Megatron-Bridge clone (their only argument).
MBRIDGE = ("mbridge_2509_rows.py", "mbridge_archive_rows.py", "mbridge_param_gather.py", "mbridge_fp8_params.py",
           "mbridge_grad_reduce.py", "mbridge_preset_vpp.py", "pipeline_layout.py",
           "mbridge_unfit_table_layouts.py",  # s20-F
           "mbridge_carried_layout.py")  # s21-K
_GIT = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")


@pytest.fixture()
def mirror(derive_script: Callable[[str], ModuleType]) -> ModuleType:
    return derive_script("pinned_mirrors")


def test_the_scripts_that_read_a_mirror_are_all_listed() -> None:
    """Every derive script whose usage takes a results mirror is checked below."""
    readers = {p.name for p in DERIVE.glob("*.py") if "<mirror dir of training_results_v" in p.read_text()}
    assert readers == set(SCRIPTS)


def test_the_pinned_table_covers_every_results_repository_named(mirror: ModuleType) -> None:
    """A version some row's ``source`` or some derive script names has a pinned commit (40 hex digits)."""
    named = {m for r in runs() for m in _VERSION.findall(r["source"])}
    named |= {m for p in DERIVE.glob("*.py") for m in _VERSION.findall(p.read_text())}
    assert named and named <= set(mirror.COMMITS), sorted(named - set(mirror.COMMITS))
    assert all(re.fullmatch(r"[0-9a-f]{40}", c) for c in mirror.COMMITS.values())


def test_every_row_read_from_a_mirror_names_the_pinned_commit(mirror: ModuleType) -> None:
    rows = runs(lambda r: bool(_VERSION.search(r["source"])))
    assert len(rows) >= 87
    for r in rows:
        commit = mirror.COMMITS[_VERSION.search(r["source"]).group(1)]  # type: ignore[union-attr]
        assert r["source_locator"].endswith(f" (commit {commit[:8]})"), (r["run_id"], r["source_locator"])


def test_no_derive_script_reads_a_head_and_the_mlperf_ones_read_through_the_pinned_mirror() -> None:
    for path in DERIVE.glob("*.py"):
        text = path.read_text()
        assert not re.search(r"[\"']HEAD\b", text), path.name  # "HEAD", f"HEAD:{path}"
        if path.name.startswith(("mlperf_", "_mlperf")):
            assert not re.search(r"\b(?:_git|git_text|subprocess)\b", text), \
                f"{path.name} calls git itself instead of reading a Mirror"
        assert not re.search(r"\"show\", f\"\{(?:tag|_TAG|_COMMIT)\}:", text), f"{path.name} reads at a tag, not its commit"


def test_the_megatron_bridge_table_covers_every_tag_and_commit_read(derive_script: Callable[[str], ModuleType],
                                                                     mirror: ModuleType) -> None:
    read = {derive_script("mbridge_2509_rows")._TAG, derive_script("mbridge_archive_rows")._COMMIT,
            *derive_script("mbridge_archive_rows").RELEASES.values(), *derive_script("mbridge_param_gather")._RELEASES.values(),
            *derive_script("mbridge_fp8_params")._RELEASES.values(), *derive_script("pipeline_layout").TAGS}
    assert read == set(mirror.MBRIDGE_COMMITS)
    for ref, commit in mirror.MBRIDGE_COMMITS.items():
        assert re.fullmatch(r"[0-9a-f]{40}", commit) and (commit.startswith(ref) or ref.startswith("v")), ref
    with pytest.raises(SystemExit, match=r"Megatron-Bridge \['v9\.9'\] have no pinned commit in .*MBRIDGE_COMMITS"):
        mirror.mbridge_commits("/nowhere", ["v0.2.0", "v9.9"])


def test_a_mirror_of_an_unpinned_version_or_of_no_results_repository_is_refused(mirror: ModuleType) -> None:
    with pytest.raises(SystemExit, match=r"training_results_v9\.9 has no pinned commit in .*pinned_mirrors\.py COMMITS"):
        mirror.open_mirror("/m/mlcommons+training_results_v9.9/repo")
    with pytest.raises(SystemExit, match="not a mirror of github.com/mlcommons/training_results_vX.Y"):
        mirror.open_mirror("/m/NVIDIA+NeMo/repo")


def _repo(path: Path, files: list[dict[str, str]]) -> list[str]:
    """A git repository at ``path`` with one commit per dict of files; the commits, oldest first."""
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    commits = []
    for tree in files:
        for name, text in tree.items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_text(text)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "c"], check=True)
        commits.append(subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip())
    return commits


@_GIT
def test_a_clone_without_the_pinned_commit_is_refused(tmp_path: Path, mirror: ModuleType) -> None:
    path = tmp_path / "training_results_v4.0"
    _repo(path, [{"README.md": "x"}])
    with pytest.raises(SystemExit, match=r"does not hold the commit 6fe954378efe4a1a1bd665550b18ff8f26018def pinned in "
                                         r".*fetch github:mlcommons/training_results_v4\.0"):
        mirror.open_mirror(str(path))


@_GIT
def test_a_mirror_reads_and_lists_at_its_pinned_commit_not_at_head(tmp_path: Path, mirror: ModuleType,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "training_results_v4.0"
    first, _ = _repo(path, [{"A/results/s/gpt3/result_0.txt": "pinned"},
                            {"A/results/s/gpt3/result_0.txt": "moved on", "A/results/s/gpt3/result_1.txt": "late"}])
    monkeypatch.setitem(mirror.COMMITS, "v4.0", first)
    m = mirror.open_mirror(str(path))
    assert (m.version, m.commit, m.short) == ("v4.0", first, first[:8])
    assert m.show("A/results/s/gpt3/result_0.txt") == "pinned"
    assert m.ls("A/") == ["A/results/s/gpt3/result_0.txt"]
    assert m.ls("A/results/", recursive=False) == ["A/results/s"]
    assert mirror.stamp_locator("mllog markers, 3 runs", m) == f"mllog markers, 3 runs (commit {first[:8]})"
    assert mirror.stamp_locator("mllog markers, 3 runs (commit 0fdc28f)", m) == f"mllog markers, 3 runs (commit {first[:8]})"
    with pytest.raises(SystemExit, match="a second mirror of training_results_v4.0"):
        mirror.open_mirrors([str(path), str(path) + "/"])
    with pytest.raises(SystemExit, match=rf"{path}: git show {first}:A/none\.txt failed \(exit 128\): fatal: path "
                                         "'A/none.txt' does not exist"):
        m.show("A/none.txt")


@_GIT
def test_a_megatron_bridge_clone_is_read_at_the_pinned_commits_and_one_without_them_refused(
        tmp_path: Path, mirror: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = _repo(tmp_path / "mb", [{"docs/a.md": "pinned"}, {"docs/a.md": "moved"}])
    monkeypatch.setitem(mirror.MBRIDGE_COMMITS, "v0.2.0", first)
    assert mirror.mbridge_commits(str(tmp_path / "mb"), ["v0.2.0", "v0.2.0"]) == {"v0.2.0": first}
    monkeypatch.setitem(mirror.MBRIDGE_COMMITS, "v0.3.0", "0" * 40)
    with pytest.raises(SystemExit, match=f"does not hold the commit {'0' * 40} pinned for v0.3.0 in "
                                         ".*fetch github:NVIDIA-NeMo/Megatron-Bridge"):
        mirror.mbridge_commits(str(tmp_path / "mb"), ["v0.2.0", "v0.3.0"])
    assert second != first


@pytest.mark.parametrize("script", MBRIDGE)
def test_each_megatron_bridge_script_refuses_a_clone_without_its_commits_before_writing(tmp_path: Path,
                                                                                        script: str) -> None:
    folder = tmp_path / "data" / "validation"
    shutil.copytree(DERIVE, folder / "derive")
    shutil.copyfile(CSV, folder / "training_runs.csv")
    (tmp_path / "empty").mkdir()
    done = subprocess.run([sys.executable, str(folder / "derive" / script), str(tmp_path / "empty")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode != 0
    assert "this Megatron-Bridge clone does not hold the commit" in done.stderr
    assert (folder / "training_runs.csv").read_bytes() == CSV.read_bytes()


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_each_script_refuses_an_unpinned_mirror_before_writing(tmp_path: Path, script: str) -> None:
    """Run as the docs say, on a copy: a clear error naming the table, and the CSV untouched."""
    folder = tmp_path / "data" / "validation"
    shutil.copytree(DERIVE, folder / "derive")
    shutil.copyfile(CSV, folder / "training_runs.csv")
    done = subprocess.run([sys.executable, str(folder / "derive" / script), str(tmp_path / "training_results_v9.9"),
                           *SCRIPTS[script]], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode != 0
    assert "training_results_v9.9 has no pinned commit in data/validation/derive/pinned_mirrors.py COMMITS" in done.stderr
    assert (folder / "training_runs.csv").read_bytes() == CSV.read_bytes()
