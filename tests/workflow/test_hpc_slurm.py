"""The SLURM path (issue 6): the `profiles/slurm` profile, `shards: auto`, and real runs.

Unit tests (always run): the profile's settings and comments, the partition/account
expressions, shard sizing. Service tests (marked `services`) need a SLURM controller and
`snakemake-executor-plugin-slurm` (the `hpc` extra); `.ci/run` starts them with
`ci/slurm-up.sh`. Without them the tests are skipped with the reason, or fail where
`ARCHSWEEP_REQUIRE_SERVICES` names `slurm` (CI started the daemons, so they must be used).

1. A small study through `--executor slurm` (profile `profiles/slurm`, two shards grouped into
   one SLURM job) gives the same `evaluations` table as the local run.
2. A job cancelled with `scancel` while running fails the run; the rerun completes with no
   lost or duplicated rows.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import yaml

from archsweep.load.paths import repo_root
from archsweep.load.sharding import (
    MAX_AUTO_SHARDS,
    SizedWorkload,
    auto_shard_count,
    estimated_seconds,
)
from archsweep.load.study import parse_study
from archsweep.load.throughput import load_throughput_rates
from archsweep.spec.study import ShardSizing

ROOT = repo_root()
PROFILE = ROOT / "profiles" / "slurm"
CONFIG = PROFILE / "config.yaml"

# 4 x 3 x 2 x 2 = 48 candidates, 3 shards: seconds per job, so a job can be caught running.
STUDY_TEXT = """\
name: {name}
workloads: [llama3-8b]
base: H100-SXM
parameters:
  compute_units: {{values: [66, 99, 132, 198]}}
  clock_hz: {{values: ["1.4 GHz", "1.6 GHz", "1.83 GHz"]}}
  hbm_generation: {{values: [HBM3, HBM3e]}}
  scaleup_domain_size: {{values: [8, 32]}}
  accelerator_count: {{values: [64]}}
sampling: {{method: grid}}
shards: 3
mapping: {{search: best, objective: step_time_s}}
objectives:
  - {{column: tokens_per_s, direction: maximize}}
  - {{column: power_w, direction: minimize}}
constraints:
  - {{column: power_w, max: "1200 W"}}
