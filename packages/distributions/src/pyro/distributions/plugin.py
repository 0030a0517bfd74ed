"""pyro-distributions' plugin: registers every distribution class of the package.

Loaded through the ``pyro`` entry-point group like any third-party plugin; the names it
registers are also ordinary attributes of :mod:`pyro.distributions`.
"""
from __future__ import annotations

import inspect

import torch

from pyro.plugins import hookimpl


@hookimpl
def pyro_register_distributions(registry) -> None:
    import pyro.distributions as dist

    for name in dist.__all__:
        obj = getattr(dist, name)
        if inspect.isclass(obj) and issubclass(obj, torch.distributions.Distribution):
            registry.add(name, obj)
