"""Pyro's base classes for distributions (defined in core, re-exported here at Pyro's path)."""
from pyro.primitive_distributions import torch_distribution as _core
from pyro.primitive_distributions.torch_distribution import *  # noqa: F403

__all__: list[str] = []
__all__ += _core.__all__  # the names core's module lists (ExpandedDistribution, ...)
