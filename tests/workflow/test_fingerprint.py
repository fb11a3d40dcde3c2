"""What a space or evaluate job depends on (issue 9): a hash of the study parts it reads, not the
study file's mtime; and what each job imports (issue 14: no matplotlib or Optuna where unused)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from archsweep.load.paths import repo_root
from archsweep.load.study import load_study
from archsweep.workflow.fingerprint import evaluate_fingerprint, space_fingerprint

ROOT = repo_root()
STUDY = """\
name: fp
description: fingerprint test
workloads: [llama3-8b]
base: H100-SXM
parameters:
  clock_hz: {values: ['1.5 GHz', '1.98 GHz']}
sampling: {method: grid}
shards: 2
mapping: {search: best, objective: step_time_s}
objectives:
  - {column: tokens_per_s, direction: maximize}
  - {column: power_w, direction: minimize}
constraints:
  - {column: power_w, max: "1200 W"}
"""


def _fingerprints(tmp_path: Path, text: str) -> tuple[str, str]:
    path = tmp_path / f"study-{abs(hash(text))}.yaml"
    path.write_text(text)
    study = load_study(path)
    return space_fingerprint(study), evaluate_fingerprint(study)


@pytest.mark.parametrize("edit", [
    ('max: "1200 W"', 'max: "700 W"'),                                   # a constraint
    ("direction: minimize", "direction: maximize"),                       # an objective
    ("description: fingerprint test", "description: another text"),      # the description
    ("constraints:\n  - {column: power_w, max: \"1200 W\"}\n", ""),       # no constraint at all
])
def test_constraints_objectives_and_description_change_no_fingerprint(tmp_path, edit):
    assert _fingerprints(tmp_path, STUDY.replace(*edit)) == _fingerprints(tmp_path, STUDY)


@pytest.mark.parametrize("edit, space_changes", [
    (("'1.98 GHz'", "'1.83 GHz'"), True),                                  # a parameter value
    (("shards: 2", "shards: 1"), True),                                    # the shard count
    (("base: H100-SXM", "base: H200"), True),                          # the base design
    (("objective: step_time_s", "objective: energy_per_token_j"), False),  # the mapping choice
    (("workloads: [llama3-8b]", "workloads: [llama3-8b, llama3-70b]"), False),  # the workloads
])
def test_what_the_jobs_read_changes_their_fingerprint(tmp_path, edit, space_changes):
    space0, evaluate0 = _fingerprints(tmp_path, STUDY)
    space1, evaluate1 = _fingerprints(tmp_path, STUDY.replace(*edit))
    assert evaluate1 != evaluate0
    assert (space1 != space0) is space_changes


def test_fingerprints_follow_the_data_files(tmp_path, monkeypatch):
    """Editing a workload file changes the evaluate fingerprint (the model reads it)."""
    models = tmp_path / "models"
    models.mkdir()
    original = (ROOT / "models" / "llama3-8b.yaml").read_text()
    (models / "llama3-8b.yaml").write_text(original)
    monkeypatch.setenv("ARCHSWEEP_MODELS_DIR", str(models))
    before = _fingerprints(tmp_path, STUDY)
    (models / "llama3-8b.yaml").write_text(original + "\n# an edit\n")
    after = _fingerprints(tmp_path, STUDY)
    assert after[0] == before[0] and after[1] != before[1]


_HEAVY = ("matplotlib", "optuna", "archsweep.model", "archsweep.candidates", "archsweep.search")


def _loaded(code: str, cwd: Path) -> set[str]:
    probe = code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return set(done.stdout.split())


def test_the_snakefile_imports_no_model_matplotlib_or_optuna(tmp_path):
    """The imports of rules/*.smk (read by Snakemake at every start) stay light."""
    imports = [line for smk in sorted((ROOT / "rules").glob("*.smk")) for line in smk.read_text().splitlines()
               if re.match(r"^(from \S+ )?import ", line)]
    loaded = _loaded("\n".join(imports), tmp_path)
    assert "archsweep.load.study" in loaded
    assert not [m for m in loaded if m.split(".")[0] in _HEAVY or m.startswith(_HEAVY)], sorted(loaded)


def test_an_evaluate_job_imports_no_matplotlib_or_optuna(tmp_path):
    study = tmp_path / "fp.yaml"
    study.write_text(STUDY)
    shards = [str(tmp_path / "space" / f"{k}.parquet") for k in range(2)]
    space = subprocess.run([sys.executable, "-m", "archsweep.workflow", "space", "--study", str(study),
                            "--shards", *shards], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert space.returncode == 0, space.stderr[-3000:]
    loaded = _loaded("from archsweep.workflow.__main__ import main\n"
                     f"assert main(['evaluate', '--study', {str(study)!r}, '--shard', {shards[0]!r},"
                     f" '--out', {str(tmp_path / 'e0.parquet')!r}]) == 0", tmp_path)
    assert "archsweep.model.driver" in loaded
    assert not [m for m in loaded if m.split(".")[0] in ("matplotlib", "optuna")], sorted(loaded)


def test_workflow_command_line_lists_its_stages_and_rejects_unknown_ones():
    ok = subprocess.run([sys.executable, "-m", "archsweep.workflow", "--help"], capture_output=True, text=True,
                        timeout=120)
    assert ok.returncode == 0 and "evaluate" in ok.stdout and "search-worker" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "archsweep.workflow", "evaluat"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "unknown stage 'evaluat'" in bad.stderr and "Traceback" not in bad.stderr


def test_roadmap_scenarios_enter_both_fingerprints(tmp_path):
    """A study's scenarios expand every candidate (archsweep.candidates.scenarios): adding one, or a scenario whose
    content differs, must re-run the space and evaluate jobs (before the eleventh session neither hash held them)."""
    one = STUDY.replace("base: H100-SXM", "base: B200").replace("shards: 2", "shards: 2\nscenarios: [2025]")
    two = one.replace("scenarios: [2025]", "scenarios: [2025, 2027]")
    same = _fingerprints(tmp_path, one)
    assert _fingerprints(tmp_path, one) == same            # deterministic
    space1, evaluate1 = _fingerprints(tmp_path, two)
    assert space1 != same[0] and evaluate1 != same[1]



def test_the_code_digest_follows_each_subpackage_source(tmp_path):
    """code_sha256 hashes the source of the subpackages named, nothing else: an edit in model/ moves the
    evaluation code's digest and not the space's; an edit in load/ moves both; a file outside them moves none."""
    from archsweep.results.provenance import EVALUATION_CODE, SPACE_CODE, code_sha256

    for sub in (*EVALUATION_CODE, "results"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "a.py").write_text(f"X = {sub!r}\n")

    def digests(root):
        return code_sha256(EVALUATION_CODE, root), code_sha256(SPACE_CODE, root)

    before = digests(tmp_path)
    for edited, evaluation_moves, space_moves in (("model", True, False), ("load", True, True),
                                                  ("results", False, False)):
        root = shutil.copytree(tmp_path, tmp_path.parent / f"{tmp_path.name}-{edited}")
        (root / edited / "a.py").write_text("X = 'edited'\n")
        after = digests(root)
        assert (after[0] != before[0], after[1] != before[1]) == (evaluation_moves, space_moves), edited


def test_both_fingerprints_and_the_run_id_hash_the_code(tmp_path, monkeypatch):
    """A code change alone (the study, data and versions as they were) moves the space and evaluate fingerprints
    and the run id: a resumed study re-evaluates and its rows get a new run."""
    from archsweep.results import provenance
    from archsweep.workflow import fingerprint

    before = _fingerprints(tmp_path, STUDY), provenance.run_id_for("0" * 64)
    edited = provenance.code_sha256.__wrapped__  # the uncached function, called with a changed digest below

    def changed(subpackages=provenance.EVALUATION_CODE, root=None):
        return "edited-" + edited(subpackages, root)

    monkeypatch.setattr(fingerprint, "code_sha256", changed)
    monkeypatch.setattr(provenance, "code_sha256", changed)
    after = _fingerprints(tmp_path, STUDY), provenance.run_id_for("0" * 64)
    assert after[0][0] != before[0][0] and after[0][1] != before[0][1] and after[1] != before[1]
