"""MLPerf rows whose implementation is NeMo code read as the NeMo stack; a folder with no conf/ of its own takes the
conf of the results that ran the same container and commit (issue 10, s20-G: data/validation/derive/
mlperf_nemo_stack.py, mlperf_stated_layouts.same_build_settings)."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import ModuleType

from fake_mirror import FakeMirror

from archsweep.load.paths import data_dir
from archsweep.validation.cells import read_measurements
from archsweep.validation.row_stack import calibration_stack, stack_of

ROWS = {r["run_id"]: r for r in read_measurements(data_dir() / "validation" / "training_runs.csv")}
_NEMO_CLONE = "RUN git clone https://github.com/NVIDIA/NeMo.git && cd NeMo\n"


def test_nemo_dockerfile_is_found_in_the_own_pointed_or_conf_folder(derive_script: Callable[[str], ModuleType]) -> None:
    find = derive_script("mlperf_nemo_stack").nemo_dockerfile
    impl = "S/benchmarks/llama2_70b_lora/implementations/x"
    own = FakeMirror({f"{impl}/config_A.sh": "", f"{impl}/Dockerfile": "FROM base\n" + _NEMO_CLONE})
    assert find(own, f"{impl}/config_A.sh", "") == f"{impl}/Dockerfile L2"
    arch = FakeMirror({f"{impl}/configs/config_A.sh": "", f"{impl}/Dockerfile.x86_64": _NEMO_CLONE})
    assert find(arch, f"{impl}/configs/config_A.sh", "") == f"{impl}/Dockerfile.x86_64 L1"
    other = FakeMirror({f"{impl}/config_A.sh": "", f"{impl}/Dockerfile": "RUN git clone https://github.com/ROCm/x\n"})
    assert find(other, f"{impl}/config_A.sh", "") is None
    # no Dockerfile of its own: the folder whose NeMo yaml the row's derived names as the one it ran
    twin = "N/benchmarks/llama2_70b_lora/implementations/t"
    named = FakeMirror({f"{impl}/config_A.sh": "", f"{twin}/Dockerfile": _NEMO_CLONE, f"{twin}/conf/c.yaml": ""})
    assert find(named, f"{impl}/config_A.sh", "") is None
    assert find(named, f"{impl}/config_A.sh", f"and {twin}/conf/c.yaml (fp8_params: x)") == f"{twin}/Dockerfile L1"


def _result(image: str, commit: str) -> str:
    return ("+ echo ':::DLPAL ${CONT} ${SLURM_JOB_ID}'\n"
            f":::DLPAL {image} 11 1 node 'unknown' cfg\n"
            "+ srun bash -c 'echo \":::GITCOMMITID ${GIT_COMMIT_ID} ${LAUNCHER_GIT_COMMIT_ID}\"'\n"
            f":::GITCOMMITID {commit} \n")


def test_logged_build_needs_one_image_and_commit_in_every_file(derive_script: Callable[[str], ModuleType]) -> None:
    read = derive_script("mlperf_stated_layouts").logged_build
    folder = "S/results/a/llama2_70b_lora"
    same = FakeMirror({f"{folder}/result_0.txt": _result("/i.sqsh", "abc"), f"{folder}/result_1.txt": _result("/i.sqsh", "abc")})
    assert read(same, folder) == ("/i.sqsh", "abc")  # the unexpanded ${...} echo lines are not read
    mixed = FakeMirror({f"{folder}/result_0.txt": _result("/i.sqsh", "abc"), f"{folder}/result_1.txt": _result("/j.sqsh", "abc")})
    assert read(mixed, folder) is None
    assert read(FakeMirror({f"{folder}/result_0.txt": "no markers\n"}), folder) is None


def _row(system: str, config: str) -> dict[str, str]:
    source = ("MLCommons MLPerf Training v5.0 results (github.com/mlcommons/training_results_v5.0), "
              f"S/results/{system}/llama2_70b_lora/result_*.txt + S/systems/{system}.json")
    derived = f"tp from the launch config training_results_v5.0/{config} (x)" if config else ""
    return {"source": source, "derived": derived}


def test_same_build_settings_take_the_twins_conf_with_the_rows_own_environment(
        derive_script: Callable[[str], ModuleType]) -> None:
    settings = derive_script("mlperf_stated_layouts").same_build_settings
    yaml = "model:\n  fp8_params: ${oc.decode:${oc.env:FP8,True}}\noptim:\n  name: distributed_fused_adam\n"
    files = {"S/benchmarks/llama2_70b_lora/implementations/a/config_A.sh": "",
             "S/benchmarks/llama2_70b_lora/implementations/b/config_B.sh": "",
             "S/benchmarks/llama2_70b_lora/implementations/b/conf/megatron_gpt_peft_tuning_config.yaml": yaml,
             "S/results/a/llama2_70b_lora/result_0.txt": _result("/i.sqsh", "abc"),
             "S/results/b/llama2_70b_lora/result_0.txt": _result("/i.sqsh", "abc")}
    row = _row("a", "S/benchmarks/llama2_70b_lora/implementations/a/config_A.sh")
    twin = _row("b", "S/benchmarks/llama2_70b_lora/implementations/b/config_B.sh")
    got = settings(FakeMirror(files), row, [row, twin], "S/benchmarks/llama2_70b_lora/implementations/a/config_A.sh",
                   {"FP8": "True"})
    assert got["fp8_params"] == "yes" and got["optim"] == "distributed_fused_adam"
    assert "the conf of the results S/results/b/llama2_70b_lora" in got["fp8_params_from"]
    off = settings(FakeMirror(files), row, [row, twin], "x.sh", {"FP8": "False"})  # the row's own environment
    assert off["fp8_params"] == "no"
    other = {**files, "S/results/b/llama2_70b_lora/result_0.txt": _result("/j.sqsh", "abc")}
    assert settings(FakeMirror(other), row, [row, twin], "x.sh", {"FP8": "True"}) == {}  # another image


def test_nemo_code_rows_read_as_the_nemo_stack_and_the_others_do_not() -> None:
    stated = {k for k, r in ROWS.items() if "; NVIDIA NeMo code (training_results_v" in r["framework"]}
    assert len(stated) == 57  # s26-M: + MangoBoost v5.0's three rows (AMD's port)
    assert all(stack_of(ROWS[k]) == "nemo" and calibration_stack(ROWS[k]) == "megatron-core" for k in stated)
    for k in ("mlperf_train_v5.1_University-of-Florida_hpg.dgxb200x8.n32_llama31_405b",
              "mlperf_train_v3.1_Azure+NVIDIA_ND_H100_v5_n1344_pytorch_gpt3",  # s21-J: the v3.1 mirror read too
              "mlperf_train_v5.0_Oracle_1xBM.GPU.GB200.4_llama2_70b_lora",
              "mlperf_train_v4.1_Oracle_1536xBM.GPU.H100.8_gpt3",
              "mlperf_train_v5.0_Oracle_1xBM.GPU.H200.8_llama2_70b_lora"):  # no config named: its results-named folder
        assert k in stated, k
    # DeepSpeed / HF and TPU rows name no NeMo code: left as they were
    for k, r in ROWS.items():
        if r["source_group"] in ("mlperf", "mlperf-forward") and any(
                s in k for s in ("JuniperNetworks", "Intel-HabanaLabs", "Google")):
            assert k not in stated and stack_of(r) == "other", k


def test_mlperf_rows_keeps_the_mlperf_rows_of_an_open_mirror(derive_script: Callable[[str], ModuleType]) -> None:
    """s21-A: the one row walk mlperf_nemo_stack.py and mlperf_lora_logged_layout.py share
    (``_mlperf_common.mlperf_rows``): a row of an MLPerf group whose ``source`` the pattern matches and whose
    results version (group 1) has a mirror open, in file order, with the match."""
    common = derive_script("_mlperf_common")
    source = "(github.com/mlcommons/training_results_{v}), S/results/x/llama2_70b_lora/result_*.txt"
    rows = [{"source_group": "mlperf", "source": source.format(v="v4.0"), "run_id": "a"},
            {"source_group": "nemo", "source": source.format(v="v4.0"), "run_id": "other group"},
            {"source_group": "mlperf-forward", "source": source.format(v="v5.0"), "run_id": "b"},
            {"source_group": "mlperf", "source": source.format(v="v4.1"), "run_id": "no mirror"},
            {"source_group": "mlperf", "source": "arXiv:2104.04473", "run_id": "no match"}]
    pattern = re.compile(r"training_results_(v[\d.]+)\), (\S+?)/results/")
    repos = {"v4.0": FakeMirror({}), "v5.0": FakeMirror({})}
    found = [(row["run_id"], match.group(1)) for row, match in common.mlperf_rows(repos, rows, pattern)]
    assert found == [("a", "v4.0"), ("b", "v5.0")]
    assert common.mlperf_source(repos, rows[3], pattern) is None


def test_the_nemo_tag_a_dockerfile_checks_out_is_named_with_its_month() -> None:
    """s26-B: the rows whose NeMo Dockerfile checks out NVIDIA/NeMo v2.0.0.rc0.beta (AMD's v5.0 ROCm port and its
    copies, GigaComputing v4.1 G593-ZD1) name the tag and its month (2024-05), which bounds their software."""
    tagged = sorted(k for k, r in ROWS.items() if "at v2.0.0.rc0.beta, a 2024-05 NeMo tag)" in r["framework"])
    assert len(tagged) == 10
    assert "mlperf_train_v4.1_GigaComputing_G593-ZD1_pytorch_llama2_70b_lora" in tagged
    assert sum("_v5.0_" in k for k in tagged) == 9  # s26-M: MangoBoost's three through AMD's Dockerfile
    assert all(f"mlperf_train_v5.0_MangoBoost_MI300X-LLMBoost-GPUBoost-{n}node_llama2_70b_lora" in tagged for n in (1, 2, 4))


def test_a_folder_without_dockerfile_takes_the_dockerfile_that_applies_its_patches(
        derive_script: Callable[[str], ModuleType]) -> None:
    """s26-M: a folder with no Dockerfile that ships another folder's NeMo patches and yaml byte-identical runs
    that folder's Dockerfile (MangoBoost v5.0 -> AMD's ROCm port); one differing file, or a Dockerfile that does not
    apply the patch, and it does not."""
    stack = derive_script("mlperf_nemo_stack")
    port, copy = "A/benchmarks/b/implementations/port", "M/benchmarks/b/implementations/copy"
    docker = _NEMO_CLONE + "RUN git checkout v2.0.0.rc0.beta && git apply /w/patches/p.patch\n"
    files = {f"{port}/Dockerfile": docker, f"{port}/patches/p.patch": "diff", f"{port}/src/conf/c.yaml": "y",
             f"{copy}/config_A.sh": "", f"{copy}/patches/p.patch": "diff", f"{copy}/src/conf/c.yaml": "y",
             "X/benchmarks/other/implementations/port/patches/p.patch": "diff"}
    assert stack.patched_twins(FakeMirror(files), copy) == [port]
    assert stack.nemo_dockerfile(FakeMirror(files), f"{copy}/config_A.sh", "") == f"{port}/Dockerfile L1"
    assert stack.patched_twins(FakeMirror(files), port) == []  # has its own Dockerfile
    assert stack.patched_twins(FakeMirror({**files, f"{copy}/src/conf/c.yaml": "z"}), copy) == []
    unapplied = {**files, f"{port}/Dockerfile": _NEMO_CLONE}
    assert stack.patched_twins(FakeMirror(unapplied), copy) == []
    assert stack.patched_twins(FakeMirror({k: v for k, v in files.items() if "/copy/patches/" not in k}), copy) == []


def test_the_24_09_alpha_tag_is_named_with_its_month() -> None:
    """s26-Q: the rows whose NeMo Dockerfile builds NVIDIA/NeMo 24.09-alpha.rc0 (commit 4068955b5a, 2024-09-16) and
    whose framework named no NeMo release name the tag and its month."""
    tagged = sorted(k for k, r in ROWS.items() if "at 24.09-alpha.rc0, a 2024-09 NeMo tag)" in r["framework"])
    assert len(tagged) == 16
    assert "mlperf_train_v5.0_QCT_D74H-7U_llama2_70b_lora" in tagged
