"""The performance / power / area / cost model: pure functions over arrays.

Hardware (:class:`archsweep.hardware.HardwareArrays`), workload
(:class:`archsweep.workload.Workload`) and mapping (:class:`archsweep.model.mapping.MappingArrays`)
are separate inputs. Private modules hold one physical effect each and are tested directly.
"""
