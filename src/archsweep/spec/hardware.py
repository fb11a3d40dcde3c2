"""Hardware design parameters: the one list every other layer derives its columns from.

A *hardware candidate* is one value per parameter in :data:`HARDWARE_PARAMETERS`. The
catalog (``data/hardware/catalog.yaml``) gives complete base designs; a study perturbs one.
Inside the model a batch of candidates is a :class:`HardwareArrays` (struct of arrays), so
the same functions evaluate one point, a million-row batch or a broadcast xarray grid.

All values are SI: bytes, bytes/s (per direction), Hz, W, s. ``*_per_cycle_per_unit``
values are FLOP per clock per compute unit (an SM, CU or TensorCore): peak matrix rate is
``compute_units * matrix_flops_per_cycle_per_unit_bf16 * clock_hz``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np

__all__ = [
    "ParameterInfo", "HARDWARE_PARAMETERS", "PARAMETER_BY_NAME", "NUMERIC_PARAMETERS",
    "CHOICE_PARAMETERS", "AcceleratorDesign", "HardwareArrays",
    "HBM_GENERATIONS", "PROCESS_NODES", "SCALEUP_TOPOLOGIES", "SCALEOUT_TOPOLOGIES",
    "FP8_GEMM_LAYOUTS", "CATALOG_PARAMETERS", "PART_PHYSICS_PARAMETERS", "ANY_HARDWARE_PARAMETER",
]

HBM_GENERATIONS = ("HBM2", "HBM2e", "HBM3", "HBM3e", "HBM4")
PROCESS_NODES = ("N7", "N6", "N5", "N4", "N3", "N2", "A16")
#: Scale-up fabric: a switched domain (NVSwitch, UALink switch), a full mesh of direct links with an equal share of
#: the bandwidth to every peer (Gaudi RoCE, AMD xGMI, H200 NVL 4-way NVLink bridge), or a direct torus (TPU ICI).
SCALEUP_TOPOLOGIES = ("switched", "full_mesh", "torus2d", "torus3d")
#: Scale-out fabric between scale-up domains.
SCALEOUT_TOPOLOGIES = ("rail_optimized", "fat_tree", "dragonfly", "torus3d")
#: Operand layouts the part's FP8 GEMMs take: the TN layout only (Hopper: a per-tensor recipe writes a
#: transposed copy for the other GEMMs), or any layout (Blackwell).
FP8_GEMM_LAYOUTS = ("tn_only", "any")


@dataclass(frozen=True)
class ParameterInfo:
    """Metadata of one hardware parameter.

    Attributes:
        name: column name (SI unit suffix where it has one).
        dimension: unit dimension for :func:`archsweep.load.units.parse_quantity`, or "choice".
        kind: "float", "int" or "choice".
        group: "accelerator", "interconnect", "system", or "physics": a part's measured physics,
            not a parameter of ``data/hardware/catalog.yaml`` but filled per catalog part from
            ``data/hardware/low_precision_rates.yaml`` and the catalog's published figures
            (:func:`archsweep.load.part_physics.part_columns`), ``default`` for a part without the figure.
        description: meaning and unit.
        choices: allowed values for kind "choice".
        minimum: smallest allowed value for numbers (exclusive of 0 where ``positive``).
        positive: the value must be > 0.
        default: value of a "physics" parameter for a part without the figure (neutral: the model's
            behaviour without the effect); None for the other groups (every catalog part sets them).
    """

    name: str
    dimension: str
    kind: Literal["float", "int", "choice"]
    group: Literal["accelerator", "interconnect", "system", "physics"]
    description: str
    choices: tuple[str, ...] = ()
    positive: bool = True
    default: float | str | None = None
    maximum: float | None = None


def _optional_figure(name: str, dimension: str, description: str) -> ParameterInfo:
    """A part-physics figure that a part may lack: a float >= 0 whose 0 (the default) means "no figure for this
    part" (the model then takes the model-wide value or leaves the effect out, as ``description`` says)."""
    return ParameterInfo(name, dimension, "float", "physics", description, positive=False, default=0.0)


