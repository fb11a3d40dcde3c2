"""Serving over a full-mesh scale-up domain (issue 10, s18-G): every use of the scale-up fabric in the serving
model goes through the topology-aware collectives of :mod:`archsweep.model.collectives` (TP all-reduce, EP
all-to-all, PP hop in ``inference/step.py``; the disaggregated KV transfer in ``inference/serving.py``, which read
the raw per-accelerator rate before), and H200 NVL's 4-way NVLink bridge is the four-card mesh it is (no NVSwitch:
each card's 18 NVLink 4 links split 6 / 6 / 6 over its 3 peers)."""

from __future__ import annotations

import numpy as np
import pytest

from archsweep.load.calibration import load_calibration
from archsweep.load.catalog import get_accelerator
from archsweep.load.serving_calibration import load_serving_calibration
from archsweep.load.workloads import load_workload
from archsweep.model import collectives as coll
from archsweep.model.inference import ServingJob, enumerate_serving_configs, serving_performance
from archsweep.spec.hardware import HardwareArrays

CAL = load_calibration()
SCAL = load_serving_calibration()
NVL = get_accelerator("H200-NVL").design


def _mesh_and_switched(design, domain: int, count: int, bw: float | None = None) -> HardwareArrays:
    """The design as a full mesh of ``domain`` and its switched twin at the same per-accelerator link rate,
    as a column (2, 1) to broadcast against a row of configurations."""
    kw = dict(scaleup_domain_size=domain, accelerator_count=count)
    if bw is not None:
        kw["scaleup_bw_bytes_per_s"] = bw
    hw = HardwareArrays.from_designs([design.replace(scaleup_topology="full_mesh", **kw),
                                      design.replace(scaleup_topology="switched", **kw)])
    return HardwareArrays(**{k: v[:, None] for k, v in hw.columns().items()})


def test_h200_nvl_is_a_four_card_mesh_at_a_third_of_its_links_per_peer():
    """NVIDIA: '2- or 4-way NVLink bridge: 900 GB/s per GPU' (450 GB/s per direction, 18 NVLink 4 links); a 4-way
    bridge joins each card to each of the 3 others, so a pair talks over 6 links, 150 GB/s per direction."""
    assert NVL.scaleup_topology == "full_mesh"
    assert NVL.scaleup_domain_size == 4
    assert NVL.scaleup_bw_bytes_per_s == pytest.approx(450e9)
    hw = HardwareArrays.from_designs([NVL])
    assert coll.scaleup_bw_effective(hw, np.array(2.0))[0] == pytest.approx(150e9)
    assert coll.scaleup_bw_effective(hw, np.array(4.0))[0] == pytest.approx(450e9)


@pytest.mark.parametrize("name", ["L40S", "RTX PRO 6000"])
def test_pcie_only_parts_stay_switched(name):
    """No NVLink: every card has one x16 link into a PCIe switch or root complex that carries all of its peer
    traffic, which is the switched model (each rank at its own link's rate, whatever the group)."""
    assert get_accelerator(name).design.scaleup_topology == "switched"


@pytest.mark.parametrize(("domain", "bw"), [(2, 100e9), (4, 450e9), (8, 262.5e9), (8, 900e9)])
def test_a_mesh_kv_transfer_is_never_faster_than_the_switched_domain_at_the_same_link_rate(domain, bw):
    """Disaggregated serving inside one domain: each prefill rank sends its KV shard to one decode rank, over the
    links that join the pair, (D - 1) x the switched twin's per-byte time; a mesh of two is a switch."""
    wl = load_workload("llama3-8b")
    job = ServingJob(2048, 128)
    flat = enumerate_serving_configs(wl, job, domain, fixed={"disaggregated": 1.0})
    assert len(flat) > 0
    cfg = flat.reshape((1, -1))
    hw = _mesh_and_switched(NVL, domain, domain, bw)
    r = serving_performance(hw, wl, cfg, job, SCAL, CAL)
    mesh, switched = r.kv_transfer_s[0], r.kv_transfer_s[1]
    assert np.all(switched > 0.0)
    assert np.all(mesh >= switched * (1 - 1e-12))
    lat = NVL.scaleup_latency_s
    np.testing.assert_allclose(mesh - lat, (domain - 1) * (switched - lat), rtol=1e-9)
    assert np.all(r.ttft_s[0] >= r.ttft_s[1] * (1 - 1e-12))


def test_a_kv_transfer_across_domains_goes_over_the_scale_out_network_whatever_the_scale_up_topology():
    wl = load_workload("llama3-8b")
    job = ServingJob(2048, 128)
    cfg = enumerate_serving_configs(wl, job, 8, fixed={"disaggregated": 1.0}).reshape((1, -1))
    r = serving_performance(_mesh_and_switched(NVL, 4, 8), wl, cfg, job, SCAL, CAL)
    np.testing.assert_array_equal(r.kv_transfer_s[0], r.kv_transfer_s[1])


@pytest.mark.parametrize("model", ["llama3-70b", "mixtral-8x7b"])
def test_serving_collectives_on_a_mesh_are_never_faster_than_switched_and_equal_over_the_whole_domain(model):
    """TP all-reduce, EP all-to-all and the PP hop of a decode / prefill iteration run over the peers' links:
    never faster than the switched twin; a replica of one stage spanning the whole domain uses every link."""
    wl = load_workload(model)
    job = ServingJob(1024, 256, weight_precision="fp8", activation_precision="fp8", kv_precision="fp8")
    cfg = enumerate_serving_configs(wl, job, 4, disaggregation=False).reshape((1, -1))
    r = serving_performance(_mesh_and_switched(NVL, 4, 4), wl, cfg, job, SCAL, CAL)
    for name in ("tpot_s", "prefill_time_s", "ttft_s"):
        mesh, switched = getattr(r, name)
        assert np.all(mesh >= switched * (1 - 1e-12)), name
    whole = (cfg.width[0] == 4) & (cfg.pp[0] == 1)
    partial = (cfg.replica_size[0] > 1) & (cfg.replica_size[0] < 4)
    assert whole.any() and partial.any()
    np.testing.assert_allclose(r.tpot_s[0][whole], r.tpot_s[1][whole], rtol=1e-12)
    assert np.all(r.tpot_s[0][partial] > r.tpot_s[1][partial])
