"""Tests of the shipped workload definitions and their loader (archsweep.load.workloads)."""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import pytest

from archsweep.load.workloads import list_workloads, load_workload, parse_token_count
from archsweep.spec.errors import InputError, InputErrors

SHIPPED = list_workloads()

LLAMA_8B_YAML = """\
name: {name}
source: test
architecture:
  layers: 32
  hidden: 4096
  heads: 32
  kv_heads: 8
  attention: gqa
  ffn_hidden: 14336
  ffn_type: swiglu
  vocab: 128256
  seq_len: 8192
  tied_embeddings: false
  dropout: 0.0
training:
  global_batch: {{sequences: 512}}
  precision: bf16
  mode: pretrain
"""


def write(tmp_path: Path, text: str, name: str = "toy") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def toy(tmp_path: Path, old: str = "", new: str = "", name: str = "toy") -> Path:
    text = LLAMA_8B_YAML.format(name=name)
    if old:
        assert old in text, old  # guard on the test's own template, not user input
        text = text.replace(old, new)
    return write(tmp_path, text, name)


# ---- shipped files ------------------------------------------------------------------------

def test_expected_workloads_are_shipped() -> None:
    expected = {"gpt3-175b", "megatron-22b", "megatron-530b", "megatron-1t", "llama3-8b", "llama3-70b",
                "llama3-405b", "mixtral-8x7b", "deepseek-v3", "mpt-125m", "mpt-350m", "mpt-760m", "mpt-1b",
                "mpt-3b", "mpt-7b", "mpt-13b", "mpt-30b", "mpt-70b"}
    assert expected <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_workload_loads(name: str) -> None:
    w = load_workload(name)
    assert w.name == name
    assert w.source
    assert w.training.global_batch_seqs >= 1
    assert w.heads % w.kv_heads == 0
    assert w.total_params >= w.active_params > 0


