"""Fill ``fp8_attention`` of the NeMo-based MLPerf Training rows: whether the attention core ran in FP8.

Three facts per row, read from the launch config its ``derived`` names (mlperf_lora_layout.py /
mlperf_stated_layouts.py / mlperf_llama31_8b_rows.py) and the implementation beside it, at the results mirror's
pinned commit (pinned_mirrors.py ``COMMITS``):

* ``FP8_DPA``: the NeMo yaml key ``fp8_dot_product_attention: ${oc.decode:${oc.env:FP8_DPA,0}}``
  (``conf/megatron_gpt_peft_tuning_config.yaml`` of every llama2_70b_lora NeMo implementation v4.0-v5.1;
  ``conf/custom.yaml`` of NVIDIA's v5.1 llama31_8b, default False), which Megatron-Core hands to
  TransformerEngine as ``DelayedScaling(fp8_dpa=...)`` (core_v0.7.0 ``TEDelayedScaling``); and ``FP8`` (the FP8
  autocast it needs). A yaml without the key (every gpt3 implementation): Megatron-Core's default, False.
* the TransformerEngine revision: ``ARG TE_REVISION`` of the implementation's ``Dockerfile`` (``SKIP``: the
  TransformerEngine of the base container ``FROM_IMAGE_NAME``).
* the context-parallel size ``CP`` of the launch config.

Rule. CP 1 with ``FP8`` and ``FP8_DPA``: ``yes`` (TransformerEngine v1.6 = v1.6rc2 = commit 090e724, NVIDIA's
and most v4.0 submitters' ``TE_REVISION``: ``DotProductAttention`` picks cuDNN's fused attention on sm90 and
``FusedAttention.forward`` passes ``self.fp8 and self.fp8_meta["recipe"].fp8_dpa`` to ``FusedAttnFunc``, whose
forward switches to ``FusedAttnBackend["FP8"]``; transformer_engine/pytorch/attention.py @v1.6rc2 L2843-2880,
L2354-2357, L3554-3558; later revisions keep the path). CP > 1 on TransformerEngine v1.6: ``no`` (the
``if context_parallel:`` branch asserts the F16 arbitrary-seqlen backend and calls ``attn_forward_func_with_cp``
without an FP8 argument, L2820-2841: BF16 attention whatever ``FP8_DPA`` says). CP > 1 on another or an
unpublished revision with ``FP8_DPA`` set: left empty with the reason (not established; read as off). Without
``FP8`` or ``FP8_DPA``: ``no``. Every llama2_70b_lora row whose ``result_*.txt`` all print the run's resolved config
alike (NeMo 1.x dump, NeMo 2 ``MCore config``): the same rule on the printed ``fp8``, ``fp8_dot_product_attention``
and ``context_parallel_size`` (``no`` at any CP without both; ``yes`` at CP 1 only; Oracle v5.0 1 x H200 prints
``fp8_dot_product_attention: 0`` at CP 2), which wins over the launch config (s22-R: HPE v5.0 n2 / n4 print CP 1 and
FP8 attention where the config their ``derived`` names says CP 2; first written for the rows with no launch config,
Red Hat v4.0, Fujitsu v4.1). Other rows whose config is
not named, or whose implementation has no NeMo yaml (every row that is not gpt3 / llama2_70b_lora among them), stay
empty (off).

Usage: python data/validation/derive/mlperf_fp8_attention.py <mirror dir of training_results_vX.Y> ...
rewrites data/validation/training_runs.csv in place (idempotent), naming the pinned commit in the
``source_locator`` of the rows filled.
"""

from __future__ import annotations

import re
import sys

from _mlperf_common import (
    dockerfile_arg,
    fill_from_launch_configs,
    fill_mlperf_rows,
    is_true,
    mlperf_source,
    nemo_key,
    printed_value,
)
from pinned_mirrors import Mirror

_KEY = re.compile(r"^\s*(?P<key>fp8_dot_product_attention):\s*"
                  r"(?:\$\{oc\.decode:\$\{oc\.env:(?P<env>\w+),(?P<default>\w+)\}\}|(?P<literal>\w+))\s*$", re.M)
#: TransformerEngine revisions whose context-parallel attention runs BF16 only (v1.6rc2 is commit 090e724;
#: ``release_v1.6`` the v1.6 branch; attention.py L2820-2841 at each, read in NVIDIA/TransformerEngine).
TE_V16 = frozenset({"v1.6rc2", "v1.6", "release_v1.6", "090e72412e06f44fe43aa4c4564ae11469961c9a"})
_NOTE = "data/validation/derive/mlperf_fp8_attention.py"
_LOGGED_SOURCE = re.compile(r"training_results_(v[\d.]+)\), (\S+?/results/[^/]+/llama2_70b_lora)/result_\*\.txt")


