"""The unit distribution :class:`Unit` (defined in core, re-exported here at Pyro's path)."""
from pyro.primitive_distributions.unit import Unit

__all__ = ["Unit"]