HARDWARE_PARAMETERS: tuple[ParameterInfo, ...] = (
    ParameterInfo("compute_units", "count", "int", "accelerator",
                  "number of compute units carrying matrix engines (NVIDIA SMs, AMD CUs, TPU TensorCores x MXUs)"),
    ParameterInfo("matrix_flops_per_cycle_per_unit_bf16", "dimensionless", "float", "accelerator",
                  "dense BF16 matrix FLOP per clock per compute unit (FMA = 2 FLOP)"),
    ParameterInfo("matrix_flops_per_cycle_per_unit_fp8", "dimensionless", "float", "accelerator",
                  "dense FP8 matrix FLOP per clock per compute unit (0 where FP8 is unsupported: BF16 rate used)",
                  positive=False),
    ParameterInfo("vector_flops_per_cycle_per_unit", "dimensionless", "float", "accelerator",
                  "FP32 vector (non-matrix) FLOP per clock per compute unit"),
    ParameterInfo("matrix_efficiency", "dimensionless", "float", "accelerator",
                  "achievable fraction of the dense BF16 matrix peak on large GEMMs (measured max achievable "
                  "matmul / peak: power, clock and scheduling limits of the design); at most 1", maximum=1.0),
    ParameterInfo("clock_hz", "frequency", "float", "accelerator", "matrix-engine clock at the rated peak, Hz"),
    ParameterInfo("sram_bytes", "bytes", "float", "accelerator",
                  "on-chip SRAM (last-level cache plus per-unit shared memory/L1), bytes"),
    ParameterInfo("hbm_generation", "choice", "choice", "accelerator", "HBM standard", HBM_GENERATIONS),
    ParameterInfo("hbm_stacks", "count", "int", "accelerator", "number of HBM stacks on the package"),
    ParameterInfo("hbm_bw_per_stack_bytes_per_s", "bandwidth", "float", "accelerator",
                  "delivered peak bandwidth per HBM stack, bytes/s"),
    ParameterInfo("hbm_capacity_per_stack_bytes", "bytes", "float", "accelerator", "capacity per HBM stack, bytes"),
    ParameterInfo("process_node", "choice", "choice", "accelerator", "logic process node of the compute die", PROCESS_NODES),
    ParameterInfo("tdp_w", "power", "float", "accelerator", "thermal design power of the accelerator package, W"),
    ParameterInfo("scaleup_domain_size", "count", "int", "interconnect",
                  "accelerators in one scale-up (NVLink/ICI/Infinity Fabric) domain"),
    ParameterInfo("scaleup_bw_bytes_per_s", "bandwidth", "float", "interconnect",
                  "scale-up bandwidth per accelerator, per direction, bytes/s"),
    ParameterInfo("scaleup_latency_s", "time", "float", "interconnect", "scale-up per-hop message latency, s"),
    ParameterInfo("scaleup_topology", "choice", "choice", "interconnect", "scale-up fabric topology", SCALEUP_TOPOLOGIES),
    ParameterInfo("scaleout_bw_bytes_per_s", "bandwidth", "float", "interconnect",
                  "scale-out (NIC) bandwidth per accelerator, per direction, bytes/s"),
    ParameterInfo("scaleout_latency_s", "time", "float", "interconnect", "scale-out message latency, s"),
    ParameterInfo("scaleout_topology", "choice", "choice", "interconnect", "scale-out network topology", SCALEOUT_TOPOLOGIES),
    ParameterInfo("scaleout_oversubscription", "dimensionless", "float", "interconnect",
                  "fat-tree oversubscription ratio (1 = full bisection)"),
    ParameterInfo("accelerator_count", "count", "int", "system", "accelerators in the system"),
    # A part's measured physics (issue 10): per candidate, so a study can sweep them; a design
    # candidate keeps its base part's values unless the study varies them.
    ParameterInfo("fp8_matrix_efficiency_ratio", "dimensionless", "float", "physics",
                  "achieved FP8 GEMM efficiency over the BF16 one (MAMF FP8 / FP8 peak over matrix_efficiency; "
                  "1 = FP8 GEMMs at the BF16 efficiency); matrix_efficiency x this is at most 1", default=1.0),
    _optional_figure("nvfp4_matrix_rate_ratio", "dimensionless",
                     "achieved NVFP4 GEMM rate over matrix_efficiency x the FP8 peak (NVFP4 peak at the FP8 "
                     "efficiency; 0 = no NVFP4: an NVFP4 recipe cannot run)"),
    ParameterInfo("fp8_gemm_layouts", "choice", "choice", "physics",
                  "operand layouts of FP8 GEMMs: tn_only (per-tensor recipes write a transposed copy; uncached "
                  "FP8 weight transposes re-formed every backward) or any", FP8_GEMM_LAYOUTS, default="tn_only"),
    _optional_figure("softmax_exponentials_per_cycle_per_unit", "dimensionless",
                     "exponentials the special-function units issue per clock per compute unit (attention softmax; "
                     "0 = unknown: no softmax-rate factor)"),
    _optional_figure("host_link_bw_bytes_per_s", "bandwidth",
                     "accelerator <-> host memory copy rate per direction, bytes/s (activation offloading; "
                     "0 = no host link known: offloading infeasible)"),
    ParameterInfo("scaleout_achieved_share", "dimensionless", "float", "physics",
                  "share of the scale-out line rate (scaleout_bw_bytes_per_s) the part's system achieves: the "
                  "rate the performance model's scale-out collectives, sends and KV transfers run at; NICs, switch "
                  "ports and their cost, power and area stay at the line rate (1 = the line rate); in (0, 1]", default=1.0,
                  maximum=1.0),
    _optional_figure("die_reference_clock_hz", "frequency",
                     "clock of the reference bin of the same die (the node's nominal voltage point of its V/f curve): "
                     "a part run faster than it pays the voltage of the faster clock (model/power.py; 0 = the "
                     "design's own clock_hz is that point)"),
    _optional_figure("gemm_k_half_bf16", "dimensionless",
                     "pipeline-fill K-half of the part's two-byte GEMMs (0 = the model-wide gemm_k_half)"),
    _optional_figure("gemm_k_half_fp8", "dimensionless",
                     "pipeline-fill K-half of the part's one-byte GEMMs (0 = as two-byte GEMMs)"),
    _optional_figure("gemm_k_reference", "dimensionless",
                     "reduction length K of the part's measured max matmul, where its fill curve meets the "
                     "model-wide one (0 = no per-part fill)"),
    _optional_figure("gemm_tile_m", "dimensionless",
                     "rows of the output tile the part's GEMM kernels compute per tile (0 = the model-wide gemm_tile_m)"),
    _optional_figure("gemm_tile_n", "dimensionless",
                     "columns of the output tile the part's GEMM kernels compute per tile (0 = the model-wide "
                     "gemm_tile_n)"),
    ParameterInfo("gemm_tile_units", "dimensionless", "float", "physics",
                  "compute units that compute one output tile together (Blackwell's two-SM UMMA: 2); a GEMM's "
                  "waves run over floor(compute_units / this) unit groups (1 = one tile per unit)", default=1.0),
)

