# Configuration and helpers shared by the rules: the study, its paths and the targets.
# Functions only (no rules) in this file. Imports only what the DAG needs (the study loader,
# the report's plot names, the jobs' fingerprints): no model, matplotlib or Optuna here.
import os
import shlex
import sys

# The package of this checkout, at DAG time and in every job (see envs/archsweep.yaml).
SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, SRC)

from archsweep.load.document_cache import CACHE_DIR_ENV
from archsweep.load.study import load_study
from archsweep.results.report import plot_names
from archsweep.spec.errors import ArchsweepError, InputError
from archsweep.workflow.fingerprint import evaluate_fingerprint, space_fingerprint


def get_study_file():
    """The study file: `--config study_file=...`, else the last `--configfile`."""
    if "study_file" in config:
        return str(config["study_file"])
    if workflow.configfiles:
        return str(workflow.configfiles[-1])
    raise InputError(
        "<snakemake>",
        "--configfile",
        "<none>",
        "a study file: --configfile spaces/<name>.yaml",
    )


RESULTS_ROOT = "results"
# Parsed input files and passed schema checks, shared by every job of the run (src/archsweep/load/document_cache.py;
# an absolute path, so a job finds it wherever it runs); a cache the user names is kept.
os.environ[CACHE_DIR_ENV] = os.path.abspath(
    os.environ.get(CACHE_DIR_ENV) or f"{RESULTS_ROOT}/.cache"
)

# Validated once at DAG time (schema + cross-field checks); errors name file, key, value, printed as one
# message without Snakemake's traceback (as `archsweep run` prints them), exit status 2.
try:
    STUDY_FILE = get_study_file()
    STUDY = load_study(STUDY_FILE)
except ArchsweepError as exc:
    print(f"archsweep: error: {exc}", file=sys.stderr)
    sys.exit(2)
HAS_SWEEP = STUDY.sampling_method is not None
RESULTS = f"{RESULTS_ROOT}/{STUDY.name}"
LOGS = f"{RESULTS}/logs"
BENCHMARKS = f"{RESULTS}/benchmarks"
SHARD_IDS = list(range(STUDY.shards)) if HAS_SWEEP else []
REPORT_PLOTS = [f"{RESULTS}/report/{name}" for name in plot_names(STUDY)]
# What the space and evaluate jobs read of the study and data/ (their `params:`): they rerun
# when it changes, not when the study file's mtime does (constraints and objectives are applied
# after evaluation, by collect).
SPACE_FINGERPRINT = space_fingerprint(STUDY)
EVALUATE_FINGERPRINT = evaluate_fingerprint(STUDY)

# Every job is `python -m archsweep.workflow <stage> ...` (a shell job: no Snakefile re-read).
shell.prefix(
    f"set -euo pipefail; export PYTHONPATH={shlex.quote(SRC)}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
    f"export {CACHE_DIR_ENV}={shlex.quote(os.environ[CACHE_DIR_ENV])}; "
)


wildcard_constraints:
    shard=r"\d+",


def get_search_exports(wildcards):
    """Search exports made by rules/search.smk, when the study has a `search` section."""
    if STUDY.search is None:
        return []
    return [f"{RESULTS}/search/trials.parquet", f"{RESULTS}/search/hypervolume.parquet"]


def get_final_targets():
    """The targets of the workflow: the report (sweep and/or search) and the search exports."""
    return [f"{RESULTS}/report/report.md"] + get_search_exports(None)
