"""What the scripts that read a Megatron-Bridge performance row's preset share (mbridge_param_gather.py,
mbridge_fp8_params.py, mbridge_grad_reduce.py): the release each container ran (:data:`RELEASES`), the preset
functions' model prefix of a row (:func:`preset_model`), the release, tag and system a row names
(:func:`row_release`), the performance scripts' ``compute_dtype`` of a row (:func:`compute_dtype`), the
``precision == "<dtype>"`` and ``config_variant == "<variant>"`` tests a preset's ``if`` makes (:func:`precision_test`,
:func:`variant_test`), the functions of the performance configs with what each sets and calls
(:func:`config_functions`) and the ``overlap_param_gather`` settings each function makes, itself or through a function
of the same file it calls, with the precision and config variant it makes them for (:func:`gather_settings`: read by
mbridge_param_gather.py and mbridge_archive_rows.py).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TypeVar

#: NeMo container -> Megatron-Bridge tag: 25.09 / 25.11 / 26.02 per docs/releases/software-versions.md @v0.3.0
#: (mbridge_param_gather.py), 26.02.01 .. 26.06.01 per docs/versions1.json @067f987df (mbridge_archive_rows.py
#: ``RELEASES``); each read at the commit pinned_mirrors.py ``MBRIDGE_COMMITS`` pins for the tag.
RELEASES = {"25.09": "v0.1.0rc3", "25.11": "v0.2.0", "26.02": "v0.3.0", "26.02.01": "v0.3.1", "26.04": "v0.4.0",
            "26.04.01": "v0.4.2", "26.06": "v0.5.0", "26.06.01": "v0.5.1"}
#: Data-set model name (prefix of the ``model`` cell) -> the preset functions' model prefix.
MODELS = (("LLAMA3-8B", "llama3_8b"), ("LLAMA3-70B", "llama3_70b"), ("LLAMA3.1-405B", "llama31_405b"),
          ("DeepSeekV3", "deepseek_v3"), ("Qwen3_30B_a3B", "qwen3_30b_a3b"), ("Qwen3_235B_a22B", "qwen3_235b_a22b"),
          ("GPT OSS 120B", "gpt_oss_120b"), ("Kimi_K2", "kimi_k2"))
T = TypeVar("T")
_HERE = "data/validation/derive/_mbridge_presets.py"

#: A performance row's run_id: ``mbridge[-fwd]_<container>_DGX-<system>_...``.
ROW = re.compile(r"^mbridge(?:-fwd)?_(\d\d\.\d\d(?:\.\d\d)?)_DGX-(\w+?)_")


def preset_model(row: Mapping[str, str]) -> str:
    """The preset functions' model prefix of a row (:data:`MODELS`); a model with none stops the script."""
    model = next((key for name, key in MODELS if row["model"].startswith(name)), None)
    if model is None:
        raise SystemExit(f"{row['run_id']}: model {row['model']!r} has no preset prefix in {_HERE} MODELS")
    return model


def row_release(row: Mapping[str, str]) -> tuple[str, str, str] | None:
    """(container, Megatron-Bridge tag, system in lower case) of a performance row (:data:`ROW`); None for any other
    row; a container not in :data:`RELEASES` stops the script."""
    match = ROW.match(row["run_id"])
    if not match:
        return None
    release, gpu = match.group(1), match.group(2).lower()
    if release not in RELEASES:
        raise SystemExit(f"{row['run_id']}: container {release} not in {_HERE} RELEASES {sorted(RELEASES)}")
    return release, RELEASES[release], gpu


def compute_dtype(precision: str) -> str:
    """The performance scripts' ``compute_dtype`` of a row's ``precision`` cell."""
    text = precision.upper()
    if "MX" in text:
        return "fp8_mx"
    if "NVFP4" in text:
        return "nvfp4"
    return "bf16" if "BF16" in text else "fp8_cs"


def precision_test(test: ast.expr) -> str | None:
    """``"fp8_mx"`` for the test ``precision == "fp8_mx"``; None for another test."""
    if (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "precision"
            and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq) and isinstance(test.comparators[0], ast.Constant)):
        return str(test.comparators[0].value)
    return None