PARAMETER_BY_NAME: dict[str, ParameterInfo] = {p.name: p for p in HARDWARE_PARAMETERS}
#: What an error says is allowed where a key must name a hardware parameter (every name, in order).
ANY_HARDWARE_PARAMETER: str = "a hardware parameter: " + ", ".join(p.name for p in HARDWARE_PARAMETERS)
NUMERIC_PARAMETERS: tuple[str, ...] = tuple(p.name for p in HARDWARE_PARAMETERS if p.kind != "choice")
CHOICE_PARAMETERS: tuple[str, ...] = tuple(p.name for p in HARDWARE_PARAMETERS if p.kind == "choice")
#: The parameters every entry of ``data/hardware/catalog.yaml`` gives (all but the part physics).
CATALOG_PARAMETERS: tuple[ParameterInfo, ...] = tuple(p for p in HARDWARE_PARAMETERS if p.group != "physics")
PART_PHYSICS_PARAMETERS: tuple[ParameterInfo, ...] = tuple(p for p in HARDWARE_PARAMETERS if p.group == "physics")


def _default(name: str) -> Any:
    """The ``default`` of part-physics parameter ``name`` (:data:`HARDWARE_PARAMETERS`: the one table of the
    defaults, which :class:`AcceleratorDesign`, :class:`HardwareArrays` and :meth:`HardwareArrays.from_columns` read)."""
    return PARAMETER_BY_NAME[name].default


def _array_default(name: str) -> Callable[[], np.ndarray]:
    """A 0-d array of :func:`_default` (``name``), as a dataclass ``default_factory``."""
    return lambda: np.asarray(_default(name))


def _column(columns: Mapping[str, Any], info: ParameterInfo, shape: tuple[int, ...]) -> Any:
    """``columns[info.name]``; the neutral default (of ``shape``) of a part-physics column ``columns`` lacks."""
    try:
        return columns[info.name]
    except KeyError:
        if info.default is None:
            raise
        return np.full(shape, info.default)


