"""The point mass :class:`Delta` (defined in core, re-exported here at Pyro's path)."""
from pyro.primitive_distributions.delta import Delta

__all__ = ["Delta"]
