"""s13-user: a new user's bad input, each refused with one message naming the file, the key path,
the value and what is allowed (exit status 2, no traceback, no Snakemake job started).

Each study case edits ``spaces/tiny.yaml`` in a temporary file and runs ``archsweep run FILE
--dry-run`` in-process; the message must hold the file name and every listed fragment.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from archsweep.cli.app import main
from archsweep.load.paths import repo_root

TINY = yaml.safe_load((repo_root() / "spaces" / "tiny.yaml").read_text(encoding="utf-8"))


def _refused(argv: list[str], fragments: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.startswith("archsweep: error:") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


def _study(tmp_path: Path, edit: Callable[[dict[str, Any]], object]) -> Path:
    document = copy.deepcopy(TINY)
    edit(document)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _training(**job: Any) -> Callable[[dict[str, Any]], object]:
    return lambda d: d.update(workloads=[{"model": "llama3-8b", "training": job}])


# (case, edit of tiny.yaml, fragments the message must hold besides the file name)
STUDY_CASES: list[tuple[str, Callable[[dict[str, Any]], object], list[str]]] = [
    # a token count given with a unit: the string form is allowed, so the message says which strings
    ("batch_tokens_wrong_unit", _training(global_batch={"tokens": "8 GB"}),
     ["workloads[0].training.global_batch.tokens: got '8 GB'", "A token count", "16Mi"]),
    ("total_tokens_wrong_unit", _training(total_tokens="300 GHz"),
     ["workloads[0].training.total_tokens: got '300 GHz'", "A token count"]),
    ("batch_both_forms", _training(global_batch={"tokens": "8Mi", "sequences": 512}),
     ["workloads[0].training.global_batch: got <dict>", "at most 1 key(s) out of sequences, tokens"]),
    ("shards_object_negative", lambda d: d.update(shards={"target_seconds_per_job": -5}),
     ["shards.target_seconds_per_job: got -5", "a number > 0"]),
    ("shards_word", lambda d: d.update(shards="many"), ["shards: got 'many'", "'auto'"]),
    ("grid_with_samples", lambda d: d.update(sampling={"method": "grid", "samples": 10}),
     ["sampling: got <dict>", "method grid takes neither 'samples' nor 'seed'"]),
    ("constraint_without_bound", lambda d: d.update(constraints=[{"column": "power_w"}]),
     ["constraints[0]: got <dict>", "max, min or both"]),
    ("load_qps_and_concurrency",
     lambda d: d.update(workloads=[{"model": "llama3-8b", "serving": {
         "input_tokens": 10, "output_tokens": 10, "load": {"qps": 1, "concurrency": 4}}}]),
     ["workloads[0].serving.load.qps", "{qps: X}", "{concurrency: N}"]),
    ("mapping_search_and_strategy",
     lambda d: d.update(mapping={"search": "best", "strategy": "tp=1,pp=1,dp=auto,mb=1"}),
     ["mapping.strategy: got <unknown key 'strategy'>", "{strategy:"]),
    # job options that depend on the model: checked where the job is read, named by the entry's key path
    ("a2a_overlap_dense_model", _training(moe_a2a_overlap=True),
     ["workloads[0].training.moe_a2a_overlap: got True", "only for a MoE model: llama3-8b has no experts"]),
    ("layout_layer_count", _training(pipeline_layout="Et*3|t*4L"),
     ["workloads[0].training.pipeline_layout: got 'Et*3|t*4L'", "here it holds 7 t layers, the model has 32"]),
    ("offload_all_layers", _training(activation_offload_layers=32),
     ["workloads[0].training.activation_offload_layers: got 32", "fewer layers than the model's 32"]),
    ("strategy_vpp_without_pipeline", lambda d: d.update(mapping={"strategy": "tp=1,pp=1,vpp=2,dp=auto,mb=1"}),
     ["mapping.strategy.vpp: got 2", "vpp 1 with pp=1", "(workload llama3-8b)"]),
    ("strategy_pp_vs_layout",
     lambda d: (_training(pipeline_layout="Et*16|t*16L")(d), d.update(mapping={"strategy": "tp=1,pp=4,dp=auto,mb=1"})),
     ["mapping.strategy.pp: got 4", "the 2 stages of pipeline_layout"]),
    ("matrix_efficiency_over_one", lambda d: d["parameters"].update(matrix_efficiency={"values": [0.8, 1.5]}),
     ["parameters.matrix_efficiency.values[1]: got 1.5", "a number at most 1"]),
    ("search_achieved_share_over_one", lambda d: (d.pop("parameters"), d.pop("sampling"), d.update(search={
        "parameters": {"scaleout_achieved_share": {"range": [0.5, 1.2]}}, "trials": 10})),
     ["search.parameters.scaleout_achieved_share.range[1]: got 1.2", "a number at most 1"]),
    # the sensitivity section is checked when the study is read (by `archsweep run` too)
    ("sensitivity_unknown_parameter", lambda d: d.update(sensitivity={"tornado": {"clok_hz": None}}),
     ["sensitivity.tornado.clok_hz: got 'clok_hz'", "a hardware parameter: compute_units"]),
    ("sensitivity_unknown_output", lambda d: d.update(sensitivity={"outputs": ["tokenz"]}),
     ["sensitivity.outputs[0]: got 'tokenz'", "an output column: ", "tokens_per_s"]),
    ("sensitivity_base_wrong_unit", lambda d: d.update(sensitivity={"base": {"clock_hz": "2 TB/s"}}),
     ["sensitivity.base.clock_hz: got '2 TB/s'", "a frequency quantity"]),
    ("sensitivity_grid_one_axis", lambda d: d.update(sensitivity={"grids": [
        {"x": {"compute_units": {"values": [66, 132]}}, "y": {"compute_units": {"values": [66, 132]}}}]}),
     ["sensitivity.grids[0].y: got 'compute_units'", "a parameter other than x"]),
]


@pytest.mark.parametrize(("edit", "fragments"), [c[1:] for c in STUDY_CASES], ids=[c[0] for c in STUDY_CASES])
def test_bad_study_names_file_key_and_value(edit, fragments, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    study = _study(tmp_path, edit)
    _refused(["run", str(study), "--dry-run"], [str(study), *fragments], capsys)


@pytest.mark.parametrize(("content", "value"), [("", "<empty document>"), ("# nothing\n", "<empty document>"),
                                                ("- a\n- b\n", "<list>")], ids=["empty", "comment_only", "list"])
def test_empty_or_non_mapping_study(content, value, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    study = tmp_path / "study.yaml"
    study.write_text(content, encoding="utf-8")
    _refused(["run", str(study)], [f"{study}: got {value}; allowed: a YAML mapping (a study document with the keys name"],
             capsys)


def test_empty_workload_file(tmp_path, capsys):
    model = tmp_path / "empty.yaml"
    model.write_text("", encoding="utf-8")
    _refused(["eval", "--model", str(model), "--accelerator", "H100-SXM"],
             [f"{model}: got <empty document>; allowed: a YAML mapping (a workload document"], capsys)


def _measurements(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    import csv

    shipped = repo_root() / "data" / "validation" / "training_runs.csv"
    with shipped.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header, first = list(reader.fieldnames or []), next(reader)
    path = tmp_path / "runs.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows([{**first, **row} for row in rows])
    return path


def test_validation_csv_with_a_run_id_twice(tmp_path, capsys):
    path = _measurements(tmp_path, [{}, {}])
    _refused(["validate", "--measurements", str(path), "--summary-only"],
             [f"{path}: line 3: run_id: got 'megatron21_t1_1.7B'", "each run_id once", "also on line 2"], capsys)


@pytest.mark.parametrize("content", [b"\x00\xff\xfe\x01", b"run_id,accelerator\n\x00\xff,x\n"], ids=["binary", "nul_row"])
def test_validation_csv_not_utf8(content, tmp_path, capsys):
    path = tmp_path / "runs.csv"
    path.write_bytes(content)  # was a UnicodeDecodeError traceback from the inference-layout sniff
    _refused(["validate", "--measurements", str(path)], [f"{path}: got <'utf-8' codec can't decode", "a UTF-8 CSV file"],
             capsys)


EVAL = ["eval", "--model", "llama3-8b", "--accelerator", "H100-SXM", "--count", "64"]


@pytest.mark.parametrize(("flags", "fragments"), [
    (["--global-batch", "-1"], ["<command line>: --global-batch: got -1", "a positive integer"]),  # was --global-batch-seqs
    (["--offload-layers", "1000"], ["<command line>: --offload-layers: got 1000", "fewer layers than the model's 32"]),
    (["--pipeline-layout", "Et*3|tL"], ["<command line>: --pipeline-layout: got 'Et*3|tL'", "here it holds 4 t layers"]),
    (["--moe-a2a-overlap"], ["<command line>: --moe-a2a-overlap: got True", "only for a MoE model"]),
    # a fixed strategy the job's pipeline cannot take (was accepted: every mapping infeasible, or vpp at pp=1 priced)
    (["--strategy", "tp=1,pp=1,vpp=2,mb=1"], ["--strategy: vpp: got 'vpp=2'", "vpp 1 with pp=1"]),
    (["--strategy", "tp=1,pp=8,vpp=8,mb=1"], ["--strategy: vpp: got 'vpp=8'", "at most 4 with pp=8"]),
    (["--pipeline-layout", "Et*16|t*16L", "--strategy", "tp=1,pp=4,mb=1"],
     ["--strategy: pp: got 'pp=4'", "pp x vpp = the 2 stages of pipeline_layout 'Et*16|t*16L' (pp one of 1, 2)"]),
], ids=["global_batch_negative", "offload_all_layers", "layout_layer_count", "a2a_overlap_dense", "vpp_without_pp",
        "vpp_over_layers", "layout_vs_pp"])
def test_bad_eval_flag_is_named(flags, fragments, capsys):
    _refused([*EVAL, *flags], fragments, capsys)


@pytest.mark.parametrize(("job", "fragments"), [
    ({"pipeline_layout": "Et*3|tL"}, ["training.pipeline_layout: got 'Et*3|tL'", "here it holds 4 t layers"]),
    ({"moe_a2a_overlap": True}, ["training.moe_a2a_overlap: got True", "only for a MoE model"]),
    ({"activation_offload_layers": 32}, ["training.activation_offload_layers: got 32", "fewer layers than"]),
], ids=["layout_layer_count", "a2a_overlap_dense", "offload_all_layers"])
def test_model_file_job_that_does_not_fit_the_model(job, fragments, tmp_path, capsys):
    document = yaml.safe_load((repo_root() / "models" / "llama3-8b.yaml").read_text(encoding="utf-8"))
    document["name"] = "mine"
    document["training"].update(job)
    model = tmp_path / "mine.yaml"
    model.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    _refused(["eval", "--model", str(model), "--accelerator", "H100-SXM", "--count", "64"], [str(model), *fragments],
             capsys)


@pytest.mark.parametrize("cores", ["0", "lots", "-2", "1.5"])
def test_run_cores_checked_before_snakemake(cores, capsys):
    # 0 had Snakemake wait forever; a word failed only after the workflow loaded, reported as a failed run
    with pytest.raises(SystemExit) as exit_:
        main(["run", "tiny", "--cores", cores])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err
    assert f"argument --cores: got '{cores}'; allowed: a whole number of cores >= 1 or 'all'" in err


SERVING = ["eval", "--serving", "--model", "llama3-8b", "--accelerator", "H100-SXM", "--count", "8",
           "--input-tokens", "1024", "--output-tokens", "128"]


@pytest.mark.parametrize(("argv", "fragment"), [
    ([*EVAL, "--ttft-max", "2s"], "--ttft-max: got '2s'; allowed: only with --serving"),
    ([*EVAL, "--qps", "5"], "--qps: got '5'; allowed: only with --serving"),
    ([*EVAL, "--no-disaggregation"], "--no-disaggregation: got 'True'; allowed: only with --serving"),
    ([*SERVING, "--recipe", "mxfp8"], "--recipe: got 'mxfp8'; allowed: not used with --serving"),
    ([*SERVING, "--mode", "finetune_lora"], "--mode: got 'finetune_lora'; allowed: not used with --serving"),
    ([*SERVING, "--exhaustive"], "--exhaustive: got 'True'; allowed: not used with --serving"),
], ids=["ttft_without_serving", "qps_without_serving", "disaggregation_without_serving", "recipe_with_serving",
        "mode_with_serving", "exhaustive_with_serving"])
def test_eval_option_of_the_other_kind_is_refused(argv, fragment, capsys):
    # each was ignored without a word
    _refused(argv, [f"<command line>: {fragment}"], capsys)


def test_snakemake_with_a_bad_study_config_prints_one_message(tmp_path):
    """`snakemake --configfile BAD` (the workflow without the CLI): the loader's message, exit 2, no traceback
    (it was Snakemake's "InputError in file rules/common.smk" with the loader's frames)."""
    import subprocess
    import sys

    study = _study(tmp_path, lambda d: d["parameters"].update(scaleup_bw_bytes_per_s={"values": ["80 GHz"]}))
    done = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--snakefile",
                           str(repo_root() / "Snakefile"), "--directory", str(tmp_path), "--configfile", str(study)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and 'File "' not in done.stderr, done.stderr
    assert (f"archsweep: error: {study}: parameters.scaleup_bw_bytes_per_s.values[0]: got '80 GHz'; "
            "allowed: a bandwidth quantity") in done.stderr


def _catalog(tmp_path: Path, edit: Callable[[dict[str, Any]], object]) -> Path:
    """A data directory linking to the checkout's data/, with an edited hardware/catalog.yaml."""
    root = repo_root() / "data"
    data = tmp_path / "data"
    (data / "hardware").mkdir(parents=True)
    for entry in root.iterdir():
        if entry.name != "hardware":
            (data / entry.name).symlink_to(entry)
    for entry in (root / "hardware").iterdir():
        if entry.name != "catalog.yaml":
            (data / "hardware" / entry.name).symlink_to(entry)
    document = yaml.safe_load((root / "hardware" / "catalog.yaml").read_text(encoding="utf-8"))
    edit(document["H100-SXM"]["parameters"])
    (data / "hardware" / "catalog.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return data


@pytest.mark.parametrize(("edit", "fragment"), [
    (lambda p: p["scaleup_bw_bytes_per_s"].update(value="80 GHz"),  # was got "'80 GHz'" (quoted twice)
     "H100-SXM.parameters.scaleup_bw_bytes_per_s.value: got '80 GHz'; allowed: a bandwidth quantity"),
    (lambda p: p["matrix_efficiency"].update(value=1.5),  # was accepted
     "H100-SXM.parameters.matrix_efficiency.value: got 1.5; allowed: a number at most 1"),
], ids=["bandwidth_in_ghz", "matrix_efficiency_over_one"])
def test_catalog_override_names_part_key_and_value(edit, fragment, tmp_path, capsys, monkeypatch):
    data = _catalog(tmp_path, edit)
    monkeypatch.setenv("ARCHSWEEP_DATA_DIR", str(data))
    _refused(["eval", "--model", "llama3-8b", "--accelerator", "H100-SXM", "--count", "8"],
             [f"{data / 'hardware' / 'catalog.yaml'}: {fragment}"], capsys)


def test_serving_measurements_header_only_or_run_id_twice(tmp_path, capsys):
    """The serving (inference-layout) reader refuses what the training reader refuses (it validated 0 rows, exit 0,
    and a repeated row twice)."""
    shipped = (repo_root() / "data" / "validation" / "inference_runs.csv").read_text(encoding="utf-8").splitlines()
    header_only, twice = tmp_path / "h.csv", tmp_path / "t.csv"
    header_only.write_text(shipped[0] + "\n", encoding="utf-8")
    twice.write_text("\n".join([shipped[0], shipped[1], shipped[1]]) + "\n", encoding="utf-8")
    _refused(["validate", "--measurements", str(header_only)],
             [f"{header_only}: got <header and no data row>; allowed: at least one measured run"], capsys)
    run_id = shipped[1].split(",")[0]
    _refused(["validate", "--measurements", str(twice)], [f"{twice}: run_id: got '{run_id}'; allowed: each run_id once"],
             capsys)


@pytest.mark.parametrize(("flag", "value"), [("--count", "lots"), ("--count", "8.5"), ("--global-batch", "4Mi"),
                                             ("--seq-len", "4k"), ("--offload-layers", "two"), ("--lora-rank", "16.0")])
def test_integer_flag_says_what_is_allowed(flag, value, capsys):
    # argparse's own "invalid int value: 'lots'" named no allowed form
    with pytest.raises(SystemExit) as exit_:
        main([*EVAL, flag, value])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err
    assert f"argument {flag}: got '{value}'; allowed: a whole number" in err