@dataclass(frozen=True)
class AcceleratorDesign:
    """One complete hardware design point (scalars, SI). Field order = HARDWARE_PARAMETERS; the part
    physics default to the neutral values (a part without the figures)."""

    compute_units: int
    matrix_flops_per_cycle_per_unit_bf16: float
    matrix_flops_per_cycle_per_unit_fp8: float
    vector_flops_per_cycle_per_unit: float
    matrix_efficiency: float
    clock_hz: float
    sram_bytes: float
    hbm_generation: str
    hbm_stacks: int
    hbm_bw_per_stack_bytes_per_s: float
    hbm_capacity_per_stack_bytes: float
    process_node: str
    tdp_w: float
    scaleup_domain_size: int
    scaleup_bw_bytes_per_s: float
    scaleup_latency_s: float
    scaleup_topology: str
    scaleout_bw_bytes_per_s: float
    scaleout_latency_s: float
    scaleout_topology: str
    scaleout_oversubscription: float
    accelerator_count: int
    fp8_matrix_efficiency_ratio: float = _default("fp8_matrix_efficiency_ratio")
    nvfp4_matrix_rate_ratio: float = _default("nvfp4_matrix_rate_ratio")
    fp8_gemm_layouts: str = _default("fp8_gemm_layouts")
    softmax_exponentials_per_cycle_per_unit: float = _default("softmax_exponentials_per_cycle_per_unit")
    host_link_bw_bytes_per_s: float = _default("host_link_bw_bytes_per_s")
    scaleout_achieved_share: float = _default("scaleout_achieved_share")
    die_reference_clock_hz: float = _default("die_reference_clock_hz")
    gemm_k_half_bf16: float = _default("gemm_k_half_bf16")
    gemm_k_half_fp8: float = _default("gemm_k_half_fp8")
    gemm_k_reference: float = _default("gemm_k_reference")
    gemm_tile_m: float = _default("gemm_tile_m")
    gemm_tile_n: float = _default("gemm_tile_n")
    gemm_tile_units: float = _default("gemm_tile_units")

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def replace(self, **changes: Any) -> AcceleratorDesign:  # noqa: D401 - dataclasses.replace wrapper
        from dataclasses import replace as _replace
        return _replace(self, **changes)


