"""pyro-optim's plugin: registers its optimizer factories as ``pyro.optim.NAME``
(through the ``pyro`` entry point, exactly as a third-party plugin would)."""
from typing import Any

from pyro.plugins import hookimpl


@hookimpl
def pyro_register_optimizers(registry: Any) -> None:
    """Register PyroOptim, PyroLRScheduler, ClippedAdam, the multi-optimizers and one
    wrapper per torch optimizer and scheduler."""
    import pyro.optim as optim

    for name in optim.__all__:
        obj = getattr(optim, name)
        if callable(obj):
            registry.add(name, obj)