def te_revision(mirror: Mirror, impl: str) -> str:
    """``TE_REVISION`` of ``impl``/Dockerfile ("SKIP (<base image>)" where it keeps the container's), "" without one."""
    te = dockerfile_arg(mirror, impl, "TE_REVISION")
    if te is None:
        return ""
    base = dockerfile_arg(mirror, impl, "FROM_IMAGE_NAME")
    return f"SKIP ({base})" if te == "SKIP" and base else te


def fp8_attention(mirror: Mirror, config: str) -> tuple[str, str] | None:
    """("yes" / "no" / "", where it was read) for the launch config ``config`` of ``mirror`` (module rule);
    None when the implementation has no NeMo yaml (left empty)."""
    found = nemo_key(mirror, config, _KEY)
    if found is None:
        return None
    impl, env, path, m = found
    if m is None:
        return "no", f"no fp8_dot_product_attention key in {impl}/conf/*.yaml (Megatron-Core default False)"
    if m["literal"] is not None:
        dpa, dpa_text = is_true(m["literal"]), m["literal"]
    else:
        dpa, dpa_text = is_true(env.get(m["env"], m["default"])), f"{m['env']}={env.get(m['env'], 'unset')}"
    fp8, cp, te = is_true(env.get("FP8", "0")), int(env.get("CP", "1")), te_revision(mirror, impl)
    where = f"{path} (fp8_dot_product_attention; {dpa_text}), {config} (FP8={env.get('FP8', 'unset')}, CP={cp}), " \
            f"TE_REVISION {te or 'not published'}"
    if not (dpa and fp8):
        return "no", where
    if cp == 1:
        return "yes", where
    if te in TE_V16:
        return "no", where + ": TE v1.6 runs context-parallel attention in BF16 (attention.py L2820-2841)"
    return "", where + ": FP8 attention under context parallelism not established for this revision (read as off)"


#: The FP8 formats a printed ``fp8`` may name: NeMo 2's ``MCore config`` prints Megatron-Core's ``fp8='hybrid'`` (or
#: ``'e4m3'``) where the NeMo yaml prints ``fp8: true``; ``None`` / ``false`` is off.
_FP8_FORMATS = frozenset({"hybrid", "e4m3", "e5m2"})


def printed_fp8_on(text: str) -> bool:
    """Whether a printed ``fp8`` value turns FP8 on: true / 1 / yes (NeMo 1.x dump, NeMo 2 yaml) or a format name
    (Megatron-Core ``TransformerConfig.fp8``, :data:`_FP8_FORMATS`)."""
    return is_true(text) or text.lower() in _FP8_FORMATS


def logged_fp8_attention(mirror: Mirror, folder: str) -> tuple[str, str] | None:
    """("yes" / "no", where) from the config every result file of ``folder`` prints alike
    (``_mlperf_common.printed_value`` of ``fp8``, ``fp8_dot_product_attention``, ``context_parallel_size``: the module
    rule; both set at CP > 1 is left to the launch-config path); None when they do not print it alike."""
    cfg = {}
    for key in ("fp8", "fp8_dot_product_attention", "context_parallel_size"):
        if (found := printed_value(mirror, folder, key)) is None:
            return None
        cfg[key], files = found
    value = "yes" if printed_fp8_on(cfg["fp8"]) and is_true(cfg["fp8_dot_product_attention"]) else "no"
    if value == "yes" and cfg["context_parallel_size"] != "1":
        return None  # FP8 attention under CP: the TransformerEngine revision's context-parallel path decides
    return value, (f"the NeMo config printed in {folder}/result_*.txt (all {files} alike: fp8 {cfg['fp8']}, "
                   f"fp8_dot_product_attention {cfg['fp8_dot_product_attention']}, context_parallel_size "
                   f"{cfg['context_parallel_size']})")


def logged_row(repos: dict[str, Mirror], row: dict[str, str]) -> tuple[str, str, str] | None:
    """(results version, "yes" / "no", where) of a llama2_70b_lora row whose result files print the run's config
    (:func:`logged_fp8_attention`: it wins over the launch config, s22-R); None for every other row."""
    match = mlperf_source(repos, row, _LOGGED_SOURCE)
    if match is None:
        return None
    found = logged_fp8_attention(repos[match.group(1)], match.group(2))
    return None if found is None else (match.group(1), *found)


def main(mirrors: list[str]) -> None:
    fill_from_launch_configs(mirrors, "fp8_attention", fp8_attention, _NOTE, 160)
    fill_mlperf_rows(mirrors, "fp8_attention", logged_row, _NOTE, 160)


if __name__ == "__main__":
    main(sys.argv[1:])