@dataclass(frozen=True)
class HardwareArrays:
    """A batch of hardware candidates as a struct of arrays (broadcastable numpy arrays).

    Numeric fields are float64 arrays (ints as float64 too, so broadcasting and arithmetic
    never overflow); choice fields are arrays of ``str``. All fields share one broadcast
    shape: ``(n,)`` for a batch, ``()`` for a point, any shape for an xarray grid.
    """

    compute_units: np.ndarray
    matrix_flops_per_cycle_per_unit_bf16: np.ndarray
    matrix_flops_per_cycle_per_unit_fp8: np.ndarray
    vector_flops_per_cycle_per_unit: np.ndarray
    matrix_efficiency: np.ndarray
    clock_hz: np.ndarray
    sram_bytes: np.ndarray
    hbm_generation: np.ndarray
    hbm_stacks: np.ndarray
    hbm_bw_per_stack_bytes_per_s: np.ndarray
    hbm_capacity_per_stack_bytes: np.ndarray
    process_node: np.ndarray
    tdp_w: np.ndarray
    scaleup_domain_size: np.ndarray
    scaleup_bw_bytes_per_s: np.ndarray
    scaleup_latency_s: np.ndarray
    scaleup_topology: np.ndarray
    scaleout_bw_bytes_per_s: np.ndarray
    scaleout_latency_s: np.ndarray
    scaleout_topology: np.ndarray
    scaleout_oversubscription: np.ndarray
    accelerator_count: np.ndarray
    fp8_matrix_efficiency_ratio: np.ndarray = field(default_factory=_array_default("fp8_matrix_efficiency_ratio"))
    nvfp4_matrix_rate_ratio: np.ndarray = field(default_factory=_array_default("nvfp4_matrix_rate_ratio"))
    fp8_gemm_layouts: np.ndarray = field(default_factory=_array_default("fp8_gemm_layouts"))
    softmax_exponentials_per_cycle_per_unit: np.ndarray = field(default_factory=_array_default("softmax_exponentials_per_cycle_per_unit"))
    host_link_bw_bytes_per_s: np.ndarray = field(default_factory=_array_default("host_link_bw_bytes_per_s"))
    scaleout_achieved_share: np.ndarray = field(default_factory=_array_default("scaleout_achieved_share"))
    die_reference_clock_hz: np.ndarray = field(default_factory=_array_default("die_reference_clock_hz"))
    gemm_k_half_bf16: np.ndarray = field(default_factory=_array_default("gemm_k_half_bf16"))
    gemm_k_half_fp8: np.ndarray = field(default_factory=_array_default("gemm_k_half_fp8"))
    gemm_k_reference: np.ndarray = field(default_factory=_array_default("gemm_k_reference"))
    gemm_tile_m: np.ndarray = field(default_factory=_array_default("gemm_tile_m"))
    gemm_tile_n: np.ndarray = field(default_factory=_array_default("gemm_tile_n"))
    gemm_tile_units: np.ndarray = field(default_factory=_array_default("gemm_tile_units"))

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any]) -> HardwareArrays:
        """Build from a mapping of column name -> array-like (e.g. a pyarrow/pandas table); a part-physics
        column it lacks takes the parameter's neutral ``default``."""
        values = {}
        shape = np.shape(columns[HARDWARE_PARAMETERS[0].name])
        for p in HARDWARE_PARAMETERS:
            col = np.asarray(_column(columns, p, shape))
            values[p.name] = col.astype(str) if p.kind == "choice" else col.astype(np.float64)
        return cls(**values)

    @classmethod
    def from_designs(cls, designs: list[AcceleratorDesign] | AcceleratorDesign) -> HardwareArrays:
        """A batch from design points (a single design gives 0-d arrays)."""
        if isinstance(designs, AcceleratorDesign):
            return cls.from_columns({k: np.asarray(v) for k, v in designs.as_dict().items()})
        return cls.from_columns({p.name: [getattr(d, p.name) for d in designs] for p in HARDWARE_PARAMETERS})

    def columns(self) -> dict[str, np.ndarray]:
        return {p.name: getattr(self, p.name) for p in HARDWARE_PARAMETERS}

    def flat(self) -> HardwareArrays:
        """Every column broadcast to :attr:`shape` and flattened to 1-D (one entry per candidate)."""
        shape = self.shape
        return HardwareArrays(**{k: np.broadcast_to(v, shape).reshape(-1) for k, v in self.columns().items()})

    def rows(self, index: Any, *, trailing: bool = False) -> HardwareArrays:
        """The candidates ``index`` (slice, integer or boolean array) of every column; with
        ``trailing`` each column gets a trailing axis of length 1, to broadcast against (1, m) mappings."""
        out, shape = {}, self.shape
        for k, v in self.columns().items():
            sel = np.broadcast_to(np.asarray(v), shape)[index]
            out[k] = sel[:, None] if trailing else sel
        return HardwareArrays(**out)

    @property
    def shape(self) -> tuple[int, ...]:
        return np.broadcast_shapes(*(np.shape(v) for v in self.columns().values()))

    # Derived quantities used by several model modules (SI).
    @property
    def peak_matrix_flops_bf16(self) -> np.ndarray:
        """Dense BF16 matrix peak, FLOP/s."""
        return self.compute_units * self.matrix_flops_per_cycle_per_unit_bf16 * self.clock_hz

    @property
    def peak_matrix_flops_fp8(self) -> np.ndarray:
        """Dense FP8 matrix peak, FLOP/s (BF16 peak where FP8 is unsupported)."""
        fp8 = self.compute_units * self.matrix_flops_per_cycle_per_unit_fp8 * self.clock_hz
        return np.where(fp8 > 0, fp8, self.peak_matrix_flops_bf16)

    @property
    def peak_vector_flops(self) -> np.ndarray:
        """FP32 vector peak, FLOP/s."""
        return self.compute_units * self.vector_flops_per_cycle_per_unit * self.clock_hz

    @property
    def hbm_bw_bytes_per_s(self) -> np.ndarray:
        return self.hbm_stacks * self.hbm_bw_per_stack_bytes_per_s

    @property
    def hbm_capacity_bytes(self) -> np.ndarray:
        return self.hbm_stacks * self.hbm_capacity_per_stack_bytes