# Published total / active parameter counts, billions (tolerance 3%).
PUBLISHED = {
    "gpt3-175b": (175.0, None),        # Brown et al. 2020 Table 2.1 (Megatron SC21 Table 1: 174.6)
    "megatron-22b": (22.0, None),      # Korthikanti et al. MLSys'23 Table 3
    "megatron-530b": (529.6, None),    # Narayanan et al. SC21 Table 1
    "megatron-1t": (1008.0, None),     # Narayanan et al. SC21 Table 1
    "llama3-8b": (8.03, None),         # Llama 3 HF model card (8.03B)
    "llama3-70b": (70.6, None),        # Llama 3 HF model card (70.6B)
    "llama3-405b": (405.9, None),      # Llama 3 HF model card (405.9B)
    "mixtral-8x7b": (46.7, 12.9),      # Jiang et al. 2024 Sec. 2 (47B total / 13B active; 46.7/12.9 in blog)
    "deepseek-v3": (671.0, 37.0),      # DeepSeek-V3 report abstract
    "mpt-7b": (6.659, None),           # llm-foundry benchmark table NumParams
    "mpt-70b": (64.862, None),         # llm-foundry benchmark table NumParams
    "mpt-125m": (0.125, None),         # llm-foundry benchmark table NumParams
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_counts_match_published(name: str) -> None:
    total_b, active_b = PUBLISHED[name]
    w = load_workload(name)
    assert w.total_params / 1e9 == pytest.approx(total_b, rel=0.03)
    if active_b is not None:
        assert w.active_params / 1e9 == pytest.approx(active_b, rel=0.03)


def test_deepseek_v3_structure() -> None:
    w = load_workload("deepseek-v3")
    assert (w.moe_layers, w.dense_layers) == (58, 3)
    assert w.attention == "mla" and w.mla is not None and w.kv_heads == w.heads
    assert w.head_dim == 128 + 64  # default for MLA: query/key width
    assert w.training.precision == "fp8"
    assert w.training.total_tokens == pytest.approx(14.8e12)


def test_tokens_batch_converted_to_sequences() -> None:
    w = load_workload("llama3-405b")
    assert w.training.global_batch_seqs == 2048  # 16Mi tokens / 8192
    assert w.tokens_per_step == 2**24


def test_mixtral_active_includes_router_and_two_experts() -> None:
    w = load_workload("mixtral-8x7b")
    assert w.moe is not None
    expected = (w.total_params - w.moe_layers * (w.moe.num_experts - w.moe.top_k) * w.expert_params)
    assert w.active_params == pytest.approx(expected)


# ---- loader behaviour ---------------------------------------------------------------------

def test_path_and_name_resolve_to_same_workload(tmp_path: Path) -> None:
    path = toy(tmp_path)
    by_path = load_workload(path)
    by_str_path = load_workload(str(path))
    by_name = load_workload("toy", models_dir=tmp_path)
    assert by_path == by_str_path == by_name
    assert by_path.total_params / 1e9 == pytest.approx(8.03, rel=0.01)
    assert list_workloads(tmp_path) == ["toy"]


def test_cache_reloads_edited_file(tmp_path: Path) -> None:
    path = toy(tmp_path)
    first = load_workload(path)
    assert load_workload(path) is first
    time.sleep(0.01)
    toy(tmp_path, "layers: 32", "layers: 16")
    second = load_workload(path)
    assert second.layers == 16 and first.layers == 32


@pytest.mark.parametrize(("raw", "tokens"), [
    (4096, 4096.0), ("4M", 4e6), ("16Mi", 2.0**24), ("15.6T", 15.6e12), ("300B", 300e9), (" 2 Ki ", 2048.0),
])
def test_parse_token_count(raw: object, tokens: float) -> None:
    assert parse_token_count(raw) == pytest.approx(tokens)


@pytest.mark.parametrize("raw", [0, -5, True, "16 MB", "lots", 1.5, "-3M"])
def test_parse_token_count_rejects(raw: object) -> None:
    with pytest.raises(InputError):
        parse_token_count(raw, file="f.yaml", key_path="training.total_tokens")


def test_tokens_batch_must_divide_seq_len_with_hint(tmp_path: Path) -> None:
    path = toy(tmp_path, "global_batch: {sequences: 512}", "global_batch: {tokens: 16M}")
    with pytest.raises(InputError) as info:
        load_workload(path)
    problem = info.value.problem
    assert problem.key_path == "training.global_batch.tokens"
    assert "8192" in problem.allowed and "16Mi" in problem.allowed


def test_tokens_batch_plain_integer(tmp_path: Path) -> None:
    w = load_workload(toy(tmp_path, "global_batch: {sequences: 512}", "global_batch: {tokens: 81920}"))
    assert w.training.global_batch_seqs == 10


# ---- one clear error per bad input --------------------------------------------------------

def _single_problem(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_workload(path)
    assert str(path.resolve()) in str(info.value) or str(path) in str(info.value)
    return info.value


def test_unknown_key(tmp_path: Path) -> None:
    err = _single_problem(toy(tmp_path, "  vocab: 128256\n", "  vocab: 128256\n  vocab_size: 5\n"))
    assert err.problem.key_path == "architecture.vocab_size"
    assert "vocab" in err.problem.allowed


def test_missing_key(tmp_path: Path) -> None:
    err = _single_problem(toy(tmp_path, "  vocab: 128256\n", ""))
    assert err.problem.key_path == "architecture.vocab"
    assert err.problem.value == "<missing>"


def test_missing_seq_len_is_a_job_problem(tmp_path: Path) -> None:
    # seq_len belongs to the job: with a training section and no seq_len anywhere, the job lacks it.
    err = _single_problem(toy(tmp_path, "  seq_len: 8192\n", ""))
    assert err.problem.key_path == "training.seq_len"
    assert err.problem.value == "<missing>"


def test_negative_layers(tmp_path: Path) -> None:
    err = _single_problem(toy(tmp_path, "layers: 32", "layers: -4"))
    assert err.problem.key_path == "architecture.layers"
    assert "-4" in err.problem.value and ">= 1" in err.problem.allowed


def test_heads_not_divisible_by_kv_heads(tmp_path: Path) -> None:
    err = _single_problem(toy(tmp_path, "kv_heads: 8", "kv_heads: 7"))
    assert err.problem.key_path == "architecture.kv_heads"
    assert "divisor of heads (32)" in err.problem.allowed


def test_duplicate_key(tmp_path: Path) -> None:
    err = _single_problem(toy(tmp_path, "  hidden: 4096\n", "  hidden: 4096\n  hidden: 5120\n"))
    assert "duplicate" in err.problem.allowed


def test_unknown_workload_name(tmp_path: Path) -> None:
    toy(tmp_path)
    with pytest.raises(InputError) as info:
        load_workload("llama9-1t", models_dir=tmp_path)
    p = info.value.problem
    assert (p.file, p.key_path) == ("<workloads>", "workload")
    assert "llama9-1t" in p.value and p.allowed == "one of: toy"


def test_unknown_shipped_name_lists_shipped() -> None:
    with pytest.raises(InputError) as info:
        load_workload("gpt-5")
    assert "llama3-405b" in info.value.problem.allowed


def test_name_must_match_file_stem(tmp_path: Path) -> None:
    path = write(tmp_path, LLAMA_8B_YAML.format(name="other"), "toy")
    err = _single_problem(path)
    assert err.problem.key_path == "name" and "'toy'" in err.problem.allowed


def test_top_k_above_num_experts(tmp_path: Path) -> None:
    moe = ("  tied_embeddings: false\n  moe:\n    num_experts: 8\n    top_k: 9\n"
           "    expert_ffn_hidden: 14336\n")
    err = _single_problem(toy(tmp_path, "  tied_embeddings: false\n", moe))
    assert err.problem.key_path == "architecture.moe.top_k"


@pytest.mark.parametrize(("text", "expected"), [("", True), ("    dropless: false\n", False)])
def test_moe_dropless_defaults_to_true(tmp_path: Path, text: str, expected: bool) -> None:
    moe = ("  tied_embeddings: false\n  moe:\n    num_experts: 8\n    top_k: 2\n"
           "    expert_ffn_hidden: 14336\n" + text)
    toy(tmp_path, "  tied_embeddings: false\n", moe)
    wl = load_workload("toy", models_dir=tmp_path)
    assert wl.architecture.moe is not None and wl.architecture.moe.dropless is expected


def test_moe_dropless_must_be_a_boolean(tmp_path: Path) -> None:
    moe = ("  tied_embeddings: false\n  moe:\n    num_experts: 8\n    top_k: 2\n"
           "    expert_ffn_hidden: 14336\n    dropless: maybe\n")
    err = _single_problem(toy(tmp_path, "  tied_embeddings: false\n", moe))
    assert err.problem.key_path == "architecture.moe.dropless"


def test_lora_rank_required_for_lora_mode(tmp_path: Path) -> None:
    err = _single_problem(toy(tmp_path, "mode: pretrain", "mode: finetune_lora"))
    assert err.problem.key_path == "training.lora_rank"


def test_lora_params_when_finetuning(tmp_path: Path) -> None:
    w = load_workload(toy(tmp_path, "mode: pretrain", "mode: finetune_lora\n  lora_rank: 16"))
    # per layer: q,o 2*16*(4096+4096); k,v 2*16*(4096+1024); gate/up/down 3*16*(4096+14336)
    per_layer = 2 * 16 * 8192 + 2 * 16 * 5120 + 3 * 16 * (4096 + 14336)
    assert w.lora_params == 32 * per_layer
    assert w.trainable_params == w.lora_params < 0.01 * w.total_params


def test_several_problems_reported_together(tmp_path: Path) -> None:
    text = LLAMA_8B_YAML.format(name="toy").replace("kv_heads: 8", "kv_heads: 7").replace(
        "mode: pretrain", "mode: pretrain\n  lora_rank: 8")
    with pytest.raises(InputErrors) as info:
        load_workload(write(tmp_path, text))
    assert {p.key_path for p in info.value.problems} == {"architecture.kv_heads", "training.lora_rank"}


def test_gqa_requires_kv_heads(tmp_path: Path) -> None:
    err = _single_problem(toy(tmp_path, "  kv_heads: 8\n", ""))
    assert err.problem.key_path == "architecture.kv_heads" and err.problem.value == "<missing>"


def test_mla_block_required_for_mla(tmp_path: Path) -> None:
    err = _single_problem(toy(tmp_path, "  kv_heads: 8\n  attention: gqa", "  attention: mla"))
    assert err.problem.key_path == "architecture.mla"


def test_errors_pickle(tmp_path: Path) -> None:
    err = _single_problem(toy(tmp_path, "kv_heads: 8", "kv_heads: 7"))
    again = pickle.loads(pickle.dumps(err))
    assert isinstance(again, ValueError) and again.problem == err.problem


def test_dropout_missing_is_named(tmp_path: Path) -> None:
    err = _single_problem(toy(tmp_path, "  dropout: 0.0\n", ""))
    assert err.problem.key_path == "architecture.dropout"
    assert err.problem.value == "<missing>"


@pytest.mark.parametrize("bad", ["1.0", "-0.1", "high"])
def test_dropout_outside_unit_interval_is_named(tmp_path: Path, bad: str) -> None:
    err = _single_problem(toy(tmp_path, "  dropout: 0.0\n", f"  dropout: {bad}\n"))
    assert err.problem.key_path == "architecture.dropout"
    assert bad in err.problem.value
