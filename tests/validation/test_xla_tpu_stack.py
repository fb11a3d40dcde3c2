"""TPU rows get their own software stack (``xla-tpu``): JAX / XLA collectives run as ICI DMAs, not as
kernels on the compute cores, so the overlap-interference term of the NCCL stacks does not apply."""

from __future__ import annotations

from dataclasses import fields

import pytest
import yaml
from measured_runs import runs

from archsweep.load.calibration import load_calibration, software_stacks
from archsweep.load.paths import repo_root
from archsweep.load.study import parse_study
from archsweep.validation.fused_mlp import FUSED_AWAY
from archsweep.validation.rows import calibration_stack

ROWS = runs()


def test_every_tpu_row_of_the_public_set_gets_the_xla_stack():
    tpu = [r for r in ROWS if "tpu" in r["accelerator_canonical"].lower()]
    assert len(tpu) >= 12  # MLPerf MaxText (v5p, v6e) and Paxml (v5e) rows
    assert {calibration_stack(r) for r in tpu} == {"xla-tpu"}
    assert all(calibration_stack(r) != "xla-tpu" for r in ROWS if r not in tpu)


def test_jax_on_gpus_stays_on_an_nccl_stack():
    row = {"framework": "maxtext", "accelerator": "NVIDIA H100-SXM5-80GB", "accelerator_canonical": "H100-SXM",
           "source_group": "mlperf"}
    assert calibration_stack(row) == "megatron-core"
    assert calibration_stack({**row, "accelerator": "TPU-v5p", "accelerator_canonical": "TPU v5p"}) == "xla-tpu"


def test_xla_stack_has_no_interference_and_otherwise_megatron_core_constants():
    xla, mcore = load_calibration(stack="xla-tpu"), load_calibration(stack="megatron-core")
    assert xla.overlap_interference == 0.0
    assert mcore.overlap_interference > 0.0  # NCCL channels take SMs from the GEMMs beside them
    differ = {f.name for f in fields(xla) if getattr(xla, f.name) != getattr(mcore, f.name)}
    # XLA fuses the clamp / bias passes (s12-m1); Megatron-FSDP's gathered non-unit layers and ZeRO-2 gradient queue
    # (s19-C) are Megatron-Core's buffers, not XLA's: 0 on xla-tpu; no TransformerEngine v2.15+ a2a+p2p backward
    # (s27-Q: megatron-core's newest TE is 2.16, the TPU rows' software is 2023-24)
    assert differ == {"stack", "overlap_interference", *FUSED_AWAY, "zero3_nonunit_unsharded", "zero2_grad_queue_params",
                      "te_a2a_p2p_backward_sends_output"}
    assert xla.zero3_nonunit_unsharded == 0 and xla.zero2_grad_queue_params == 0


def test_a_study_can_name_the_xla_stack():
    assert "xla-tpu" in software_stacks()
    doc = yaml.safe_load((repo_root() / "spaces" / "tiny.yaml").read_text())
    doc.setdefault("mapping", {"search": "best"})["software"] = "xla-tpu"
    study = parse_study(doc, file="tiny.yaml")
    assert study.mapping.software == "xla-tpu"


@pytest.mark.parametrize("stack", ["megatron-core", "megatron-core-flex", "megatron-core-fa2"])
def test_nccl_megatron_stacks_state_the_interference(stack):
    assert load_calibration(stack=stack).overlap_interference == pytest.approx(0.2)
