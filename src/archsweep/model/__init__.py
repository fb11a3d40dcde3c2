"""The performance / power / area / cost model: pure functions over arrays.

Hardware (:class:`archsweep.spec.hardware.HardwareArrays`), workload
(:class:`archsweep.spec.workload.Workload`) and mapping (:class:`archsweep.model.training.mapping.MappingArrays`)
are separate inputs. Private modules hold one physical effect each and are tested directly.
"""