"""


# ---------------------------------------------------------------------------------------
# Profile (no services needed)
# ---------------------------------------------------------------------------------------

def _profile() -> dict:
    return yaml.safe_load(CONFIG.read_text())


def test_profile_selects_slurm_with_status_checks_that_work_without_accounting():
    profile = _profile()
    assert profile["executor"] == "slurm"
    assert profile["slurm-status-command"] == "squeue"  # sacct waits forever without slurmdbd
    assert 0 < int(profile["slurm-init-seconds-before-status-checks"]) < 40
    assert profile["rerun-incomplete"] is True


def test_profile_sizes_every_remote_rule_and_keeps_duckdb_rules_local():
    profile = _profile()
    resources = profile["set-resources"]
    for rule in ("space", "evaluate", "search_worker", "search_export"):
        assert {"runtime", "mem_mb", "cpus_per_task"} <= set(resources[rule]), rule
        assert all(int(v) > 0 for v in resources[rule].values()), rule
    rules_text = {p.stem: p.read_text() for p in (ROOT / "rules").glob("*.smk")}
    for stage in ("collect", "pareto", "report"):  # one DuckDB writer: never a SLURM job
        assert "localrule: True" in rules_text[stage], stage
        assert stage not in resources
    assert profile["groups"]["evaluate"] in profile["group-components"]


def test_profile_has_a_comment_on_every_entry():
    lines = CONFIG.read_text().splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith((" ", "#")):  # a top-level entry
            above = lines[i - 1].strip() if i else ""
            assert above.startswith("#"), f"profiles/slurm/config.yaml:{i + 1}: {line!r} has no comment above it"


def _resource(expression: str, env: dict[str, str]) -> object:
    """What Snakemake does with a resource string: expand $VARS, then evaluate it as Python."""
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return eval(os.path.expandvars(expression), {})  # noqa: S307 - the profile's own expression
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.mark.parametrize("key,variable", [("slurm_partition", "SLURM_PARTITION"), ("slurm_account", "SLURM_ACCOUNT")])
def test_partition_and_account_come_from_the_environment(key, variable):
    expression = _profile()["default-resources"][key]
    assert _resource(expression, {variable: "gpu-a100"}) == "gpu-a100"
    assert _resource(expression, {}) == ""  # unset: the plugin uses the cluster's default


# ---------------------------------------------------------------------------------------
# Shard sizing (no services needed)
# ---------------------------------------------------------------------------------------

def test_ten_million_candidates_make_a_few_jobs_not_ten_million():
    # 10^7 random designs on Llama-3 70B and 405B: 4,260 s + 11,600 s of search + 2 x 125 s per candidate: 15 jobs
    rates = load_throughput_rates()
    workloads = [SizedWorkload("llama3-70b", "dense"), SizedWorkload("llama3-405b", "dense")]
    shards = auto_shard_count(10_000_000, estimated_seconds(10_000_000, 10_000_000, workloads, rates), ShardSizing())
    assert 10 <= shards <= 100
    assert auto_shard_count(10_000_000, 1e9, ShardSizing(target_seconds_per_job=1)) == MAX_AUTO_SHARDS
    assert auto_shard_count(0, 0.0, ShardSizing()) == 1


def _study_doc(shards: object, **sampling: object) -> dict:
    doc = yaml.safe_load(STUDY_TEXT.format(name="sizing"))
    doc["shards"] = shards
    if sampling:
        doc["sampling"] = sampling
    return doc


def test_study_shards_auto_follows_the_target_time_per_job():
    assert parse_study(_study_doc("auto"), file="s.yaml").shards == 1  # 48 evaluations: one job
    target = {"target_seconds_per_job": 2, "evaluations_per_second": 10}  # 20 evaluations per job
    study = parse_study(_study_doc(target), file="s.yaml")
    assert study.shards == 3 and study.shard_sizing == ShardSizing(2.0, 10.0)
    sobol = parse_study(_study_doc(target, method="sobol", samples=1000, seed=1), file="s.yaml")
    assert sobol.shards == 48  # 50 by time, but only 4 x 3 x 2 x 2 = 48 performance groups to deal
    assert parse_study(_study_doc(7), file="s.yaml").shard_sizing is None


def test_study_shards_rejects_unknown_sizing():
    with pytest.raises(ValueError, match="shards"):
        parse_study(_study_doc("lots"), file="s.yaml")
    with pytest.raises(ValueError, match="shards"):
        parse_study(_study_doc({"target_seconds_per_job": -5}), file="s.yaml")


# ---------------------------------------------------------------------------------------
# Real SLURM (services)
# ---------------------------------------------------------------------------------------

def _slurm_problem() -> str | None:
    """Why the SLURM tests cannot run here, or None."""
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed (pip install -e '.[hpc]')"
    for tool in ("sbatch", "squeue", "scancel", "scontrol"):
        if shutil.which(tool) is None:
            return f"{tool} not found: no SLURM client (start one with ci/slurm-up.sh as root)"
    try:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        return "scontrol ping timed out: no SLURM controller (ci/slurm-up.sh)"
    if ping.returncode != 0 or "UP" not in ping.stdout:
        return f"no SLURM controller answers (scontrol ping: {ping.stdout.strip() or ping.stderr.strip()}); ci/slurm-up.sh"
    return None


@pytest.fixture(scope="module")
def slurm() -> None:
    problem = _slurm_problem()
    if problem is None:
        return
    if "slurm" in os.environ.get("ARCHSWEEP_REQUIRE_SERVICES", ""):
        pytest.fail(f"ARCHSWEEP_REQUIRE_SERVICES names slurm, but: {problem}")
    pytest.skip(f"SLURM tests skipped: {problem}")


def _snakemake(workdir: Path, study: Path, *options: str, timeout: float = 420) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(study), *options]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def _slurm_options(*extra: str) -> tuple[str, ...]:
    # 2 s polls keep the test short; everything else is the profile as users get it.
    return ("--profile", str(PROFILE), "--seconds-between-status-checks", "2", *extra)


def _evaluations(workdir: Path, name: str) -> pa.Table:
    con = duckdb.connect(str(workdir / "results" / name / "archsweep.duckdb"), read_only=True)
    try:
        return con.sql("SELECT * FROM evaluations ORDER BY candidate_id, workload").to_arrow_table()
    finally:
        con.close()


def _write_study(workdir: Path, name: str) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    study = workdir / f"{name}.yaml"
    study.write_text(STUDY_TEXT.format(name=name))
    return study


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory) -> pa.Table:
    """The study run locally (the default profile): the table SLURM runs must reproduce."""
    workdir = tmp_path_factory.mktemp("local")
    study = _write_study(workdir, "hpcslurm")
    done = _snakemake(workdir, study, "--profile", str(ROOT / "profiles" / "default"), "--cores", "2")
    assert done.returncode == 0, done.stderr[-4000:]
    table = _evaluations(workdir, "hpcslurm")
    assert table.num_rows == 48
    return table


def _output(done: subprocess.CompletedProcess) -> str:
    return (done.stdout[-3000:] + "\n" + done.stderr[-6000:]).strip()


@pytest.mark.services
@pytest.mark.slow
def test_study_through_slurm_equals_the_local_run(slurm, local_reference, tmp_path):
    study = _write_study(tmp_path, "hpcslurm")
    # Two evaluate shards bundled per SLURM job: grouping works through the real scheduler.
    done = _snakemake(tmp_path, study, *_slurm_options("--group-components", "evaluate_shards=2"))
    log = _output(done)
    assert done.returncode == 0, log
    assert "has been submitted with SLURM jobid" in log, log
    assert "group_evaluate_shards" in log  # the grouped job's log directory
    assert _evaluations(tmp_path, "hpcslurm").equals(local_reference)


def _running_evaluate_job(workdir: Path, deadline: float) -> str | None:
    """Id of a RUNNING evaluate job of ``workdir``, waiting until ``deadline``."""
    while time.monotonic() < deadline:
        listing = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-o", "%i|%k|%Z"], capture_output=True, text=True,
                                 timeout=15).stdout
        for line in listing.splitlines():
            job, comment, cwd = line.split("|", 2)
            if "evaluate" in comment and Path(cwd).resolve() == workdir.resolve():
                return job
        time.sleep(0.2)
    return None


@pytest.mark.services
@pytest.mark.slow
def test_scancel_mid_run_then_rerun_loses_and_duplicates_nothing(slurm, local_reference, tmp_path):
    study = _write_study(tmp_path, "hpcslurm")
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
               "--configfile", str(study), *_slurm_options("--retries", "0")]  # no resubmission: see the failure
    with open(tmp_path / "first.log", "w") as out:
        first = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            job = _running_evaluate_job(tmp_path, time.monotonic() + 180)
            assert job is not None, "no evaluate job was seen RUNNING"
            subprocess.run(["scancel", job], check=True, timeout=15)
            status = first.wait(timeout=300)
        finally:
            if first.poll() is None:
                first.kill()
    log = (tmp_path / "first.log").read_text()
    assert status != 0, log[-4000:]  # the cancelled job failed the run
    assert "CANCELLED" in log or "failed" in log.lower(), log[-4000:]

    rerun = _snakemake(tmp_path, study, *_slurm_options())
    assert rerun.returncode == 0, _output(rerun)
    table = _evaluations(tmp_path, "hpcslurm")
    keys = list(zip(table.column("candidate_id").to_pylist(), table.column("workload").to_pylist()))
    assert len(keys) == len(set(keys)) == local_reference.num_rows  # nothing lost, nothing twice
    assert table.equals(local_reference)
