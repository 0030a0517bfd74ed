"""The inverse-gamma distribution (torch's family with Pyro's methods, at Pyro's path)."""
from .torch import InverseGamma

__all__ = ["InverseGamma"]
