"""pyro-optim's plugin: registers its optimizer factories as ``pyro.optim.NAME``
(through the ``pyro`` entry point, exactly as a third-party plugin would).

Only factories are registered: the Pyro optimizers and schedulers, the multi-optimizers
and one wrapper per ``torch.optim`` optimizer and scheduler. Helpers (``is_groupable``,
``optimizer_wrapper``, ``OptimStateError``, the abstract ``MultiOptimizer``) and the
wrappers of torch's abstract scheduler bases (``LRScheduler``, ``_LRScheduler``: Pyro 1.9
has them, but they schedule nothing) are ordinary attributes of :mod:`pyro.optim`.
"""
from __future__ import annotations

from pyro.plugins import Registry, hookimpl

#: Pyro's own optimizer factories.
PYRO_OPTIMIZERS = (
    "AdagradRMSProp", "ClippedAdam", "DCTAdam", "DistributedOptim", "HorovodOptimizer",
    "MixedMultiOptimizer", "Newton", "PyroLRScheduler", "PyroMultiOptimizer", "PyroOptim",
    "TorchMultiOptimizer",
)

#: wrappers of torch's abstract scheduler base classes, not registered
ABSTRACT_SCHEDULERS = ("LRScheduler", "_LRScheduler")


@hookimpl
def pyro_register_optimizers(registry: Registry) -> None:
    import pyro.optim as optim
    from pyro.optim import pytorch_optimizers

    registry.add_from(optim, PYRO_OPTIMIZERS)
    # pytorch_optimizers.__all__ is the list of wrappers made from this torch's own
    # optimizer and scheduler lists, which differ between torch versions.
    registry.add_from(pytorch_optimizers, pytorch_optimizers.__all__, skip=ABSTRACT_SCHEDULERS)
