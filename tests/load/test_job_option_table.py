"""One table of the training job options (issues 10 / 14, s13-jobopts): archsweep.spec.job_option_table.JOB_OPTIONS
is the single source of the schema fragments, the ``archsweep eval`` flags, the what-if override names, the
TrainingJob type checks and the plain validation CSV columns. The hand-written parts (dataclass fields, override
fields, README text) are held equal to it here, and one bad value per generated place gets a clear error (file, key
path, value, what is allowed)."""

from __future__ import annotations

import json
from dataclasses import fields
from importlib.resources import files
from pathlib import Path

import pytest
from job_option_checks import eval_refuses_model_file, problems, study_doc

from archsweep.cli.app import build_parser, main
from archsweep.load.job_options import HAND_READ
from archsweep.load.schema import load_schema
from archsweep.load.study import parse_study
from archsweep.load.workloads import training_job
from archsweep.spec.errors import InputError, InputErrors
from archsweep.spec.job_option_table import JOB_OPTION_NAMES, JOB_OPTIONS, job_option, schema_fragment
from archsweep.spec.training import TrainingJob
from archsweep.validation.cells import read_measurements, stated_job_options
from archsweep.validation.types import Skip
from archsweep.whatif import _FLAGS, WorkloadOverrides

ROOT = Path(__file__).resolve().parents[2]
_PLACES = {"workload": ("properties", "training", "properties"),
           "study": ("$defs", "training_workload", "properties", "training", "properties")}


def _at(doc: dict, path: tuple[str, ...]) -> dict:
    for key in path:
        doc = doc[key]
    return doc


def test_the_hand_written_fields_are_the_tables() -> None:
    """TrainingJob and WorkloadOverrides keep their fields by hand (mypy reads them): the same names, and the
    TrainingJob defaults are the table's."""
    job = {f.name: f.default for f in fields(TrainingJob)}
    assert {o.name: o.default for o in JOB_OPTIONS} == {n: job[n] for n in JOB_OPTION_NAMES}
    overrides = {f.name for f in fields(WorkloadOverrides)}
    assert set(JOB_OPTION_NAMES) <= overrides
    assert set(overrides) - set(JOB_OPTION_NAMES) == {"global_batch_seqs", "seq_len", "precision", "mode", "lora_rank",
                                                     "total_tokens"}
    assert _FLAGS == {o.name: o.flag for o in JOB_OPTIONS}
    assert set(HAND_READ) <= set(JOB_OPTION_NAMES)
    assert all(o.default is None or o.problem(o.default) is None for o in JOB_OPTIONS)  # each default is allowed


def test_schemas_take_the_fragments_from_the_table_only() -> None:
    """The shipped JSON files state no job option (one source); the loaded schemas carry the table's fragments."""
    for name, path in _PLACES.items():
        shipped = json.loads(files("archsweep.schemas").joinpath(f"{name}.schema.json").read_text("utf-8"))
        assert not set(_at(shipped, path)) & set(JOB_OPTION_NAMES), name
        loaded = _at(load_schema(name), path)
        assert {n: loaded[n] for n in JOB_OPTION_NAMES} == {o.name: schema_fragment(o) for o in JOB_OPTIONS}
        assert "{job_options" not in json.dumps(load_schema(name))  # the descriptions' placeholders are filled in


def test_eval_flags_come_from_the_table() -> None:
    eval_parser = build_parser()._subparsers._group_actions[0].choices["eval"]  # type: ignore[union-attr]
    actions = {a.dest: a for a in eval_parser._actions}
    for option in JOB_OPTIONS:
        assert option.flag in actions[option.name].option_strings and actions[option.name].help == option.help


def test_plain_csv_columns_exist_and_read_as_the_rows_state_them() -> None:
    rows = read_measurements(ROOT / "data" / "validation" / "training_runs.csv")
    header = set(rows[0])
    assert all(o.csv_column in header for o in JOB_OPTIONS if o.csv_column)
    empty = stated_job_options({})
    assert empty == {o.name: o.default for o in JOB_OPTIONS if o.csv_generic}
    stated = stated_job_options({"fp8_attention": "yes", "param_gather_overlap": "no", "pipeline_layout": "Et|tL"})
    assert (stated["fp8_dot_product_attention"], stated["param_gather_overlap"], stated["pipeline_layout"]) == \
        (True, False, "Et|tL")


# ---- one bad value per generated place: the error names the place, the value and what is allowed ----

def test_schema_refuses_a_bad_value_in_a_model_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, err = eval_refuses_model_file(tmp_path, capsys, "llama3-8b", 'fp8_params: "yes"')
    assert f"{path}: training.fp8_params: got 'yes'; allowed: type boolean" in err


def test_schema_refuses_a_bad_value_in_a_study_entry() -> None:
    doc = study_doc("s", "tp=1,pp=1,cp=1,mb=1,recompute=none,zero=1",
                    [{"model": "llama3-8b", "training": {"activation_offload_layers": -1}}])
    with pytest.raises((InputError, InputErrors)) as err:
        parse_study(doc, file="s.yaml")
    [problem] = problems(err)
    assert (problem.file, problem.key_path, problem.value) == ("s.yaml", "workloads[0].training.activation_offload_layers",
                                                               "-1")
    assert problem.allowed == "a number >= 0"


def test_a_generated_flag_refuses_a_bad_value(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--model", "llama3-8b", "--accelerator", "H100-SXM", "--precision", "fp8",
                 "--recipe", "fp6"]) == 2
    err = capsys.readouterr().err
    assert "<command line>: --recipe: got 'fp6'; allowed: one of delayed, current, mxfp8, nvfp4" in err
    with pytest.raises(SystemExit):  # argparse refuses a count that is not an integer, naming the flag
        main(["eval", "--model", "llama3-8b", "--accelerator", "H100-SXM", "--offload-layers", "two"])
    assert "--offload-layers" in capsys.readouterr().err


def test_the_generic_key_reader_refuses_a_bad_value() -> None:
    with pytest.raises(InputError, match=r"^f\.yaml: training\.moe_a2a_overlap: got 'no'; allowed: true or false$"):
        training_job({"moe_a2a_overlap": "no"}, base=TrainingJob(64, 4096), default_seq_len=None, file="f.yaml",
                     key="training")


@pytest.mark.parametrize(("field", "value", "allowed"), [
    ("param_gather_overlap", "yes", "true or false"), ("activation_offload_layers", True, "an integer >= 0"),
    ("low_precision_recipe", "fp6", "one of delayed"), ("recompute_modules", ("mlp", "mlp"), "distinct modules"),
    ("recompute_modules", (), "a non-empty list"),
    ("pipeline_layout", "Eq|tL", "unknown characters ['q']")])
def test_the_dataclass_check_refuses_a_bad_value(field: str, value: object, allowed: str) -> None:
    with pytest.raises(InputError) as err:
        TrainingJob(8, 4096, **{field: value})  # type: ignore[arg-type]
    assert (err.value.problem.file, err.value.problem.key_path) == ("<training job>", field)
    assert allowed in err.value.problem.allowed


def test_a_plain_csv_cell_that_is_not_understood_skips_the_row() -> None:
    with pytest.raises(Skip, match=r"fp8_attention='maybe' not understood; allowed: yes/no"):
        stated_job_options({"fp8_attention": "maybe"})
    assert job_option("fp8_dot_product_attention").csv_column == "fp8_attention"


def test_readme_names_every_option() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index("#   training: any of"):text.index("overriding the file's job")]
    assert all(name in block for name in JOB_OPTION_NAMES)
