"""The ELBO terms of a sample site (defined in core, re-exported at Pyro's path)."""
from pyro.primitive_distributions.torch_distribution import ScoreParts

__all__ = ["ScoreParts"]