def variant_test(test: ast.expr) -> str | None:
    """``"v2"`` for the test ``config_variant == "v2"`` or ``config_variant.lower() == "v2"`` (the value in lower
    case); None for another test."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
            and isinstance(test.comparators[0], ast.Constant) and isinstance(test.comparators[0].value, str)):
        return None
    left = test.left
    if (isinstance(left, ast.Call) and not left.args and not left.keywords and isinstance(left.func, ast.Attribute)
            and left.func.attr == "lower"):
        left = left.func.value
    return test.comparators[0].value.lower() if isinstance(left, ast.Name) and left.id == "config_variant" else None


def guard(test: ast.expr, dtype: str, variant: str) -> tuple[str, str]:
    """(dtype, config variant) a statement under ``if test:`` runs for, in a block that runs for (``dtype``,
    ``variant``) ("*": any): the test's ``precision ==`` (:func:`precision_test`) and ``config_variant ==``
    (:func:`variant_test`) parts, alone or joined by ``and``; any other test or part leaves them as they are."""
    parts = test.values if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) else [test]
    for part in parts:
        dtype = precision_test(part) or dtype
        variant = variant_test(part) or variant
    return dtype, variant


@dataclass(frozen=True)
class GatherSetting:
    """One ``<x>.<config>.overlap_param_gather = <bool>`` a performance config function makes: ``config``
    ("comm_overlap", "ddp", "optimizer"), ``value``, the compute dtype and config variant it is made for ("*": any;
    :func:`guard`), ``line`` (of the assignment, or of the call through which the function makes it), ``test`` (the
    source of the innermost ``if`` test it is under, "" none) and ``via`` ((called function, line of the assignment
    there), ... when made through calls, outermost first)."""

    config: str
    value: bool
    dtype: str
    variant: str
    line: int
    test: str
    via: tuple[tuple[str, int], ...] = ()


def gather_settings(source: str) -> dict[str, list[GatherSetting]]:
    """{function: its :class:`GatherSetting` list, in source order} of every function in ``source`` (a performance
    config file) that sets ``overlap_param_gather``: its own assignments, under ``if`` tests (:func:`guard`; the
    ``else`` / ``elif`` of a test runs under the enclosing block's), and those of a top-level function of the same
    file it calls as a statement (``disable_param_gather_overlap(cfg)``), recursively, at the call's line and under
    the call's tests (the called function's own tests kept; a called function's setting for another dtype or variant
    than the call's is dropped)."""
    tree = ast.parse(source)
    top = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}

    def walk(body: list[ast.stmt], dtype: str, variant: str, test: str, stack: frozenset[str]) -> list[GatherSetting]:
        out: list[GatherSetting] = []
        for stmt in body:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, bool):
                for target in stmt.targets:
                    match = re.fullmatch(r"(?:.+\.)?(\w+)\.overlap_param_gather", ast.unparse(target))
                    if match:
                        out.append(GatherSetting(match.group(1), stmt.value.value, dtype, variant, stmt.lineno, test))
            elif (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and isinstance(stmt.value.func, ast.Name)
                  and stmt.value.func.id in top and stmt.value.func.id not in stack):
                name = stmt.value.func.id
                for inner in walk(top[name].body, "*", "*", "", stack | {name}):
                    d = dtype if inner.dtype == "*" else inner.dtype
                    v = variant if inner.variant == "*" else inner.variant
                    if dtype not in ("*", d) or variant not in ("*", v):
                        continue
                    out.append(replace(inner, dtype=d, variant=v, line=stmt.lineno, test=inner.test or test,
                                       via=((name, inner.line), *inner.via)))
            elif isinstance(stmt, ast.If):
                d, v = guard(stmt.test, dtype, variant)
                out += walk(stmt.body, d, v, ast.unparse(stmt.test), stack)
                out += walk(stmt.orelse, dtype, variant, test, stack)
        return out

    found: dict[str, list[GatherSetting]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and (settings := walk(node.body, "*", "*", "", frozenset({node.name}))):
            found[node.name] = settings
    return found


def config_functions(texts: Mapping[str, str], settings: Callable[[str, ast.FunctionDef], list[T]]
                     ) -> dict[str, tuple[str, list[T], set[str]]]:
    """{function: (file, ``settings(file, function)``, the names it calls)} of every function defined in ``texts``
    ({path: Python source} of the performance configs), in file order (a later definition of a name wins)."""
    found: dict[str, tuple[str, list[T], set[str]]] = {}
    for path, text in texts.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef):
                calls = {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
                found[node.name] = (path, settings(path, node), calls)
    return found
