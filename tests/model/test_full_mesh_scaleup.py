"""A full-mesh scale-up domain (``scaleup_topology: full_mesh``: Intel Gaudi's 21 RoCE ports, 3 to each of the
7 other cards; AMD xGMI, one link to each of the 7 other GPUs): a group of n members of a domain of D reaches its
peers over (n - 1) / (D - 1) of the part's scale-up bandwidth (issue 10, s17-D: the v3.1 Gaudi 2 N32 GPT-3 row's
search took TP 2 at the whole-box rate, 1.253 x measured)."""

from __future__ import annotations

import numpy as np
import pytest
from measured_runs import runs
from random_hardware import CAL, TECH, assert_bound_below_step, random_candidates

from archsweep.load.catalog import get_accelerator, load_catalog
from archsweep.load.workloads import load_workload
from archsweep.model import collectives as coll
from archsweep.model.driver import _exhaustive_best
from archsweep.model.training import pruned_search as ps
from archsweep.model.training.job_kind import TrainingJobKind
from archsweep.model.training.mapping import enumerate_mappings
from archsweep.spec.hardware import HardwareArrays
from archsweep.validation.optimism import search_optimism

GAUDI2 = get_accelerator("Gaudi2").design
SIZE = np.array(64e6)  # bytes per rank


def _pair(design) -> HardwareArrays:
    """The part as catalogued and the same part with a switched domain of the same per-accelerator bandwidth."""
    return HardwareArrays.from_designs([design, design.replace(scaleup_topology="switched")])


def test_the_catalog_meshes_are_the_gaudi_amd_and_h200_nvl_boxes_gaudi_at_intels_21_ports():
    """+ H200 NVL's 4-way NVLink bridge (s18-G; tests/model/test_serving_scaleup_topology.py)."""
    meshes = {name for name, e in load_catalog().items() if e.design.scaleup_topology == "full_mesh"}
    assert meshes == {"Gaudi2", "Gaudi3", "MI300X", "MI325X", "MI350X", "MI355X", "H200-NVL"}
    # Intel: 21 scale-up ports x 100 / 200 Gb/s (the other 3 are the scale-out ports)
    assert GAUDI2.scaleup_bw_bytes_per_s == pytest.approx(21 * 12.5e9)
    assert get_accelerator("Gaudi3").design.scaleup_bw_bytes_per_s == pytest.approx(21 * 25e9)


@pytest.mark.parametrize("n_in", [1.0, 2.0, 3.0, 4.0, 8.0])
def test_mesh_share_is_the_peers_links_and_one_elsewhere(n_in):
    hw = _pair(GAUDI2)
    share = coll.mesh_share(hw, np.array(n_in))
    assert share[1] == 1.0
    assert share[0] == pytest.approx(max(n_in - 1.0, 1.0) / 7.0)  # a point-to-point pair (n_in 1 or 2): one peer


def test_a_pair_in_the_box_runs_at_one_peers_three_ports():
    """TP 2 / a pipeline send inside an HLS-Gaudi2: 3 x 100 GbE = 37.5 GB/s, the whole box's 262.5 / 7."""
    hw = _pair(GAUDI2)
    bw = coll.scaleup_bw_effective(hw, np.array(2.0))
    assert bw[0] == pytest.approx(37.5e9) and bw[1] == pytest.approx(262.5e9)
    p2p = coll.p2p_time_s(hw, SIZE, np.array(False), 1.0) - hw.scaleup_latency_s
    assert p2p[0] == pytest.approx(7.0 * p2p[1])


@pytest.mark.parametrize("n", [2.0, 4.0, 8.0])
def test_collectives_in_a_mesh_are_never_faster_than_switched_and_equal_over_the_whole_box(n):
    hw = _pair(GAUDI2)
    for f in (coll.allreduce_time_s, coll.all_gather_time_s, coll.reduce_scatter_time_s, coll.alltoall_time_s):
        mesh, switched = f(hw, SIZE, np.array(n), np.array(1.0), 0.8)
        assert mesh >= switched * (1 - 1e-12)
        if n == 8.0:
            assert mesh == pytest.approx(switched)


def test_a_mesh_all_reduce_gets_faster_with_more_members_of_the_box():
    """Ring all-reduce over n of D at (n-1)/(D-1) of B: 2 S (D-1) / (n B), falling in n (the opposite of a switch,
    where the per-byte factor 2 (n-1)/n rises)."""
    hw = HardwareArrays.from_designs([GAUDI2])
    times = [coll.allreduce_time_s(hw, SIZE, np.array(n), np.array(1.0), 1.0)[0] for n in (2.0, 4.0, 8.0)]
    assert times[0] > times[1] > times[2]


def _meshed(n: int, seed: int) -> HardwareArrays:
    cols = random_candidates(n, seed=seed).columns()
    cols["scaleup_topology"] = np.full(n, "full_mesh", dtype=object)
    return HardwareArrays(**cols)


@pytest.mark.parametrize(("workload", "n"), [("llama3-70b", 20), ("mixtral-8x7b", 4)])
def test_the_pruned_search_bound_holds_and_is_exact_on_meshes(workload, n):
    """The communication bound reads the raw scale-up bandwidth; the mesh share is <= 1, so it stays below
    every step (comm_bound.py proof item 1), and the pruned search returns the exhaustive answer."""
    wl, hw = load_workload(workload), _meshed(n, 11)
    mappings, fixed_dp = enumerate_mappings(wl)
    assert_bound_below_step(wl, mappings, fixed_dp, CAL, hw)
    want = _exhaustive_best(TrainingJobKind(wl, CAL), hw, mappings, ("step_time_s",), TECH)["step_time_s"]
    assert np.array_equal(ps.best_mapping_indices(hw, wl, mappings, fixed_dp, CAL, "step_time_s"), want)


def test_issue_10_the_gaudi2_n32_gpt3_search_keeps_the_box_for_tensor_parallelism():
    """v3.1 N32 (TP 8 PP 8 stated, 40.86 s measured): at the whole box's rate for TP 2 the search chose TP 2 PP 16,
    1.253 x measured; over one peer's 3 ports it stays at TP 8 (main 7ef5012 -> s17-D: 1.05)."""
    row = next(r for r in runs() if r["run_id"] == "mlperf_train_v3.1_Intel-HabanaLabs_HLS-Gaudi2-N32-PT_gpt3")
    (res,) = search_optimism([row])
    chosen = dict(p.split("=") for p in res.best_mapping.split(","))
    assert float(chosen["tp"]) == 8.0
    assert 0.95 < res.best_over_measured < 1.15
