# Configuration and helpers shared by the rules: the study, its paths and the targets.
# Functions only (no rules) in this file.
from archsweep.workflow import stages
from archsweep.spec.errors import InputError
from archsweep.results.report import plot_names
from archsweep.load.study import load_study


def get_study_file():
    """The study file: `--config study_file=...`, else the last `--configfile`."""
    if "study_file" in config:
        return str(config["study_file"])
    if workflow.configfiles:
        return str(workflow.configfiles[-1])
    raise InputError("<snakemake>", "--configfile", "<none>", "a study file: --configfile spaces/<name>.yaml")


# Validated once at DAG time (schema + cross-field checks); errors name file, key, value.
STUDY_FILE = get_study_file()
STUDY = load_study(STUDY_FILE)
HAS_SWEEP = STUDY.sampling_method is not None
RESULTS_ROOT = "results"
RESULTS = f"{RESULTS_ROOT}/{STUDY.name}"
LOGS = f"{RESULTS}/logs"
SHARD_IDS = list(range(STUDY.shards)) if HAS_SWEEP else []
REPORT_PLOTS = [f"{RESULTS}/report/{name}" for name in plot_names(STUDY)]

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
