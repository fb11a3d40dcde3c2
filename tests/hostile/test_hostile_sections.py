"""Issue 12, second pass: the malformed-input corpus over the ``search:`` and ``sensitivity:``
sections, serving and training workload entries, roadmap scenarios and data files, the
``eval --serving`` arguments and ``validate --hold-out``. Same contract as
:mod:`test_hostile`: exit status 2, one message naming the culprit, no traceback, nothing
written. Each study case is a mutation of a shipped study, written to a temp folder.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import yaml
from test_hostile import ROOT, _refused, data_with, sandbox  # noqa: F401  (sandbox is a fixture)

from archsweep.cli.app import build_parser
from archsweep.load.study import load_study
from archsweep.results.objectives import DOMAIN_VIOLATION, apply_constraints
from archsweep.spec.serving import MAX_REQUEST_TOKENS

Doc = dict[str, Any]


def _spaces(name: str) -> Doc:
    return yaml.safe_load((ROOT / "spaces" / f"{name}.yaml").read_text(encoding="utf-8"))


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    keys = path.split(".")

    def mutate(doc: Doc) -> None:
        for key in keys[:-1]:
            doc = doc[key]
        doc[keys[-1]] = value
    return mutate


def _workload(entry: Any) -> Callable[[Doc], None]:
    return _set("workloads", [entry])


_SERVE = {"input_tokens": 1024, "output_tokens": 256}

#: case -> (shipped study, mutation, fragment of the message)
_STUDY_CASES: dict[str, tuple[str, Callable[[Doc], None], str]] = {
    "search_trials_1e12": ("search-example", _set("search.trials", 10**12), "search.trials: got 1000000000000"),
    "search_workers_1e6": ("search-example", _set("search.workers", 10**6), "search.workers: got 1000000"),
    "search_batch_size_0": ("search-example", _set("search.batch_size", 0), "search.batch_size: got 0"),
    "search_storage_http": ("search-example", _set("search.storage", "http://example.com/db"),
                            "search.storage: got 'http://example.com/db'"),
    "search_storage_unknown_dialect": ("search-example", _set("search.storage", "oracle://u@h/db"), "search.storage"),
    "search_storage_not_log_path": ("search-example", _set("search.storage", "/tmp/journal.txt"),
                                    "search.storage: got '/tmp/journal.txt'"),
    "search_storage_sqlite_no_path": ("search-example", _set("search.storage", "sqlite://"), "search.storage"),
    "serving_unknown_key": ("tiny", _workload({"model": "llama3-8b", "serving": {**_SERVE, "foo": 1}}),
                            "workloads[0].serving.foo"),
    "serving_bad_load": ("tiny", _workload({"model": "llama3-8b", "serving": {**_SERVE, "load": "lots"}}),
                         "workloads[0].serving.load: got 'lots'"),
    "serving_bad_load_key": ("tiny", _workload({"model": "llama3-8b", "serving": {**_SERVE, "load": {"users": 5}}}),
                             "workloads[0].serving.load"),
    "serving_missing_model": ("tiny", _workload({"serving": _SERVE}), "workloads[0].model: got <missing>"),
    "serving_unknown_model": ("tiny", _workload({"model": "nope-7b", "serving": _SERVE}),
                              "workloads[0].model: got 'nope-7b'"),
    "serving_tokens_1e12": ("tiny", _workload({"model": "llama3-8b", "serving": {**_SERVE, "input_tokens": 10**12}}),
                            "workloads[0].serving.input_tokens"),
    "serving_bad_precision": ("tiny", _workload({"model": "llama3-8b", "serving": {**_SERVE, "precision": "fp3"}}),
                              "workloads[0].serving.precision"),
    "training_bad_precision": ("tiny", _workload({"model": "llama3-8b", "training": {"precision": "fp3"}}),
                               "workloads[0].training.precision: got 'fp3'"),
    "training_negative_batch": ("tiny", _workload({"model": "llama3-8b", "training": {"global_batch": {"sequences": -4}}}),
                                "workloads[0].training.global_batch.sequences: got -4"),
    "training_seq_len_0": ("tiny", _workload({"model": "llama3-8b", "training": {"seq_len": 0}}),
                           "workloads[0].training.seq_len: got 0"),
    "training_lora_without_mode": ("tiny", _workload({"model": "llama3-8b", "training": {"lora_rank": 16}}),
                                   "workloads[0].training.lora_rank: got 16"),
    "training_bad_lora_target": ("tiny", _workload({"model": "llama3-8b", "training": {
        "mode": "finetune_lora", "lora_rank": 16, "lora_targets": ["mlp_fc3"]}}),
        "workloads[0].training.lora_targets[0]: got 'mlp_fc3'"),
    "training_lora_dropout_outside_lora": ("tiny", _workload({"model": "llama3-8b", "training": {"lora_dropout": 0.1}}),
                                           "workloads[0].training.lora_dropout: got 0.1"),
    "training_unknown_model": ("tiny", _workload({"model": "nope-7b", "training": {"seq_len": 2048}}),
                               "workloads[0].model: got 'nope-7b'"),
    "roadmap_unknown_scenario": ("roadmap", _set("scenarios", [2025, 2031]), "scenarios[1]: got 2031"),
}


@pytest.mark.parametrize("case", sorted(_STUDY_CASES))
def test_bad_study_section_is_refused(case, sandbox, capsys, tmp_path):  # noqa: F811
    base, mutate, fragment = _STUDY_CASES[case]
    doc = copy.deepcopy(_spaces(base))
    mutate(doc)
    path = tmp_path / f"{case}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    err = _refused(["run", str(path), "--dry-run"], fragment, capsys, (*sandbox, tmp_path))
    assert path.name in err


def test_bad_storage_names_what_is_allowed(sandbox, capsys, tmp_path):  # noqa: F811
    doc = _spaces("search-example")
    doc["search"]["storage"] = "ftp://host/x"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    err = _refused(["run", str(path), "--dry-run"], "search.storage", capsys, sandbox)
    assert "'journal'" in err and "postgresql" in err and ".log" in err


@pytest.mark.parametrize("storage", ["journal", "runs/search.log", "sqlite:///search.db",
                                     "postgresql://user:${ARCHSWEEP_DB_PASSWORD}@host/db",
                                     "postgresql+psycopg2://u@h:5432/db", "mysql+pymysql://u@h/db"])
def test_supported_storage_is_accepted(storage, tmp_path):
    doc = _spaces("search-example")
    doc["search"]["storage"] = storage
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert load_study(path).search.storage == storage


# --- sensitivity -------------------------------------------------------------------------

_GRID_AXIS = {"range": ["1 GHz", "2 GHz"], "points": 2000}
_SENSITIVITY_CASES: dict[str, tuple[Any, str]] = {
    "not_a_mapping": ("lots", "sensitivity: got 'lots'"),
    "unknown_key": ({"tornadoes": {}}, "sensitivity.tornadoes"),
    "tornado_unknown_parameter": ({"tornado": {"warp": None}}, "sensitivity.tornado.warp"),
    "tornado_bad_unit": ({"tornado": {"clock_hz": ["1 GB", "2 GHz"]}}, "sensitivity.tornado.clock_hz[0]: got '1 GB'"),
    "relative_over_1": ({"relative": 2}, "sensitivity.relative: got 2"),
    "unknown_output": ({"outputs": ["speed"]}, "sensitivity.outputs[0]: got 'speed'"),
    "unknown_workload": ({"workloads": ["nope-7b"]}, "nope-7b"),
    "grid_too_large": ({"grids": [{"x": {"clock_hz": _GRID_AXIS},
                                   "y": {"hbm_bw_per_stack_bytes_per_s": {"range": ["0.5 TB/s", "2 TB/s"], "points": 2000}}}]},
                       "sensitivity.grids[0]: got '2000 x 2000 points'"),
    "grid_same_axis": ({"grids": [{"x": {"clock_hz": {"values": ["1 GHz"]}}, "y": {"clock_hz": {"values": ["2 GHz"]}}}]},
                       "sensitivity.grids[0].y"),
}


@pytest.mark.parametrize("case", sorted(_SENSITIVITY_CASES))
def test_bad_sensitivity_section_is_refused(case, sandbox, capsys, tmp_path):  # noqa: F811
    section, fragment = _SENSITIVITY_CASES[case]
    doc = _spaces("tiny")
    doc["sensitivity"] = section
    path = tmp_path / f"{case}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    err = _refused(["sensitivity", str(path)], fragment, capsys, (*sandbox, tmp_path))
    assert path.name in err


# --- a bad roadmap data file -------------------------------------------------------------

_ROADMAP_FILE_CASES: dict[str, tuple[Callable[[Doc], None], str]] = {
    "unknown_parameter": (lambda d: d["hardware"].update(warp_drive={"value": 1, "source": "x", "locator": "y",
                                                                    "confidence": "low"}), "warp_drive"),
    "bad_unit": (lambda d: d["hardware"]["hbm_bw_per_stack_bytes_per_s"].update(value="2048 GBs"),
                 "hbm_bw_per_stack_bytes_per_s"),
    "year_not_a_number": (lambda d: d.update(year="soon"), "year"),
}


@pytest.mark.parametrize("case", sorted(_ROADMAP_FILE_CASES))
def test_bad_roadmap_data_file_is_refused(case, sandbox, capsys, monkeypatch, tmp_path):  # noqa: F811
    mutate, fragment = _ROADMAP_FILE_CASES[case]
    doc = yaml.safe_load((ROOT / "data" / "roadmap" / "2027.yaml").read_text(encoding="utf-8"))
    mutate(doc)
    data = data_with(tmp_path, "roadmap", "2027.yaml", doc)
    monkeypatch.setenv("ARCHSWEEP_DATA_DIR", str(data))
    err = _refused(["run", str(ROOT / "spaces" / "roadmap.yaml"), "--dry-run"], fragment, capsys, (*sandbox, data))
    assert "2027.yaml" in err


# --- eval --serving arguments ------------------------------------------------------------

_SERVING = ["eval", "--serving", "--model", "llama3-8b", "--accelerator", "H100-SXM", "--count", "8",
            "--ttft-max", "2s", "--tpot-max", "50ms"]
_IO = ["--input-tokens", "2048", "--output-tokens", "256"]
_SERVING_ARGUMENT_CASES = {
    "input_tokens_0": ([*_SERVING, "--input-tokens", "0", "--output-tokens", "256"], "--input-tokens: got '0'"),
    "input_tokens_negative": ([*_SERVING, "--input-tokens", "-5", "--output-tokens", "256"], "--input-tokens: got '-5'"),
    "input_tokens_1e12": ([*_SERVING, "--input-tokens", str(10**12), "--output-tokens", "256"],
                          f"--input-tokens: got '{10**12}'; allowed: a token count <= {MAX_REQUEST_TOKENS}"),
    "output_tokens_0": ([*_SERVING, "--input-tokens", "2048", "--output-tokens", "0"], "--output-tokens: got '0'"),
    "output_tokens_1e12": ([*_SERVING, "--input-tokens", "2048", "--output-tokens", str(10**12)], "--output-tokens"),
    "output_tokens_missing": ([*_SERVING, "--input-tokens", "2048"], "--output-tokens"),
    "ttft_wrong_unit": ([*_SERVING, *_IO, "--ttft-max", "2 GB"], "--ttft-max: got '2 GB'"),
    "tpot_not_a_number": ([*_SERVING, *_IO, "--tpot-max", "fast"], "--tpot-max: got 'fast'"),
    "unknown_precision": ([*_SERVING, *_IO, "--precision", "fp3"], "--precision: got 'fp3'"),
    "unknown_kv_precision": ([*_SERVING, *_IO, "--kv-precision", "int2"], "--kv-precision: got 'int2'"),
    "qps_zero": ([*_SERVING, *_IO, "--qps", "0"], "--qps: got '0'"),
    "training_option_with_serving": ([*_SERVING, *_IO, "--global-batch", "64"], "--global-batch"),
}


@pytest.mark.parametrize("case", sorted(_SERVING_ARGUMENT_CASES))
def test_bad_serving_argument_is_refused(case, sandbox, capsys):  # noqa: F811
    argv, fragment = _SERVING_ARGUMENT_CASES[case]
    _refused(argv, fragment, capsys, sandbox)


def test_qps_and_concurrency_together_are_refused(sandbox, capsys):  # noqa: F811
    """Both loads given: the project's message (what was given, what is allowed), not argparse's usage."""
    err = _refused([*_SERVING, *_IO, "--qps", "5", "--concurrency", "64"],
                   "--qps/--concurrency: got '--qps 5 --concurrency 64'; allowed: one of --qps", capsys, sandbox)
    assert "not both" in err and "usage:" not in err


def test_qps_or_concurrency_alone_is_accepted() -> None:
    """The check refuses only the pair: each option alone still parses."""
    for load in (["--qps", "5"], ["--concurrency", "64"]):
        args = build_parser().parse_args([*_SERVING, *_IO, *load])
        assert (args.qps, args.concurrency) == (("5", None) if load[0] == "--qps" else (None, "64"))


# --- validate --hold-out -----------------------------------------------------------------

def test_unknown_hold_out_group_names_the_groups(sandbox, capsys):  # noqa: F811
    csv = ROOT / "data" / "validation" / "training_runs.csv"
    err = _refused(["validate", "--measurements", str(csv), "--hold-out", "nope"], "--hold-out: got 'nope'", capsys,
                   sandbox)
    assert "training_runs.csv" in err and "megatron" in err and "mlperf" in err


# --- scale-up domain larger than its system: per candidate, not per study ----------------

def test_domain_over_system_is_a_violation_per_candidate(tmp_path):
    """A grid over domain {8, 64} x count {32, 128} is read (64 <= the largest system, 128);
    the (64, 32) candidate is infeasible with ``violation_domain_over_system`` = 1, the others
    are not (<= 0)."""
    doc = _spaces("tiny")
    doc["parameters"]["scaleup_domain_size"] = {"values": [8, 64]}
    doc["parameters"]["accelerator_count"] = {"values": [32, 128]}
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    study = load_study(path)
    domain = np.array([8, 64, 8, 64], dtype=np.int64)
    count = np.array([32, 32, 128, 128], dtype=np.int64)
    columns = {"scaleup_domain_size": domain, "accelerator_count": count, "power_w": np.full(4, 500.0),
               "feasible": np.ones(4, dtype=bool), "model_version": np.array(["v"] * 4)}
    out = apply_constraints(study, columns)
    np.testing.assert_allclose(out[DOMAIN_VIOLATION], [-0.75, 1.0, -0.9375, -0.5])
    assert out["feasible"].tolist() == [True, False, True, True]
    assert list(out).index(DOMAIN_VIOLATION) < list(out).index("model_version")
