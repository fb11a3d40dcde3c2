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
without an FP8 argument, L2820-2841: BF16 attention whatever ``FP8_DPA`` says). CP > 1 with ``cp_comm_type`` ``a2a``
(the NeMo 2 yamls' ``cp_comm_type: ${oc.decode:${oc.env:CP_COMM_TYPE,'a2a'}}``, no launch config of v5.0 / v5.1 sets
``CP_COMM_TYPE``) on a revision of :data:`TE_A2A_FP8`: ``yes`` (s23-G: ``attn_forward_func_with_cp`` hands ``fp8`` to
``AttnFuncWithCPAndQKVOA2A``, whose forward quantizes q, k, v before the all-to-all and runs the fused attention's
FP8 backend, else stops: "FP8 is only supported with Fused Attention!"; release_v2.8 attention/dot_product_attention/
context_parallel.py L3041, L3169-3187, L3276, backends.py L1759-1818; the same at 3f5b475 L3302, L3419-3436). CP > 1 on
another or an unpublished revision, or on the P2P ring, with ``FP8_DPA`` set: left empty with the reason (not
established; read as off). Without
``FP8`` or ``FP8_DPA``: ``no``. Every llama2_70b_lora row whose ``result_*.txt`` all print the run's resolved config
alike (NeMo 1.x dump, NeMo 2 ``MCore config``): the same rule on the printed ``fp8``, ``fp8_dot_product_attention``
and ``context_parallel_size`` (``no`` at any CP without both; ``yes`` at CP 1 only; Oracle v5.0 1 x H200 prints
``fp8_dot_product_attention: 0`` at CP 2), which wins over the launch config (s22-R: HPE v5.0 n2 / n4 print CP 1 and
FP8 attention where the config their ``derived`` names says CP 2; first written for the rows with no launch config,
Red Hat v4.0, Fujitsu v4.1); since s23-G also every gpt3 / llama31_405b / llama31_8b row whose result files print
``fp8_dot_product_attention`` (Oracle v5.1 llama31_8b, the only one). An NVFP4 run (printed ``fp4`` set with
``fp4_recipe: nvfp4``, ``fp8`` off) counts as the FP8 autocast: Megatron-Core 25.09-alpha.rc1 (the v5.1 llama31_8b
Dockerfile's ``MCORE_REVISION``) builds ``NVFP4BlockScaling(fp8_dpa=config.fp8_dot_product_attention)``
(megatron/core/fp4_utils.py ``get_fp4_recipe`` L66-67), and TransformerEngine release_v2.8 (its ``TE_REVISION``)
either runs that attention in FP8 under the per-tensor recipe ``NVTE_DPA_FP8_RECIPE`` names or stops
(attention/dot_product_attention/dot_product_attention.py ``init_fp8_metadata`` L576-640: "DotProductAttention does
not support NVFP4BlockScaling recipe"): a run that finished with both ran FP8 attention. Other rows whose config is
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
    PRINTED_RESULTS,
    dockerfile_arg,
    fill_from_launch_configs,
    fill_mlperf_rows,
    is_true,
    mlperf_source,
    nemo_key,
    nemo_value,
    printed_each,
)
from pinned_mirrors import Mirror

_KEY = re.compile(r"^\s*(?P<key>fp8_dot_product_attention):\s*"
                  r"(?:\$\{oc\.decode:\$\{oc\.env:(?P<env>\w+),(?P<default>\w+)\}\}|(?P<literal>\w+))\s*$", re.M)
#: TransformerEngine revisions whose context-parallel attention runs BF16 only (v1.6rc2 is commit 090e724;
#: ``release_v1.6`` the v1.6 branch; attention.py L2820-2841 at each, read in NVIDIA/TransformerEngine).
TE_V16 = frozenset({"v1.6rc2", "v1.6", "release_v1.6", "090e72412e06f44fe43aa4c4564ae11469961c9a"})
#: TransformerEngine revisions whose all-to-all context parallelism (``cp_comm_type="a2a"``,
#: ``AttnFuncWithCPAndQKVOA2A``) runs FP8 attention (read: release_v2.8, the v5.1 NVIDIA / Supermicro / University of
#: Florida ``TE_REVISION``; 3f5b475, Lambda v5.1's); the 25.04 containers' (``SKIP``) are not published.
TE_A2A_FP8 = frozenset({"release_v2.8", "3f5b47549567d13db76470073c8f0467c23d4fca"})
#: The NeMo yaml key of the context-parallel communication type (data/validation/derive/mlperf_cp_comm_type.py reads
#: it too): ``${oc.decode:${oc.env:CP_COMM_TYPE,'a2a'}}`` or a literal.
CP_COMM_KEY = re.compile(r"^\s*(?P<key>cp_comm_type):\s*(?:\$\{oc\.decode:\$\{oc\.env:(?P<env>\w+),'?(?P<default>[\w+]+)'?\}\}"
                      r"|(?P<literal>[\w+]+))\s*$", re.M)
_NOTE = "data/validation/derive/mlperf_fp8_attention.py"


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
    dpa = is_true(nemo_value(m, env))
    dpa_text = m["literal"] if m["literal"] is not None else f"{m['env']}={env.get(m['env'], 'unset')}"
    fp8, cp, te = is_true(env.get("FP8", "0")), int(env.get("CP", "1")), te_revision(mirror, impl)
    where = f"{path} (fp8_dot_product_attention; {dpa_text}), {config} (FP8={env.get('FP8', 'unset')}, CP={cp}), " \
            f"TE_REVISION {te or 'not published'}"
    if not (dpa and fp8):
        return "no", where
    if cp == 1:
        return "yes", where
    if te in TE_V16:
        return "no", where + ": TE v1.6 runs context-parallel attention in BF16 (attention.py L2820-2841)"
    if te in TE_A2A_FP8 and (comm := cp_comm_type(mirror, config)) == "a2a":
        return "yes", where + f", cp_comm_type {comm}: its all-to-all CP runs FP8 attention (AttnFuncWithCPAndQKVOA2A)"
    return "", where + ": FP8 attention under context parallelism not established for this revision (read as off)"


#: The FP8 formats a printed ``fp8`` may name: NeMo 2's ``MCore config`` prints Megatron-Core's ``fp8='hybrid'`` (or
#: ``'e4m3'``) where the NeMo yaml prints ``fp8: true``; ``None`` / ``false`` is off.
_FP8_FORMATS = frozenset({"hybrid", "e4m3", "e5m2"})
#: The FP4 formats a printed ``fp4`` may name: the ``MCore config`` prints Megatron-Core's ``fp4='e2m1'`` (Oracle v5.1
#: llama31_8b result_0.txt L1109) where the NeMo dump prints ``fp4: true`` (L156); ``TransformerConfig.fp4`` "If set,
#: enables the use of FP4", its docstring naming ``'nvfp4'``; ``None`` / ``false`` is off.
_FP4_FORMATS = frozenset({"e2m1", "nvfp4"})


def printed_fp8_on(text: str) -> bool:
    """Whether a printed ``fp8`` value turns FP8 on: true / 1 / yes (NeMo 1.x dump, NeMo 2 yaml) or a format name
    (Megatron-Core ``TransformerConfig.fp8``, :data:`_FP8_FORMATS`)."""
    return is_true(text) or text.lower() in _FP8_FORMATS


def printed_fp4_on(text: str) -> bool:
    """Whether a printed ``fp4`` value turns FP4 on: true / 1 / yes (NeMo dump) or a format name (Megatron-Core
    ``TransformerConfig.fp4``, :data:`_FP4_FORMATS`)."""
    return is_true(text) or text.lower() in _FP4_FORMATS


def cp_comm_type(mirror: Mirror, config: str) -> str:
    """The ``cp_comm_type`` a NeMo launch config of ``mirror`` runs: the yaml key (:data:`CP_COMM_KEY`) resolved against
    the config's environment; "" where no yaml of its implementation has the key (Megatron-Core's default None:
    TransformerEngine's p2p)."""
    found = nemo_key(mirror, config, CP_COMM_KEY)
    if found is None:
        return ""
    _, env, _, m = found
    return "" if m is None else nemo_value(m, env)


def logged_fp8_attention(mirror: Mirror, folder: str) -> tuple[str, str] | None:
    """("yes" / "no", where) from the config every result file of ``folder`` prints alike
    (``_mlperf_common.printed_each`` of ``fp8``, ``fp8_dot_product_attention``, ``context_parallel_size``, and of
    ``fp4`` / ``fp4_recipe`` where ``fp8`` is off: the module rule; FP8 attention at CP > 1 is left to the
    launch-config path); None when they do not print it alike."""
    cfg, files = printed_each(mirror, folder, ("fp8", "fp8_dot_product_attention", "context_parallel_size", "fp4",
                                              "fp4_recipe"))
    if any(key not in cfg for key in ("fp8", "fp8_dot_product_attention", "context_parallel_size")):
        return None
    autocast, fp4_text = printed_fp8_on(cfg["fp8"]), ""
    if not autocast and is_true(cfg["fp8_dot_product_attention"]):
        if printed_fp4_on(cfg.get("fp4", "")) and cfg.get("fp4_recipe") == "nvfp4":  # an NVFP4 autocast (module rule)
            autocast, fp4_text = True, f", fp4 {cfg['fp4']}, fp4_recipe nvfp4"
    value = "yes" if autocast and is_true(cfg["fp8_dot_product_attention"]) else "no"
    if value == "yes" and cfg["context_parallel_size"] != "1":
        return None  # FP8 attention under CP: the TransformerEngine revision's context-parallel path decides
    return value, (f"the NeMo config printed in {folder}/result_*.txt (all {files} alike: fp8 {cfg['fp8']}{fp4_text}, "
                   f"fp8_dot_product_attention {cfg['fp8_dot_product_attention']}, context_parallel_size "
                   f"{cfg['context_parallel_size']})")


def logged_row(repos: dict[str, Mirror], row: dict[str, str]) -> tuple[str, str, str] | None:
    """(results version, "yes" / "no", where) of a row whose result files print the run's config
    (``_mlperf_common.PRINTED_RESULTS``; :func:`logged_fp8_attention`: it wins over the launch config, s22-R);
    None for every other row."""
    match = mlperf_source(repos, row, PRINTED_RESULTS)
    if match is None:
        return None
    found = logged_fp8_attention(repos[match.group(1)], match.group(2))
    return None if found is None else (match.group(1), *found)


def main(mirrors: list[str]) -> None:
    fill_from_launch_configs(mirrors, "fp8_attention", fp8_attention, _NOTE, 160)
    fill_mlperf_rows(mirrors, "fp8_attention", logged_row, _NOTE, 160)


if __name__ == "__main__":
    main(sys.argv[1:])
